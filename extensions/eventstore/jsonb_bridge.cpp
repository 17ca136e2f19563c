// eventstore: jsonb <-> JValue (see jsonb_bridge.hpp).
#include "jsonb_bridge.hpp"

#include <algorithm>
#include <vector>

#include "errcodes.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
}

namespace casebook::eventstore {
namespace {

// A flat, trivially destructible token: what crosses the guarded region.
struct Token {
    JsonbIteratorToken kind;  // WJB_BEGIN_ARRAY ... WJB_END_OBJECT, WJB_KEY, WJB_VALUE, WJB_ELEM
    enum jbvType type;
    const char* str;  // string or key bytes (not terminated), or numeric text (terminated)
    int len;
    bool boolean;
    bool fixed;        // numeric decoded to mantissa * 10^-scale (str unused)
    int64_t mantissa;
    int scale;
};

// Decodes PostgreSQL's numeric storage format (stable on disk since 9.1:
// pg_upgrade keeps it) into 64-bit fixed point, without calling
// numeric_out. A header word: short form 1SDDDDDD DWWWWWWW-ish (sign 0x2000,
// display scale 0x1F80 >> 7, weight 0x003F with sign 0x0040); long form
// sign 0xC000 + display scale 0x3FFF, then an int16 weight. Then base-10000
// digits. False for NaN/infinity and values beyond 18 digits.
bool decode_numeric(Numeric num, int64_t* mantissa, int* scale) {
    const char* p = VARDATA_ANY(num);
    std::size_t len = VARSIZE_ANY_EXHDR(num);
    if (len < 2) return false;
    uint16_t header;
    memcpy(&header, p, 2);
    bool negative;
    int weight, dscale;
    const char* digits;
    std::size_t ndigits;
    if ((header & 0x8000) != 0) {
        if ((header & 0xC000) == 0xC000) return false;  // NaN, +/-Infinity
        negative = (header & 0x2000) != 0;
        dscale = (header & 0x1F80) >> 7;
        weight = (header & 0x0040) ? static_cast<int>(static_cast<int16_t>(~0x003F | (header & 0x003F)))
                                   : (header & 0x003F);
        digits = p + 2;
        ndigits = (len - 2) / 2;
    } else {
        if (len < 4) return false;
        if ((header & 0xC000) != 0x0000 && (header & 0xC000) != 0x4000) return false;
        negative = (header & 0xC000) == 0x4000;
        dscale = header & 0x3FFF;
        int16_t w;
        memcpy(&w, p + 2, 2);
        weight = w;
        digits = p + 4;
        ndigits = (len - 4) / 2;
    }
    if (dscale > 18) return false;
    int exp10_groups = ndigits == 0 ? 0 : 4 * (static_cast<int>(ndigits) - 1 - weight);
    if (ndigits <= 4) {
        // Up to 16 digits: 64-bit arithmetic, no 128-bit division.
        static constexpr uint64_t kPow10[19] = {1ULL,
                                                10ULL,
                                                100ULL,
                                                1000ULL,
                                                10000ULL,
                                                100000ULL,
                                                1000000ULL,
                                                10000000ULL,
                                                100000000ULL,
                                                1000000000ULL,
                                                10000000000ULL,
                                                100000000000ULL,
                                                1000000000000ULL,
                                                10000000000000ULL,
                                                100000000000000ULL,
                                                1000000000000000ULL,
                                                10000000000000000ULL,
                                                100000000000000000ULL,
                                                1000000000000000000ULL};
        constexpr uint64_t kLimit = 1000000000000000000ULL;  // 18 digits at most
        uint64_t t = 0;
        for (std::size_t i = 0; i < ndigits; ++i) {
            int16_t d;
            memcpy(&d, digits + 2 * i, 2);
            if (d < 0 || d > 9999) return false;
            t = t * 10000 + static_cast<uint64_t>(d);
        }
        int shift = dscale - exp10_groups;  // mantissa = t * 10^shift
        if (shift > 0) {
            if (shift > 18 || t > (kLimit - 1) / kPow10[shift]) return false;
            t *= kPow10[shift];
        } else if (shift < 0) {
            // (t < 10^16, so a divisor above 10^18 leaves a remainder unless t = 0)
            uint64_t p10 = -shift > 18 ? 0 : kPow10[-shift];
            if (p10 == 0) {
                if (t != 0) return false;
                p10 = 1;
            }
            if (t % p10 != 0) return false;  // digits beyond the display scale: not ours to drop
            t /= p10;
        }
        if (t >= kLimit) return false;
        *mantissa = negative ? -static_cast<int64_t>(t) : static_cast<int64_t>(t);
        *scale = dscale;
        return true;
    }
    // total = the digit groups read as one integer = value * 10^(4 * (ndigits - 1 - weight))
    __int128 total = 0;
    for (std::size_t i = 0; i < ndigits; ++i) {
        int16_t d;
        memcpy(&d, digits + 2 * i, 2);
        if (d < 0 || d > 9999) return false;
        total = total * 10000 + d;
        if (total > static_cast<__int128>(1000000000000000000LL) * 10000) return false;
    }
    int shift = dscale - exp10_groups;  // mantissa = total * 10^shift
    for (; shift > 0; --shift) {
        total *= 10;
        if (total >= 1000000000000000000LL) return false;
    }
    for (; shift < 0; ++shift) {
        if (total % 10 != 0) return false;  // digits beyond the display scale: not ours to drop
        total /= 10;
    }
    if (total >= 1000000000000000000LL) return false;  // 18 digits at most, as fixed_point()
    *mantissa = negative ? -static_cast<int64_t>(total) : static_cast<int64_t>(total);
    *scale = dscale;
    return true;
}

void numeric_token(Numeric num, Token* t) {
    t->fixed = decode_numeric(num, &t->mantissa, &t->scale);
    if (!t->fixed) {
        t->str = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
        t->len = static_cast<int>(strlen(t->str));
    }
}

struct TokenBuffer {
    Token* tokens;
    int count;
    bool raw_scalar;  // a scalar root (stored as a one-element array)
};

// Walks the jsonb into palloc'd tokens. Plain C inside: called under guard.
TokenBuffer tokenize(Jsonb* jb) {
    int cap = 64;
    int n = 0;
    Token* toks = static_cast<Token*>(palloc(sizeof(Token) * cap));
    JsonbIterator* it = JsonbIteratorInit(&jb->root);
    JsonbValue v;
    JsonbIteratorToken r;
    while ((r = JsonbIteratorNext(&it, &v, false)) != WJB_DONE) {
        if (n == cap) {
            cap *= 2;
            toks = static_cast<Token*>(repalloc(toks, sizeof(Token) * cap));
        }
        Token& t = toks[n++];
        t.kind = r;
        t.type = v.type;
        t.str = nullptr;
        t.len = 0;
        t.boolean = false;
        t.fixed = false;
        if (r == WJB_KEY || r == WJB_VALUE || r == WJB_ELEM) {
            switch (v.type) {
                case jbvString:
                    t.str = v.val.string.val;
                    t.len = v.val.string.len;
                    break;
                case jbvNumeric:
                    numeric_token(v.val.numeric, &t);
                    break;
                case jbvBool:
                    t.boolean = v.val.boolean;
                    break;
                default:
                    break;
            }
        }
    }
    return TokenBuffer{toks, n, JB_ROOT_IS_SCALAR(jb) != 0};
}

JValue scalar(const Token& t) {
    switch (t.type) {
        case jbvString:
            return JValue::string(std::string(t.str, static_cast<std::size_t>(t.len)));
        case jbvNumeric:
            if (t.fixed) return JValue::fixed(t.mantissa, t.scale);
            return JValue::number(std::string_view(t.str, static_cast<std::size_t>(t.len)));
        case jbvBool:
            return JValue::boolean(t.boolean);
        default:
            return JValue();
    }
}

// Input for building: flat instructions over a live JValue tree.
struct Build {
    JsonbIteratorToken kind;
    enum jbvType type;
    const char* str;
    int len;
    bool boolean;
};

void flatten(const JValue& v, std::vector<Build>& out, JsonbIteratorToken as) {
    // Recursion as deep as the value: checked as PostgreSQL checks its own
    // (max_stack_depth), by a C++ exception instead of a longjmp.
    if (stack_is_too_deep())
        throw Error(errcodes::statement_too_complex, "eventstore: a JSON value is nested too deeply",
                    "", "Increase max_stack_depth, or store less deeply nested data.");
    switch (v.kind()) {
        case JValue::Kind::object:
            out.push_back({WJB_BEGIN_OBJECT, jbvObject, nullptr, 0, false});
            for (const auto& m : v.members()) {
                out.push_back({WJB_KEY, jbvString, m.first.data(), static_cast<int>(m.first.size()), false});
                flatten(m.second, out, WJB_VALUE);
            }
            out.push_back({WJB_END_OBJECT, jbvObject, nullptr, 0, false});
            break;
        case JValue::Kind::array:
            out.push_back({WJB_BEGIN_ARRAY, jbvArray, nullptr, 0, false});
            for (const auto& item : v.items()) flatten(item, out, WJB_ELEM);
            out.push_back({WJB_END_ARRAY, jbvArray, nullptr, 0, false});
            break;
        case JValue::Kind::string:
            out.push_back({as, jbvString, v.text().data(), static_cast<int>(v.text().size()), false});
            break;
        case JValue::Kind::number:
            out.push_back({as, jbvNumeric, v.text().c_str(), static_cast<int>(v.text().size()), false});
            break;
        case JValue::Kind::boolean:
            out.push_back({as, jbvBool, nullptr, 0, v.as_bool()});
            break;
        case JValue::Kind::null:
            out.push_back({as, jbvNull, nullptr, 0, false});
            break;
    }
}

Datum build(const Build* items, int n, bool scalar_root) {
    JsonbParseState* state = nullptr;
    JsonbValue* result = nullptr;
    if (scalar_root) pushJsonbValue(&state, WJB_BEGIN_ARRAY, nullptr);  // raw scalar wrapper
    for (int i = 0; i < n; ++i) {
        const Build& b = items[i];
        if (b.kind == WJB_BEGIN_OBJECT || b.kind == WJB_BEGIN_ARRAY || b.kind == WJB_END_OBJECT ||
            b.kind == WJB_END_ARRAY) {
            result = pushJsonbValue(&state, b.kind, nullptr);
            continue;
        }
        JsonbValue v;
        v.type = b.type;
        switch (b.type) {
            case jbvString:
                v.val.string.val = const_cast<char*>(b.str);
                v.val.string.len = b.len;
                break;
            case jbvNumeric:
                v.val.numeric = DatumGetNumeric(DirectFunctionCall3(
                    numeric_in, CStringGetDatum(b.str), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
                break;
            case jbvBool:
                v.val.boolean = b.boolean;
                break;
            default:
                break;
        }
        result = pushJsonbValue(&state, b.kind, &v);
    }
    if (scalar_root) {
        result = pushJsonbValue(&state, WJB_END_ARRAY, nullptr);
        result->val.array.rawScalar = true;
    }
    return PointerGetDatum(JsonbValueToJsonb(result));
}

// Path lookups, plain C under one guard: each leaf as a token, or a
// nested container as a jsonb of its own.
struct Leaf {
    bool found;
    bool container;
    Token token;
    Datum nested;  // jsonb, when container
};

struct Lookup {
    const std::string* keys;  // the path's keys (read, never changed, under the guard)
    int depth;
};

// A jsonb with a one-byte header (most event data stored inline) must be
// re-headed before it can be read; PostgreSQL would palloc a copy per call.
// The copy goes to one buffer reused by every call instead: the leaves
// point into it only until the caller has converted them.
Jsonb* readable_jsonb(Datum datum) {
    auto* attr = reinterpret_cast<struct varlena*>(DatumGetPointer(datum));
    if (!VARATT_IS_SHORT(attr)) return DatumGetJsonbP(datum);
    static char* buffer = nullptr;
    static Size capacity = 0;
    Size data_size = VARSIZE_SHORT(attr) - VARHDRSZ_SHORT;
    Size need = data_size + VARHDRSZ;
    if (need > capacity) {
        Size grown = Max(need, Max(capacity * 2, static_cast<Size>(1024)));
        char* fresh = static_cast<char*>(MemoryContextAlloc(TopMemoryContext, grown));
        if (buffer != nullptr) pfree(buffer);
        buffer = fresh;
        capacity = grown;
    }
    SET_VARSIZE(buffer, need);
    memcpy(VARDATA(buffer), VARDATA_SHORT(attr), data_size);
    return reinterpret_cast<Jsonb*>(buffer);
}

void lookup_all(Datum datum, const Lookup* lookups, Leaf* leaves, int n) {
    Jsonb* jb = readable_jsonb(datum);
    for (int l = 0; l < n; ++l) {
        Leaf& out = leaves[l];
        out = Leaf{};
        JsonbContainer* cur = &jb->root;
        JsonbValue v;
        bool ok = true;
        for (int i = 0; i < lookups[l].depth && ok; ++i) {
            if (!JsonContainerIsObject(cur) ||
                getKeyJsonValueFromContainer(cur, lookups[l].keys[i].data(), static_cast<int>(lookups[l].keys[i].size()),
                                             &v) == nullptr) {
                ok = false;
            } else if (i + 1 < lookups[l].depth) {
                if (v.type != jbvBinary) ok = false;
                else cur = v.val.binary.data;
            }
        }
        if (!ok) continue;
        out.found = true;
        if (v.type == jbvBinary) {
            out.container = true;
            out.nested = PointerGetDatum(JsonbValueToJsonb(&v));
            continue;
        }
        out.token.kind = WJB_VALUE;
        out.token.type = v.type;
        switch (v.type) {
            case jbvString:
                out.token.str = v.val.string.val;
                out.token.len = v.val.string.len;
                break;
            case jbvNumeric:
                numeric_token(v.val.numeric, &out.token);
                break;
            case jbvBool:
                out.token.boolean = v.val.boolean;
                break;
            default:
                break;
        }
    }
}

}  // namespace

void extract_paths(Datum datum, const std::vector<Path>& paths, std::vector<std::optional<JValue>>& out) {
    constexpr std::size_t kMax = 32;
    out.resize(paths.size());
    if (paths.size() > kMax || paths.empty()) {
        if (paths.empty()) return;
        JValue all = to_jvalue(datum);  // many paths: read it all once
        for (std::size_t i = 0; i < paths.size(); ++i) {
            const JValue* v = get_path(all, paths[i]);
            out[i] = v ? std::optional<JValue>(*v) : std::nullopt;
        }
        return;
    }
    Lookup lookups[kMax];
    Leaf leaves[kMax];
    int n = static_cast<int>(paths.size());
    for (int p = 0; p < n; ++p) {
        Lookup& l = lookups[p];
        l.keys = paths[p].data();
        l.depth = static_cast<int>(paths[p].size());
    }
    const Lookup* lp = lookups;
    Leaf* leafp = leaves;
    pg::guard([&] { lookup_all(datum, lp, leafp, n); });
    for (int p = 0; p < n; ++p) {
        const Leaf& leaf = leaves[p];
        if (!leaf.found) {
            out[p].reset();
        } else {
            out[p] = leaf.container ? to_jvalue(leaf.nested) : scalar(leaf.token);
        }
    }
}

JValue to_jvalue(Datum datum) {
    TokenBuffer buf = pg::guard([&] { return tokenize(DatumGetJsonbP(datum)); });
    // Rebuild the tree from the tokens; a stack of open containers.
    std::vector<JValue> stack;
    std::vector<std::string> keys;
    JValue root;
    bool have_root = false;
    auto emit = [&](JValue v, JsonbIteratorToken kind) {
        if (stack.empty()) {
            root = std::move(v);
            have_root = true;
        } else if (kind == WJB_VALUE) {
            stack.back().put(std::move(keys.back()), std::move(v));
            keys.pop_back();
        } else {
            stack.back().items().push_back(std::move(v));
        }
    };
    std::vector<JsonbIteratorToken> opened_as;
    JsonbIteratorToken pending = WJB_ELEM;
    bool raw_scalar = false;
    for (int i = 0; i < buf.count; ++i) {
        const Token& t = buf.tokens[i];
        switch (t.kind) {
            case WJB_BEGIN_OBJECT:
                opened_as.push_back(pending);
                stack.push_back(JValue::object());
                break;
            case WJB_BEGIN_ARRAY:
                opened_as.push_back(pending);
                stack.push_back(JValue::array());
                // A raw scalar is stored as a one-element array flagged raw;
                // the iterator reports it as an array: detect below.
                break;
            case WJB_END_OBJECT:
            case WJB_END_ARRAY: {
                JValue done = std::move(stack.back());
                stack.pop_back();
                JsonbIteratorToken as = opened_as.back();
                opened_as.pop_back();
                emit(std::move(done), as);
                break;
            }
            case WJB_KEY:
                keys.emplace_back(t.str, static_cast<std::size_t>(t.len));
                pending = WJB_VALUE;
                continue;
            case WJB_VALUE:
            case WJB_ELEM:
                emit(scalar(t), t.kind);
                break;
            default:
                break;
        }
        pending = stack.empty() || stack.back().kind() == JValue::Kind::array ? WJB_ELEM : WJB_VALUE;
    }
    raw_scalar = buf.raw_scalar;
    if (raw_scalar && root.kind() == JValue::Kind::array && root.items().size() == 1) {
        JValue inner = root.items()[0];
        root = std::move(inner);
    }
    if (!have_root) throw Error(errcodes::internal_error, "eventstore: empty jsonb");
    return root;
}

Datum to_jsonb(const JValue& value) {
    std::vector<Build> items;
    bool scalar_root = value.kind() != JValue::Kind::object && value.kind() != JValue::Kind::array;
    flatten(value, items, WJB_ELEM);
    const Build* p = items.data();
    int n = static_cast<int>(items.size());
    return pg::guard([&] { return build(p, n, scalar_root); });
}

}  // namespace casebook::eventstore
