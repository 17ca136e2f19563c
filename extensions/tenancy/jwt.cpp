// tenancy: HS256 JSON Web Tokens (see jwt.hpp).
#include "jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

namespace casebook::tenancy::jwt {
namespace {

constexpr std::size_t kMacBytes = 32;
constexpr double kMaxSafeSeconds = 9007199254740992.0;  // 2^53
constexpr std::size_t kShownChars = 64;                 // of an untrusted string in a detail

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// Length (1-4) of the well-formed UTF-8 sequence starting at s[i], or 0: no
// overlong forms, no encoded surrogates, nothing above U+10FFFF.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    auto at = [&](std::size_t k) -> unsigned { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
    auto cont = [&](std::size_t k, unsigned lo, unsigned hi) { unsigned c = at(k); return c >= lo && c <= hi; };
    unsigned c = at(0);
    if (i >= s.size()) return 0;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return cont(1, 0x80, 0xBF) ? 2 : 0;
    if (c == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
    if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2, 0x80, 0xBF) ? 3 : 0;
    if (c == 0xF0) return cont(1, 0x90, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
    if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
    return 0;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// An untrusted string for a detail message: quoted, control characters and
// invalid bytes as \xNN, cut after kShownChars characters.
std::string shown(std::string_view s) {
    std::string out = "\"";
    std::size_t i = 0;
    for (std::size_t chars = 0; i < s.size() && chars < kShownChars; ++chars) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        std::size_t n = utf8_sequence(s, i);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (n == 0 || c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    if (i < s.size()) out += "...";
    out += '"';
    return out;
}

// ---------------------------------------------------------------------------
// A strict RFC 8259 JSON reader producing a small tree.

struct Member;

struct Value {
    enum class Kind { null, boolean, number, string, array, object };
    Kind kind = Kind::null;
    bool boolean = false;
    double number = 0;
    bool number_finite = true;  // false when the literal does not fit a double
    std::string_view literal;   // a number's text, in the reader's input
    std::string text;
    std::vector<Value> items;
    std::vector<Member> members;

    const Value* find(std::string_view name) const;
};

struct Member {
    std::string name;
    Value value;
};

const Value* Value::find(std::string_view name) const {
    if (kind != Kind::object) return nullptr;
    for (const Member& m : members)
        if (m.name == name) return &m.value;
    return nullptr;
}

const char* kind_name(Value::Kind k) {
    switch (k) {
        case Value::Kind::null: return "null";
        case Value::Kind::boolean: return "boolean";
        case Value::Kind::number: return "number";
        case Value::Kind::string: return "string";
        case Value::Kind::array: return "array";
        case Value::Kind::object: return "object";
    }
    return "value";
}

class JsonReader {
public:
    explicit JsonReader(std::string_view in) : in_(in) {}

    // The whole input as one JSON value (surrounding whitespace allowed).
    bool read_document(Value& out) {
        skip_whitespace();
        if (!read_value(out, 1)) return false;
        skip_whitespace();
        if (pos_ != in_.size()) return fail("unexpected data after the JSON value");
        return true;
    }

    // "<what> at byte <n>" for the first error.
    std::string error() const { return error_ + " at byte " + std::to_string(error_pos_); }

private:
    bool fail(std::string why) {
        if (error_.empty()) {
            error_ = std::move(why);
            error_pos_ = pos_;
        }
        return false;
    }

    bool at_end() const { return pos_ >= in_.size(); }
    char peek() const { return in_[pos_]; }

    void skip_whitespace() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
    }

    // depth: how many containers enclose this value, counting itself if it is one.
    bool read_value(Value& out, int depth) {
        if (at_end()) return fail("unexpected end of the JSON text");
        switch (peek()) {
            case '{': return read_object(out, depth);
            case '[': return read_array(out, depth);
            case '"': out.kind = Value::Kind::string; return read_string(out.text);
            case 't': return read_literal("true", out, Value::Kind::boolean, true);
            case 'f': return read_literal("false", out, Value::Kind::boolean, false);
            case 'n': return read_literal("null", out, Value::Kind::null, false);
            default:
                if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return read_number(out);
                return fail("unexpected character");
        }
    }

    bool read_literal(std::string_view word, Value& out, Value::Kind kind, bool value) {
        if (in_.substr(pos_, word.size()) != word) return fail("invalid literal");
        pos_ += word.size();
        out.kind = kind;
        out.boolean = value;
        return true;
    }

    bool read_digits() {
        std::size_t start = pos_;
        while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
        return pos_ > start;
    }

    bool read_number(Value& out) {
        std::size_t start = pos_;
        if (peek() == '-') ++pos_;
        if (at_end()) return fail("invalid number");
        if (peek() == '0') {
            ++pos_;
        } else if (!read_digits()) {
            return fail("invalid number");
        }
        if (!at_end() && peek() == '.') {
            ++pos_;
            if (!read_digits()) return fail("invalid number: no digits after the decimal point");
        }
        if (!at_end() && (peek() == 'e' || peek() == 'E')) {
            ++pos_;
            if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
            if (!read_digits()) return fail("invalid number: no digits in the exponent");
        }
        out.kind = Value::Kind::number;
        out.literal = in_.substr(start, pos_ - start);
        auto [end, ec] = std::from_chars(in_.data() + start, in_.data() + pos_, out.number);
        if (ec == std::errc::result_out_of_range) {
            out.number = 0;
            out.number_finite = false;
        } else if (ec != std::errc() || end != in_.data() + pos_) {
            return fail("invalid number");
        }
        return true;
    }

    bool read_hex4(uint32_t& out) {
        if (in_.size() - pos_ < 4) return fail("truncated \\u escape");
        out = 0;
        for (int k = 0; k < 4; ++k) {
            char c = in_[pos_ + k];
            uint32_t v;
            if (c >= '0' && c <= '9') v = c - '0';
            else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
            else return fail("invalid \\u escape");
            out = out << 4 | v;
        }
        pos_ += 4;
        return true;
    }

    bool read_string(std::string& out) {
        ++pos_;  // opening quote
        for (;;) {
            if (at_end()) return fail("unterminated string");
            unsigned char c = static_cast<unsigned char>(peek());
            if (c == '"') {
                ++pos_;
                return true;
            }
            if (c < 0x20) return fail("unescaped control character in a string");
            if (c != '\\') {
                std::size_t n = utf8_sequence(in_, pos_);
                if (n == 0) return fail("invalid UTF-8 in a string");
                out.append(in_.substr(pos_, n));
                pos_ += n;
                continue;
            }
            ++pos_;
            if (at_end()) return fail("unterminated escape");
            char e = peek();
            ++pos_;
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp;
                    if (!read_hex4(cp)) return false;
                    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("unpaired low surrogate in a \\u escape");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (in_.substr(pos_, 2) != "\\u") return fail("unpaired high surrogate in a \\u escape");
                        pos_ += 2;
                        uint32_t low;
                        if (!read_hex4(low)) return false;
                        if (low < 0xDC00 || low > 0xDFFF) return fail("unpaired high surrogate in a \\u escape");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    --pos_;
                    return fail("invalid escape");
            }
        }
    }

    bool enter(int depth) {
        if (depth > max_json_depth) return fail("nesting deeper than " + std::to_string(max_json_depth) + " levels");
        ++pos_;  // '{' or '['
        skip_whitespace();
        return true;
    }

    bool read_array(Value& out, int depth) {
        out.kind = Value::Kind::array;
        if (!enter(depth)) return false;
        if (!at_end() && peek() == ']') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_whitespace();
            out.items.emplace_back();
            if (!read_value(out.items.back(), depth + 1)) return false;
            skip_whitespace();
            if (at_end()) return fail("unterminated array");
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == ']') {
                ++pos_;
                return true;
            }
            return fail("expected ',' or ']' in an array");
        }
    }

    bool read_object(Value& out, int depth) {
        out.kind = Value::Kind::object;
        if (!enter(depth)) return false;
        if (!at_end() && peek() == '}') {
            ++pos_;
            return true;
        }
        for (;;) {
            skip_whitespace();
            if (at_end() || peek() != '"') return fail("expected a member name");
            out.members.emplace_back();
            Member& m = out.members.back();
            if (!read_string(m.name)) return false;
            skip_whitespace();
            if (at_end() || peek() != ':') return fail("expected ':' after a member name");
            ++pos_;
            skip_whitespace();
            if (!read_value(m.value, depth + 1)) return false;
            skip_whitespace();
            if (at_end()) return fail("unterminated object");
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == '}') {
                ++pos_;
                break;
            }
            return fail("expected ',' or '}' in an object");
        }
        // Duplicate names (compared after unescaping) make the meaning of the
        // object depend on the reader: refuse them.
        std::vector<std::string_view> names;
        names.reserve(out.members.size());
        for (const Member& m : out.members) names.push_back(m.name);
        std::sort(names.begin(), names.end());
        auto dup = std::adjacent_find(names.begin(), names.end());
        if (dup != names.end()) return fail("duplicate member name " + shown(*dup));
        return true;
    }

    std::string_view in_;
    std::size_t pos_ = 0;
    std::string error_;
    std::size_t error_pos_ = 0;
};

// ---------------------------------------------------------------------------

Result failed(Failure f, std::string detail) {
    Result r;
    r.failure = f;
    r.detail = std::move(detail);
    return r;
}

int64_t saturating_add(int64_t a, int64_t b) {
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

// The sign of |x| - 2^53, exactly, for a valid JSON number literal x (a
// double cannot tell 2^53 + 1 from 2^53).
int compare_magnitude_with_2_53(std::string_view literal) {
    static constexpr std::string_view two_53 = "9007199254740992";
    std::size_t i = literal.empty() || literal[0] != '-' ? 0 : 1;
    std::string digits;
    while (i < literal.size() && literal[i] >= '0' && literal[i] <= '9') digits += literal[i++];
    int64_t point = static_cast<int64_t>(digits.size());  // digits before the decimal point
    if (i < literal.size() && literal[i] == '.')
        for (++i; i < literal.size() && literal[i] >= '0' && literal[i] <= '9'; ++i) digits += literal[i];
    int64_t exponent = 0;
    if (i < literal.size() && (literal[i] == 'e' || literal[i] == 'E')) {
        ++i;
        bool negative = i < literal.size() && literal[i] == '-';
        if (i < literal.size() && (literal[i] == '-' || literal[i] == '+')) ++i;
        for (; i < literal.size(); ++i) exponent = std::min<int64_t>(exponent * 10 + (literal[i] - '0'), 1000000000);
        if (negative) exponent = -exponent;
    }
    std::size_t first = digits.find_first_not_of('0');
    if (first == std::string::npos) return -1;  // zero
    std::size_t last = digits.find_last_not_of('0');
    std::string_view significant = std::string_view(digits).substr(first, last - first + 1);
    // |x| = 0.<significant> * 10^magnitude, like 2^53 = 0.9007199254740992 * 10^16.
    int64_t magnitude = point - static_cast<int64_t>(first) + exponent;
    const auto two_53_magnitude = static_cast<int64_t>(two_53.size());
    if (magnitude != two_53_magnitude) return magnitude < two_53_magnitude ? -1 : 1;
    int c = significant.compare(two_53);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

// A NumericDate within +-2^53 seconds, rounded by round (floor or ceil).
std::optional<int64_t> seconds_of(const Value& v, double (*round)(double)) {
    if (!v.number_finite || !(std::fabs(v.number) <= kMaxSafeSeconds)) return std::nullopt;
    if (std::fabs(v.number) == kMaxSafeSeconds && compare_magnitude_with_2_53(v.literal) > 0) return std::nullopt;
    return static_cast<int64_t>(round(v.number));
}

// Reads one JSON object (header or payload); on failure, a malformed result.
std::optional<Result> read_json_object(std::string_view json, const char* what, Value& out) {
    JsonReader reader(json);
    if (!reader.read_document(out))
        return failed(Failure::malformed, std::string("The ") + what + " is not valid JSON: " + reader.error() + ".");
    if (out.kind != Value::Kind::object)
        return failed(Failure::malformed,
                      std::string("The ") + what + " is a JSON " + kind_name(out.kind) + ", not an object.");
    return std::nullopt;
}

bool hmac_into(std::string_view key, std::string_view data, unsigned char (&mac)[kMacBytes]) {
    static const unsigned char nothing = 0;
    if (key.size() > static_cast<std::size_t>(INT_MAX)) return false;
    const unsigned char* k = key.empty() ? &nothing : bytes(key);
    const unsigned char* d = data.empty() ? &nothing : bytes(data);
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), k, static_cast<int>(key.size()), d, data.size(), mac, &len) == nullptr) return false;
    return len == kMacBytes;
}

// JSON string literal of s; s must be valid UTF-8.
std::string json_string(std::string_view s, const char* what) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"': out += "\\\""; ++i; continue;
            case '\\': out += "\\\\"; ++i; continue;
            case '\b': out += "\\b"; ++i; continue;
            case '\f': out += "\\f"; ++i; continue;
            case '\n': out += "\\n"; ++i; continue;
            case '\r': out += "\\r"; ++i; continue;
            case '\t': out += "\\t"; ++i; continue;
            default: break;
        }
        if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            ++i;
            continue;
        }
        std::size_t n = utf8_sequence(s, i);
        if (n == 0) throw std::invalid_argument(std::string("jwt::issue: the ") + what + " is not valid UTF-8");
        out.append(s.substr(i, n));
        i += n;
    }
    out += '"';
    return out;
}

int base64url_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

}  // namespace

std::string base64url_encode(std::string_view in) {
    static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    uint32_t acc = 0;
    int bits = 0;
    for (char ch : in) {
        acc = (acc << 8 | static_cast<unsigned char>(ch)) & 0xFFFF;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += table[(acc >> bits) & 63];
        }
    }
    if (bits > 0) out += table[(acc << (6 - bits)) & 63];
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    uint32_t acc = 0;
    int bits = 0;
    for (char ch : text) {
        int v = base64url_value(static_cast<unsigned char>(ch));
        if (v < 0) return std::nullopt;
        acc = (acc << 6 | static_cast<uint32_t>(v)) & 0xFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    // 2 or 4 bits are left over after a partial group; a canonical encoder
    // leaves them zero.
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    unsigned char mac[kMacBytes];
    if (!hmac_into(key, data, mac)) throw std::runtime_error("HMAC-SHA256 failed");
    return std::string(reinterpret_cast<const char*>(mac), kMacBytes);
}

const char* failure_name(Failure f) {
    switch (f) {
        case Failure::none: return "none";
        case Failure::malformed: return "malformed";
        case Failure::too_long: return "too_long";
        case Failure::unsupported_algorithm: return "unsupported_algorithm";
        case Failure::unknown_key: return "unknown_key";
        case Failure::bad_signature: return "bad_signature";
        case Failure::missing_exp: return "missing_exp";
        case Failure::expired: return "expired";
        case Failure::not_yet_valid: return "not_yet_valid";
        case Failure::missing_claim: return "missing_claim";
        case Failure::claim_not_string: return "claim_not_string";
    }
    return "unknown";
}

std::string issue(const Key& key, std::string_view claim, std::string_view tenant, int64_t iat, int64_t exp) {
    if (key.secret.empty()) throw std::invalid_argument("jwt::issue: the key's secret is empty");
    if (claim == "iat" || claim == "exp")
        throw std::invalid_argument("jwt::issue: the tenant claim cannot be named iat or exp");
    auto safe = [](int64_t t) { return t >= -(int64_t{1} << 53) && t <= (int64_t{1} << 53); };
    if (!safe(iat) || !safe(exp)) throw std::invalid_argument("jwt::issue: iat and exp must be within +-2^53");
    std::string header = R"({"alg":"HS256","typ":"JWT")";
    if (!key.kid.empty()) header += R"(,"kid":)" + json_string(key.kid, "kid");
    header += '}';
    std::string payload = "{" + json_string(claim, "claim name") + ":" + json_string(tenant, "tenant") +
                          ",\"iat\":" + std::to_string(iat) + ",\"exp\":" + std::to_string(exp) + "}";
    std::string signing_input = base64url_encode(header) + "." + base64url_encode(payload);
    std::string mac = hmac_sha256(key.secret, signing_input);
    return signing_input + "." + base64url_encode(mac);
}

Result verify(std::string_view token, std::span<const Key> keys, int64_t now, std::string_view claim,
              int64_t leeway_seconds) {
    if (token.size() > max_token_bytes)
        return failed(Failure::too_long, "The token is " + std::to_string(token.size()) + " bytes long; at most " +
                                             std::to_string(max_token_bytes) + " bytes are accepted.");

    // Structure: header.payload.signature, each non-empty strict base64url.
    std::size_t dot1 = token.find('.');
    std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return failed(Failure::malformed,
                      "The token is not made of exactly three dot-separated parts (header.payload.signature).");
    const std::string_view parts[3] = {token.substr(0, dot1), token.substr(dot1 + 1, dot2 - dot1 - 1),
                                       token.substr(dot2 + 1)};
    static const char* const part_names[3] = {"header", "payload", "signature"};
    std::optional<std::string> decoded[3];
    for (int i = 0; i < 3; ++i) {
        if (parts[i].empty())
            return failed(Failure::malformed, std::string("The token's ") + part_names[i] + " part is empty.");
        decoded[i] = base64url_decode(parts[i]);
        if (!decoded[i])
            return failed(Failure::malformed, std::string("The token's ") + part_names[i] +
                                                  " part is not canonical unpadded base64url.");
    }

    // Header: algorithm, extensions, key id.
    Value header;
    if (auto bad = read_json_object(*decoded[0], "header", header)) return std::move(*bad);
    const Value* alg = header.find("alg");
    if (!alg) return failed(Failure::unsupported_algorithm, "The header has no alg member; only HS256 is accepted.");
    if (alg->kind != Value::Kind::string)
        return failed(Failure::unsupported_algorithm, std::string("The header's alg is a JSON ") +
                                                          kind_name(alg->kind) + "; only \"HS256\" is accepted.");
    if (alg->text != "HS256")
        return failed(Failure::unsupported_algorithm,
                      "The header's alg is " + shown(alg->text) + "; only \"HS256\" is accepted.");
    if (header.find("crit"))
        return failed(Failure::unsupported_algorithm, "The header has a crit member; no JWS extensions are supported.");
    if (const Value* typ = header.find("typ"); typ && typ->kind != Value::Kind::string)
        return failed(Failure::malformed, std::string("The header's typ is a JSON ") + kind_name(typ->kind) +
                                              ", not a string.");
    const Value* kid = header.find("kid");
    if (kid && kid->kind != Value::Kind::string)
        return failed(Failure::malformed, std::string("The header's kid is a JSON ") + kind_name(kid->kind) +
                                              ", not a string.");

    // Candidate keys: the one(s) named by kid, else all; empty secrets never.
    if (keys.empty()) return failed(Failure::unknown_key, "No verification keys are configured.");
    std::vector<const Key*> candidates;
    for (const Key& k : keys)
        if (!k.secret.empty() && (!kid || k.kid == kid->text)) candidates.push_back(&k);
    if (candidates.empty())
        return failed(Failure::unknown_key, kid ? "No configured key has the kid " + shown(kid->text) + "."
                                                : std::string("No configured key has a non-empty secret."));

    // Signature, before anything in the payload is looked at.
    const std::string& signature = *decoded[2];
    if (signature.size() != kMacBytes)
        return failed(Failure::bad_signature, "The signature is " + std::to_string(signature.size()) +
                                                  " bytes long; an HS256 signature is 32 bytes.");
    std::string_view signing_input = token.substr(0, dot2);
    bool matched = false;
    for (const Key* k : candidates) {
        unsigned char mac[kMacBytes];
        if (hmac_into(k->secret, signing_input, mac) && CRYPTO_memcmp(mac, signature.data(), kMacBytes) == 0)
            matched = true;
    }
    if (!matched)
        return failed(Failure::bad_signature,
                      kid ? "The signature does not match the header and payload under the key with kid " +
                                shown(kid->text) + "."
                          : "The signature does not match the header and payload under any of the " +
                                std::to_string(candidates.size()) + " configured keys.");

    // Payload: times, then the tenant claim.
    Value payload;
    if (auto bad = read_json_object(*decoded[1], "payload", payload)) return std::move(*bad);
    const Value* exp_value = payload.find("exp");
    if (!exp_value) return failed(Failure::missing_exp, "The payload has no exp claim.");
    if (exp_value->kind != Value::Kind::number)
        return failed(Failure::missing_exp, std::string("The payload's exp claim is a JSON ") +
                                                kind_name(exp_value->kind) + ", not a number.");
    std::optional<int64_t> exp = seconds_of(*exp_value, [](double x) { return std::floor(x); });
    if (!exp) return failed(Failure::malformed, "The payload's exp claim is beyond +-2^53 seconds.");
    if (now >= saturating_add(*exp, leeway_seconds))
        return failed(Failure::expired, "The token expired at " + std::to_string(*exp) + " (now " +
                                            std::to_string(now) + ", leeway " + std::to_string(leeway_seconds) +
                                            " s).");
    if (const Value* nbf_value = payload.find("nbf")) {
        if (nbf_value->kind != Value::Kind::number)
            return failed(Failure::malformed, std::string("The payload's nbf claim is a JSON ") +
                                                  kind_name(nbf_value->kind) + ", not a number.");
        // ceil: for an integer t, t < nbf exactly when t < ceil(nbf).
        std::optional<int64_t> nbf = seconds_of(*nbf_value, [](double x) { return std::ceil(x); });
        if (!nbf) return failed(Failure::malformed, "The payload's nbf claim is beyond +-2^53 seconds.");
        if (saturating_add(now, leeway_seconds) < *nbf)
            return failed(Failure::not_yet_valid, "The token is not valid before " + std::to_string(*nbf) +
                                                      " (now " + std::to_string(now) + ", leeway " +
                                                      std::to_string(leeway_seconds) + " s).");
    }

    const Value* value = payload.find(claim);
    if (!value && claim.find('.') != std::string_view::npos) {
        value = &payload;
        std::size_t start = 0;
        for (;;) {
            std::size_t dot = claim.find('.', start);
            value = value->find(claim.substr(start, dot == std::string_view::npos ? dot : dot - start));
            if (!value || dot == std::string_view::npos) break;
            start = dot + 1;
        }
    }
    if (!value) return failed(Failure::missing_claim, "The payload has no claim " + shown(claim) + ".");
    if (value->kind != Value::Kind::string)
        return failed(Failure::claim_not_string, "The claim " + shown(claim) + " is a JSON " +
                                                     kind_name(value->kind) + ", not a string.");
    Result ok;
    ok.tenant = value->text;
    ok.exp = *exp;
    return ok;
}

}  // namespace casebook::tenancy::jwt
