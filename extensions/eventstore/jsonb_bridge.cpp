// eventstore: jsonb <-> JValue (see jsonb_bridge.hpp).
#include "jsonb_bridge.hpp"

#include <vector>

#include "errcodes.hpp"

extern "C" {
#include "utils/jsonb.h"
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
};

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
        if (r == WJB_KEY || r == WJB_VALUE || r == WJB_ELEM) {
            switch (v.type) {
                case jbvString:
                    t.str = v.val.string.val;
                    t.len = v.val.string.len;
                    break;
                case jbvNumeric:
                    t.str = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
                    t.len = static_cast<int>(strlen(t.str));
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

}  // namespace

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
