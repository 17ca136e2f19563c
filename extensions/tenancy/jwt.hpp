// tenancy: JSON Web Tokens (RFC 7519) in the JWS compact serialization
// (RFC 7515), HS256 only, for the tenant guard. Pure C++ over OpenSSL's
// libcrypto (no PostgreSQL). Tokens come from untrusted clients: parsing is
// strict, every failure is a value (never a crash), and the work done is
// bounded by the token's size limit.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace casebook::tenancy::jwt {

// A verification (or signing) key. secret holds the raw bytes; a key with an
// empty secret is never used (anyone could forge a token under it).
struct Key {
    std::string kid;
    std::string secret;
};

enum class Failure {
    none,
    malformed,              // not three strict base64url parts, not JSON objects, bad exp/nbf/kid/typ values
    too_long,               // more than max_token_bytes
    unsupported_algorithm,  // alg is not exactly "HS256", or a crit header is present
    unknown_key,            // no key has the header's kid, or no usable key is configured
    bad_signature,          // no candidate key produces the signature
    missing_exp,            // exp absent or not a number
    expired,                // now >= exp + leeway
    not_yet_valid,          // now + leeway < nbf
    missing_claim,          // the tenant claim is absent
    claim_not_string,       // the tenant claim is present but not a JSON string
};

struct Result {
    Failure failure = Failure::none;
    std::string detail;  // one sentence saying what was wrong (never a secret or signature bytes)
    std::string tenant;  // the claim's string value when failure == none
    int64_t exp = 0;     // exp (seconds since the epoch, floored) when failure == none
};

inline constexpr std::size_t max_token_bytes = 8192;
inline constexpr int max_json_depth = 32;

// Verifies token at time now (seconds since the Unix epoch) and returns the
// string value of the payload member named claim. When the payload has no
// top-level member of that name and claim contains '.', claim is followed as
// a path through nested objects ("app_metadata.tenant_id"). The signature is
// checked before any claim is looked at.
Result verify(std::string_view token, std::span<const Key> keys, int64_t now, std::string_view claim,
              int64_t leeway_seconds);

// A compact HS256 token: header {"alg":"HS256","typ":"JWT","kid":<kid>} (kid
// omitted when empty), payload {<claim>:<tenant>,"iat":iat,"exp":exp}.
// Throws std::invalid_argument for an empty secret, a claim named "iat" or
// "exp", strings that are not valid UTF-8, or times beyond +-2^53.
std::string issue(const Key& key, std::string_view claim, std::string_view tenant, int64_t iat, int64_t exp);

// RFC 4648 section 5 alphabet, without padding.
std::string base64url_encode(std::string_view bytes);
// Strict: only A-Z a-z 0-9 - _, no padding, no whitespace, no length of
// 1 mod 4, and the unused trailing bits must be zero (canonical encodings
// only, so one byte string has exactly one accepted text).
std::optional<std::string> base64url_decode(std::string_view text);

// HMAC-SHA256 (RFC 2104) of data under key: 32 raw bytes. Throws
// std::runtime_error if libcrypto fails.
std::string hmac_sha256(std::string_view key, std::string_view data);

// Stable snake_case names: "none", "malformed", "too_long", ...
const char* failure_name(Failure f);

}  // namespace casebook::tenancy::jwt
