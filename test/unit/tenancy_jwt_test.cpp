// Unit tests: HS256 JSON Web Tokens for the tenant guard (known answers from
// RFC 4231 and RFC 7515, every rejection rule, a deterministic fuzz run).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "jwt.hpp"

using namespace casebook::tenancy::jwt;

namespace {

constexpr int64_t kNow = 1700000000;

std::string to_hex(std::string_view bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// A token over exactly these header and payload octets, signed with secret.
std::string sign(std::string_view secret, std::string_view header, std::string_view payload) {
    std::string input = base64url_encode(header) + "." + base64url_encode(payload);
    return input + "." + base64url_encode(hmac_sha256(secret, input));
}

const std::string kSecret = "a 32-byte secret for the tests!!";
const std::string kHeader = R"({"alg":"HS256","typ":"JWT"})";
const std::vector<Key> kKeys = {Key{"", kSecret}};

Result check(const std::string& token, std::string_view claim = "tenant_id", int64_t leeway = 0,
             const std::vector<Key>& keys = kKeys, int64_t now = kNow) {
    return verify(token, keys, now, claim, leeway);
}

// A signed token whose payload is the given JSON text.
Failure payload_failure(std::string_view payload, std::string_view claim = "tenant_id") {
    return check(sign(kSecret, kHeader, payload), claim).failure;
}

Failure header_failure(std::string_view header) {
    return check(sign(kSecret, header, R"({"tenant_id":"t","exp":1800000000})")).failure;
}

}  // namespace

// ---------------------------------------------------------------------------
// Known answers.

TEST(Jwt, HmacSha256Rfc4231Case1) {
    EXPECT_EQ(to_hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Jwt, HmacSha256Rfc4231Case2) {
    EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Jwt, HmacSha256Rfc4231Case6) {
    EXPECT_EQ(to_hex(hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Jwt, Rfc7515AppendixA1) {
    auto key = base64url_decode(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(key->size(), 64u);
    const unsigned char header_octets[] = {123, 34, 116, 121, 112, 34, 58, 34, 74, 87, 84, 34, 44, 13, 10,
                                           32,  34, 97,  108, 103, 34, 58, 34, 72, 83, 50, 53, 54, 34, 125};
    std::string header(reinterpret_cast<const char*>(header_octets), sizeof header_octets);
    EXPECT_EQ(header, "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
    std::string payload = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
    EXPECT_EQ(base64url_encode(header), "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9");
    EXPECT_EQ(base64url_encode(payload),
              "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ");
    std::string input = base64url_encode(header) + "." + base64url_encode(payload);
    EXPECT_EQ(base64url_encode(hmac_sha256(*key, input)), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");

    std::string token = input + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    std::vector<Key> keys = {Key{"", *key}};
    Result r = verify(token, keys, 1300819379, "iss", 0);
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(r.tenant, "joe");
    EXPECT_EQ(r.exp, 1300819380);
    EXPECT_EQ(verify(token, keys, 1300819380, "iss", 0).failure, Failure::expired);
    EXPECT_EQ(verify(token, keys, 1300819379, "http://example.com/is_root", 0).failure, Failure::claim_not_string);
}

// ---------------------------------------------------------------------------
// base64url

TEST(Jwt, Base64UrlKnownAnswersAndRoundTrip) {
    // RFC 4648 section 10 vectors, without padding.
    const char* cases[][2] = {{"", ""},         {"f", "Zg"},         {"fo", "Zm8"},      {"foo", "Zm9v"},
                              {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (auto& c : cases) {
        EXPECT_EQ(base64url_encode(c[0]), c[1]);
        auto d = base64url_decode(c[1]);
        ASSERT_TRUE(d.has_value()) << c[1];
        EXPECT_EQ(*d, c[0]);
    }
    EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");  // the two url-safe letters
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (std::size_t n = 0; n <= all.size(); ++n) {
        auto d = base64url_decode(base64url_encode(all.substr(0, n)));
        ASSERT_TRUE(d.has_value()) << n;
        EXPECT_EQ(*d, all.substr(0, n));
    }
}

TEST(Jwt, Base64UrlDecodeIsStrict) {
    for (const char* bad : {"Zg==", "Zg=", "Zm9vYg=", "Z", "A", "Zm9vY", "Zm9vA", "Zm9vYmFyA", "Zm9v Zg", "Zm9v\n",
                            " Zm9v", "Zm9v\t",
                            "Zm+v", "Zm/v", "Zm9v.", "Zh", "Zm9", "Zm9vYh", "Zm9vYmF"}) {
        EXPECT_FALSE(base64url_decode(bad).has_value()) << bad;
    }
    EXPECT_FALSE(base64url_decode(std::string("Zm\0v", 4)).has_value());
    EXPECT_FALSE(base64url_decode("Zm\xc3\xa9v").has_value());
}

// ---------------------------------------------------------------------------
// issue and the happy path

TEST(Jwt, IssueWritesTheDocumentedHeaderAndPayload) {
    std::string token = issue(Key{"k1", kSecret}, "tenant_id", "abc", 1, 2);
    auto dot1 = token.find('.');
    auto dot2 = token.find('.', dot1 + 1);
    EXPECT_EQ(base64url_decode(token.substr(0, dot1)), R"({"alg":"HS256","typ":"JWT","kid":"k1"})");
    EXPECT_EQ(base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1)), R"({"tenant_id":"abc","iat":1,"exp":2})");
    EXPECT_EQ(base64url_decode(token.substr(dot2 + 1)), hmac_sha256(kSecret, token.substr(0, dot2)));

    std::string no_kid = issue(Key{"", kSecret}, "tenant_id", "abc", 1, 2);
    EXPECT_EQ(base64url_decode(no_kid.substr(0, no_kid.find('.'))), R"({"alg":"HS256","typ":"JWT"})");
}

TEST(Jwt, IssueRefusesWhatVerifyWouldReject) {
    EXPECT_THROW(issue(Key{"k", ""}, "tenant_id", "t", 1, 2), std::invalid_argument);
    EXPECT_THROW(issue(Key{"k", kSecret}, "exp", "t", 1, 2), std::invalid_argument);
    EXPECT_THROW(issue(Key{"k", kSecret}, "iat", "t", 1, 2), std::invalid_argument);
    EXPECT_THROW(issue(Key{"k", kSecret}, "tenant_id", "\xff", 1, 2), std::invalid_argument);
    EXPECT_THROW(issue(Key{"\xc0\xaf", kSecret}, "tenant_id", "t", 1, 2), std::invalid_argument);
    EXPECT_THROW(issue(Key{"k", kSecret}, "tenant_id", "t", 1, (int64_t{1} << 53) + 1), std::invalid_argument);
}

TEST(Jwt, IssueThenVerifyRoundTrip) {
    std::string token = issue(Key{"", kSecret}, "tenant_id", "6f1c1a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", kNow, kNow + 300);
    Result r = check(token);
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_TRUE(r.detail.empty());
    EXPECT_EQ(r.tenant, "6f1c1a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b");
    EXPECT_EQ(r.exp, kNow + 300);

    // Strings that need escaping survive the trip unchanged.
    std::string odd = std::string("q\"b\\s/n\nt\tc\x01z\x7f") + "\xc3\xa9\xf0\x9f\x98\x80";
    token = issue(Key{"kid \"1\"\n", kSecret}, "claim \"x\"", odd, kNow, kNow + 1);
    std::vector<Key> keys = {Key{"kid \"1\"\n", kSecret}};
    r = check(token, "claim \"x\"", 0, keys);
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(r.tenant, odd);

    // A dotted claim name is written (and found) as one top-level member.
    r = check(issue(Key{"", kSecret}, "app.tenant", "t1", kNow, kNow + 1), "app.tenant");
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(r.tenant, "t1");
}

// ---------------------------------------------------------------------------
// Structure and signature

TEST(Jwt, TamperedPartsFail) {
    std::string token = issue(Key{"", kSecret}, "tenant_id", "tenant-a", kNow, kNow + 300);
    auto dot1 = token.find('.');
    auto dot2 = token.find('.', dot1 + 1);
    std::string header = token.substr(0, dot1);
    std::string payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
    std::string signature = token.substr(dot2 + 1);

    std::string other_payload = base64url_encode(R"({"tenant_id":"tenant-b","iat":1700000000,"exp":1700000300})");
    Result r = check(header + "." + other_payload + "." + signature);
    EXPECT_EQ(r.failure, Failure::bad_signature);
    EXPECT_EQ(r.tenant, "");

    std::string other_header = base64url_encode(R"({"alg":"HS256","typ":"JWS"})");
    EXPECT_EQ(check(other_header + "." + payload + "." + signature).failure, Failure::bad_signature);

    std::string mac = *base64url_decode(signature);
    for (std::size_t i : {std::size_t{0}, std::size_t{17}, std::size_t{31}}) {
        std::string flipped = mac;
        flipped[i] ^= 0x01;
        EXPECT_EQ(check(header + "." + payload + "." + base64url_encode(flipped)).failure, Failure::bad_signature);
    }
    EXPECT_EQ(check(header + "." + payload + "." + base64url_encode(mac.substr(0, 30))).failure,
              Failure::bad_signature);
    EXPECT_EQ(check(header + "." + payload + "." + base64url_encode(mac + "x")).failure, Failure::bad_signature);
    // Signed with another secret.
    EXPECT_EQ(check(issue(Key{"", "another secret"}, "tenant_id", "tenant-a", kNow, kNow + 300)).failure,
              Failure::bad_signature);
    EXPECT_EQ(check(token).failure, Failure::none);
}

TEST(Jwt, ThreeNonEmptyPartsRequired) {
    std::string token = issue(Key{"", kSecret}, "tenant_id", "t", kNow, kNow + 300);
    auto dot1 = token.find('.');
    auto dot2 = token.find('.', dot1 + 1);
    std::string h = token.substr(0, dot1), p = token.substr(dot1 + 1, dot2 - dot1 - 1), s = token.substr(dot2 + 1);
    for (const std::string& bad : {std::string(), std::string("."), std::string(".."), std::string("..."), h,
                                   h + "." + p, h + "." + p + ".", h + "." + p + "." + s + ".",
                                   h + "." + p + "." + s + "." + s, "." + p + "." + s, h + ".." + s,
                                   h + "." + p + "." + s + ".x", "." + h + "." + p + "." + s}) {
        Result r = check(bad);
        EXPECT_EQ(r.failure, Failure::malformed) << bad;
        EXPECT_FALSE(r.detail.empty());
    }
}

TEST(Jwt, PaddingWhitespaceAndNonCanonicalBase64Rejected) {
    // Lengths that leave a partial last group: a 28-byte header (38
    // characters, 4 unused bits) and the 32-byte signature (43, 2 unused).
    std::string header = R"({"alg":"HS256","typ":"JWT"} )";
    std::string payload = R"({"tenant_id":"t","exp":1800000000})";
    std::string token = sign(kSecret, header, payload);
    ASSERT_EQ(check(token).failure, Failure::none);
    auto dot1 = token.find('.');
    auto dot2 = token.find('.', dot1 + 1);
    std::string h = token.substr(0, dot1), p = token.substr(dot1 + 1, dot2 - dot1 - 1), s = token.substr(dot2 + 1);
    ASSERT_NE(h.size() % 4, 0u);
    ASSERT_NE(s.size() % 4, 0u);

    // Same bytes, different text: the last character of a partial group
    // with a non-zero unused bit.
    auto non_canonical = [](std::string part) {
        const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        std::size_t v = alphabet.find(part.back());
        part.back() = alphabet[v ^ 1];
        return part;
    };
    EXPECT_EQ(base64url_decode(non_canonical(s)), std::nullopt);
    EXPECT_EQ(check(non_canonical(h) + "." + p + "." + s).failure, Failure::malformed);
    EXPECT_EQ(check(h + "." + p + "." + non_canonical(s)).failure, Failure::malformed);

    auto padded = [](const std::string& part) { return part + std::string((4 - part.size() % 4) % 4, '='); };
    EXPECT_EQ(check(padded(h) + "." + p + "." + s).failure, Failure::malformed);
    EXPECT_EQ(check(h + "." + p + "." + padded(s)).failure, Failure::malformed);
    EXPECT_EQ(check(h + "." + p + "." + s + "=").failure, Failure::malformed);
    EXPECT_EQ(check(" " + token).failure, Failure::malformed);
    EXPECT_EQ(check(token + "\n").failure, Failure::malformed);
    EXPECT_EQ(check(h + ". " + p + "." + s).failure, Failure::malformed);
    EXPECT_EQ(check(h.substr(0, 10) + "\n" + h.substr(10) + "." + p + "." + s).failure, Failure::malformed);
    // Standard (not url-safe) alphabet.
    std::string std_sig = s;
    for (char& c : std_sig) c = c == '-' ? '+' : c == '_' ? '/' : c;
    if (std_sig != s) {
        EXPECT_EQ(check(h + "." + p + "." + std_sig).failure, Failure::malformed);
    }
    EXPECT_EQ(check(h + "." + p + "." + s.substr(0, s.size() - 1) + "+").failure, Failure::malformed);
}

TEST(Jwt, TooLong) {
    // Grow a valid token with a filler member up to the limit.
    std::string last_ok;
    std::string too_long;
    for (std::size_t n = 5900; n < 6300; ++n) {
        std::string payload = R"({"tenant_id":"t","exp":1800000000,"pad":")" + std::string(n, 'x') + "\"}";
        std::string token = sign(kSecret, kHeader, payload);
        if (token.size() <= max_token_bytes) last_ok = token;
        else if (too_long.empty()) too_long = token;
    }
    ASSERT_GE(last_ok.size(), max_token_bytes - 3);
    ASSERT_GT(too_long.size(), max_token_bytes);
    EXPECT_EQ(check(last_ok).failure, Failure::none);
    Result r = check(too_long);
    EXPECT_EQ(r.failure, Failure::too_long);
    EXPECT_NE(r.detail.find("8192"), std::string::npos);
    EXPECT_EQ(check(std::string(max_token_bytes, 'A')).failure, Failure::malformed);
    EXPECT_EQ(check(std::string(max_token_bytes + 1, 'A')).failure, Failure::too_long);
    EXPECT_EQ(check(std::string(1 << 20, '.')).failure, Failure::too_long);
}

// ---------------------------------------------------------------------------
// Algorithm

TEST(Jwt, OnlyHs256Accepted) {
    std::string payload = R"({"tenant_id":"t","exp":1800000000})";
    std::string none_header = base64url_encode(R"({"alg":"none","typ":"JWT"})");
    std::string input = none_header + "." + base64url_encode(payload);
    // The classic attack: alg none and an empty signature.
    EXPECT_EQ(check(input + ".").failure, Failure::malformed);
    // alg none with a signature that is even correct under our secret.
    Result r = check(input + "." + base64url_encode(hmac_sha256(kSecret, input)));
    EXPECT_EQ(r.failure, Failure::unsupported_algorithm);
    EXPECT_NE(r.detail.find("\"none\""), std::string::npos) << r.detail;

    for (const char* header : {R"({"alg":"RS256","typ":"JWT"})", R"({"alg":"HS384","typ":"JWT"})",
                               R"({"alg":"HS512"})", R"({"alg":"hs256"})", R"({"alg":"HS256 "})",
                               R"({"alg":"HS256\u0000"})", R"({"alg":"None"})", R"({"alg":""})", R"({"typ":"JWT"})",
                               R"({"alg":null})", R"({"alg":256})", R"({"alg":["HS256"]})", R"({})",
                               R"({"alg":"HS256","crit":["exp"]})", R"({"alg":"HS256","crit":[]})"}) {
        EXPECT_EQ(header_failure(header), Failure::unsupported_algorithm) << header;
    }
    EXPECT_EQ(header_failure(R"({"alg":"HS256","typ":"JWT","cty":"x","x5u":1})"), Failure::none);
    EXPECT_EQ(header_failure(R"({"alg":"HS256"})"), Failure::none);
    EXPECT_EQ(header_failure(R"({"alg":"HS256","typ":"at+jwt"})"), Failure::none);
    EXPECT_EQ(header_failure(R"({"alg":"HS256","typ":1})"), Failure::malformed);
    EXPECT_EQ(header_failure(R"({"alg":"HS256","typ":null})"), Failure::malformed);
    EXPECT_EQ(header_failure(R"(["alg","HS256"])"), Failure::malformed);
    EXPECT_EQ(header_failure(R"("HS256")"), Failure::malformed);
    EXPECT_EQ(header_failure(R"({"alg":"HS256"}x)"), Failure::malformed);
    EXPECT_EQ(header_failure(R"({"alg":"HS256"}{})"), Failure::malformed);
}

// ---------------------------------------------------------------------------
// Keys

TEST(Jwt, KeySelectionByKid) {
    std::vector<Key> keys = {Key{"k1", "secret one"}, Key{"k2", "secret two"}};
    std::string payload = R"({"tenant_id":"t","exp":1800000000})";

    Result r = check(issue(Key{"k2", "secret two"}, "tenant_id", "t", kNow, kNow + 10), "tenant_id", 0, keys);
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(check(issue(Key{"k1", "secret one"}, "tenant_id", "t", kNow, kNow + 10), "tenant_id", 0, keys).failure,
              Failure::none);
    // kid names k1 but the token is signed with k2's secret: only k1 is tried.
    r = check(issue(Key{"k1", "secret two"}, "tenant_id", "t", kNow, kNow + 10), "tenant_id", 0, keys);
    EXPECT_EQ(r.failure, Failure::bad_signature);
    EXPECT_EQ(r.detail.find("secret"), std::string::npos) << r.detail;
    // Unknown kid.
    r = check(issue(Key{"k3", "secret two"}, "tenant_id", "t", kNow, kNow + 10), "tenant_id", 0, keys);
    EXPECT_EQ(r.failure, Failure::unknown_key);
    EXPECT_NE(r.detail.find("\"k3\""), std::string::npos) << r.detail;
    // No kid: every key is tried.
    EXPECT_EQ(check(sign("secret two", kHeader, payload), "tenant_id", 0, keys).failure, Failure::none);
    EXPECT_EQ(check(sign("secret one", kHeader, payload), "tenant_id", 0, keys).failure, Failure::none);
    EXPECT_EQ(check(sign("secret three", kHeader, payload), "tenant_id", 0, keys).failure, Failure::bad_signature);
    // kid must be a string; an empty kid is a kid like any other.
    EXPECT_EQ(check(sign("secret one", R"({"alg":"HS256","kid":1})", payload), "tenant_id", 0, keys).failure,
              Failure::malformed);
    EXPECT_EQ(check(sign("secret one", R"({"alg":"HS256","kid":""})", payload), "tenant_id", 0, keys).failure,
              Failure::unknown_key);
    // Two keys sharing a kid (rotation): both are tried.
    std::vector<Key> rotating = {Key{"k", "old"}, Key{"k", "new"}};
    EXPECT_EQ(check(issue(Key{"k", "old"}, "tenant_id", "t", kNow, kNow + 10), "tenant_id", 0, rotating).failure,
              Failure::none);
    EXPECT_EQ(check(issue(Key{"k", "new"}, "tenant_id", "t", kNow, kNow + 10), "tenant_id", 0, rotating).failure,
              Failure::none);
}

TEST(Jwt, UnknownKey) {
    std::string token = issue(Key{"", kSecret}, "tenant_id", "t", kNow, kNow + 10);
    EXPECT_EQ(check(token, "tenant_id", 0, {}).failure, Failure::unknown_key);
    // A key with an empty secret is never used, not even for a token
    // "signed" with the empty key.
    std::string empty_signed = sign("", kHeader, R"({"tenant_id":"t","exp":1800000000})");
    EXPECT_EQ(check(empty_signed, "tenant_id", 0, {Key{"", ""}}).failure, Failure::unknown_key);
    EXPECT_EQ(check(empty_signed, "tenant_id", 0, {Key{"", ""}, Key{"x", kSecret}}).failure, Failure::bad_signature);
}

// ---------------------------------------------------------------------------
// Time

TEST(Jwt, ExpRequiredAndANumber) {
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t"})"), Failure::missing_exp);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":"1800000000"})"), Failure::missing_exp);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":null})"), Failure::missing_exp);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":true})"), Failure::missing_exp);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":[1800000000]})"), Failure::missing_exp);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","nested":{"exp":1800000000}})"), Failure::missing_exp);
    // Beyond +-2^53, or beyond a double.
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":9007199254740993})"), Failure::malformed);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":1e300})"), Failure::malformed);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":1e400})"), Failure::malformed);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":-1e400})"), Failure::malformed);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":-9007199254740993})"), Failure::malformed);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":9007199254740992.0000001})"), Failure::malformed);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":90071992547409921e-1})"), Failure::malformed);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":0.9007199254740993e16})"), Failure::malformed);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":9007199254740992})"), Failure::none);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":9007199254740992.000})"), Failure::none);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":00.9007199254740992e16})"), Failure::malformed);  // "00"
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":0.09007199254740992e17})"), Failure::none);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":90071992547409919999e-4})"), Failure::none);  // just below
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":-9007199254740992})"), Failure::expired);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":1.8e9})"), Failure::none);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"t","exp":18E8})"), Failure::none);
    // Fractions are floored.
    Result r = check(sign(kSecret, kHeader, R"({"tenant_id":"t","exp":1700000000.9})"), "tenant_id", 0, kKeys,
                     kNow - 1);
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(r.exp, kNow);
    EXPECT_EQ(check(sign(kSecret, kHeader, R"({"tenant_id":"t","exp":1700000000.9})")).failure, Failure::expired);
}

TEST(Jwt, ExpiredAtExactlyExpAndLeeway) {
    std::string token = issue(Key{"", kSecret}, "tenant_id", "t", kNow - 100, kNow);
    EXPECT_EQ(check(token, "tenant_id", 0, kKeys, kNow - 1).failure, Failure::none);
    Result r = check(token, "tenant_id", 0, kKeys, kNow);
    EXPECT_EQ(r.failure, Failure::expired);
    EXPECT_NE(r.detail.find("1700000000"), std::string::npos) << r.detail;
    EXPECT_EQ(r.tenant, "");
    EXPECT_EQ(check(token, "tenant_id", 30, kKeys, kNow + 29).failure, Failure::none);
    EXPECT_EQ(check(token, "tenant_id", 30, kKeys, kNow + 30).failure, Failure::expired);
    // No overflow at the ends of the range.
    EXPECT_EQ(check(token, "tenant_id", INT64_MAX, kKeys, kNow + 30).failure, Failure::none);
    EXPECT_EQ(check(token, "tenant_id", 0, kKeys, INT64_MAX).failure, Failure::expired);
    EXPECT_EQ(check(token, "tenant_id", 0, kKeys, INT64_MIN).failure, Failure::none);
}

TEST(Jwt, NotBefore) {
    auto with_nbf = [](const char* nbf) {
        return sign(kSecret, kHeader, std::string(R"({"tenant_id":"t","exp":1800000000,"nbf":)") + nbf + "}");
    };
    EXPECT_EQ(check(with_nbf("1700000000")).failure, Failure::none);  // valid from nbf on
    EXPECT_EQ(check(with_nbf("1699999999")).failure, Failure::none);
    Result r = check(with_nbf("1700000001"));
    EXPECT_EQ(r.failure, Failure::not_yet_valid);
    EXPECT_EQ(r.tenant, "");
    EXPECT_EQ(check(with_nbf("1700000010"), "tenant_id", 10).failure, Failure::none);
    EXPECT_EQ(check(with_nbf("1700000011"), "tenant_id", 10).failure, Failure::not_yet_valid);
    EXPECT_EQ(check(with_nbf("1700000000.5")).failure, Failure::not_yet_valid);  // now < nbf exactly
    EXPECT_EQ(check(with_nbf("\"1700000000\"")).failure, Failure::malformed);
    EXPECT_EQ(check(with_nbf("null")).failure, Failure::malformed);
    EXPECT_EQ(check(with_nbf("1e100")).failure, Failure::malformed);
    EXPECT_EQ(check(with_nbf("1700000000"), "tenant_id", 0, kKeys, INT64_MIN).failure, Failure::not_yet_valid);
}

TEST(Jwt, SignatureIsCheckedBeforeAnyClaim) {
    // Expired, without exp, without the claim, or not even JSON: a wrong
    // signature is reported first.
    for (const char* payload : {R"({"tenant_id":"t","exp":1})", R"({"tenant_id":"t"})", R"({"exp":1800000000})",
                                R"({"tenant_id":1,"exp":1800000000})", R"({"exp":1800000000,"nbf":1800000000})",
                                R"(not json)", R"({"a":1,"a":2})"}) {
        EXPECT_EQ(check(sign("wrong secret", kHeader, payload)).failure, Failure::bad_signature) << payload;
    }
}

// ---------------------------------------------------------------------------
// JSON strictness

TEST(Jwt, DuplicateMembersRejected) {
    EXPECT_EQ(header_failure(R"({"alg":"HS256","alg":"none"})"), Failure::malformed);
    EXPECT_EQ(header_failure(R"({"alg":"HS256","kid":"a","kid":"b"})"), Failure::malformed);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"a","exp":1800000000,"tenant_id":"b"})"), Failure::malformed);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"a","exp":1800000000,"exp":1})"), Failure::malformed);
    // Equal after unescaping.
    EXPECT_EQ(payload_failure(R"({"tenant_id":"a","exp":1800000000,"t\u0065nant_id":"b"})"), Failure::malformed);
    // In a nested object, and in objects inside arrays.
    EXPECT_EQ(payload_failure(R"({"tenant_id":"a","exp":1800000000,"x":{"y":1,"y":1}})"), Failure::malformed);
    EXPECT_EQ(payload_failure(R"({"tenant_id":"a","exp":1800000000,"x":[{},{"":1,"":2}]})"), Failure::malformed);
    // The same name in different objects is fine.
    EXPECT_EQ(payload_failure(R"({"tenant_id":"a","exp":1800000000,"x":{"tenant_id":1},"y":{"tenant_id":2}})"),
              Failure::none);
}

TEST(Jwt, DeepNestingBounded) {
    auto nested = [](int arrays) {
        return std::string(R"({"tenant_id":"t","exp":1800000000,"x":)") + std::string(arrays, '[') +
               std::string(arrays, ']') + "}";
    };
    EXPECT_EQ(payload_failure(nested(31)), Failure::none);  // 32 levels with the payload object
    EXPECT_EQ(payload_failure(nested(32)), Failure::malformed);
    EXPECT_EQ(payload_failure(nested(3000)), Failure::malformed);
    auto nested_objects = [](int objects) {
        std::string json = R"({"tenant_id":"t","exp":1800000000,"x":)";
        for (int i = 0; i < objects; ++i) json += R"({"a":)";
        return json + "1" + std::string(objects, '}') + "}";
    };
    EXPECT_EQ(payload_failure(nested_objects(31)), Failure::none);
    EXPECT_EQ(payload_failure(nested_objects(32)), Failure::malformed);
    EXPECT_EQ(header_failure(R"({"alg":"HS256","x":)" + std::string(1000, '[')), Failure::malformed);
    // Unterminated deep nesting in a large header: bounded, no crash.
    EXPECT_EQ(check(base64url_encode(std::string(6000, '[')) + ".e30.AAAA").failure, Failure::malformed);
}

TEST(Jwt, EscapesAndSurrogatePairsInTheClaim) {
    Result r = check(sign(kSecret, kHeader,
                          R"({"tenant_id":"\u0061\u00e9\u20ac\ud83d\ude00\"\\\/\b\f\n\r\t","exp":1800000000})"));
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(r.tenant, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"\\/\b\f\n\r\t");
    r = check(sign(kSecret, kHeader, R"({"tenant_id":"\uD834\uDD1E \u0000","exp":1800000000})"));
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(r.tenant, std::string("\xf0\x9d\x84\x9e \0", 6));
    // The claim name may be escaped too.
    r = check(sign(kSecret, kHeader, R"({"\u0074enant_id":"x","exp":1800000000})"));
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(r.tenant, "x");

    for (const char* bad : {R"("\ud83d")", R"("\ud83dx")", R"("\ude00")", R"("\ud83d\u0041")", R"("\ud83d\ud83d")",
                            R"("\ude00\ud83d")", R"("\ud83d\")", R"("\u12")", R"("\u12g4")", R"("\x41")",
                            R"("\U0041")", R"("\')", R"("\a")"}) {
        EXPECT_EQ(payload_failure(std::string(R"({"exp":1800000000,"tenant_id":)") + bad + "}"), Failure::malformed)
            << bad;
    }
}

TEST(Jwt, InvalidUtf8Rejected) {
    // Raw UTF-8 is fine.
    Result r = check(sign(kSecret, kHeader, "{\"tenant_id\":\"caf\xc3\xa9 \xf4\x8f\xbf\xbf\",\"exp\":1800000000}"));
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(r.tenant, "caf\xc3\xa9 \xf4\x8f\xbf\xbf");
    for (const char* bad : {"\xc0\xaf",          // overlong '/'
                            "\xe0\x80\xaf",      // overlong, 3 bytes
                            "\xed\xa0\x80",      // encoded surrogate
                            "\xf4\x90\x80\x80",  // above U+10FFFF
                            "\xf8\x88\x80\x80\x80", "\xff", "\xfe", "\x80", "\xc3", "\xe2\x82", "\xc3\x28",
                            "\xf0\x9f\x98"}) {
        std::string payload = std::string("{\"exp\":1800000000,\"tenant_id\":\"a") + bad + "b\"}";
        EXPECT_EQ(payload_failure(payload), Failure::malformed) << to_hex(bad);
        std::string in_name = std::string("{\"exp\":1800000000,\"tenant_id\":\"t\",\"") + bad + "\":1}";
        EXPECT_EQ(payload_failure(in_name), Failure::malformed) << to_hex(bad);
    }
    EXPECT_EQ(header_failure("{\"alg\":\"HS256\",\"kid\":\"\xff\"}"), Failure::malformed);
    // Unescaped control characters.
    EXPECT_EQ(payload_failure("{\"exp\":1800000000,\"tenant_id\":\"a\nb\"}"), Failure::malformed);
    EXPECT_EQ(payload_failure(std::string("{\"exp\":1800000000,\"tenant_id\":\"a") + '\0' + "b\"}"),
              Failure::malformed);
}

TEST(Jwt, JsonGrammarIsStrict) {
    const std::string ok = R"({"tenant_id":"t","exp":1800000000)";
    for (const char* tail : {R"(,"a":[1,-1,0,-0,1.5,-0.25,1e5,1E+5,1e-5,0.0e0,true,false,null,"",{},[]]})",
                             " \t\r\n}", R"(,"a" : { "b" : [ ] } } )"}) {
        EXPECT_EQ(payload_failure(ok + tail), Failure::none) << tail;
    }
    EXPECT_EQ(payload_failure(" \n" + ok + "}\r\n\t "), Failure::none);
    for (const char* tail : {",}", R"(,"a":[1,]})", R"(,"a":[,1]})", R"(,"a":01})", R"(,"a":1.})", R"(,"a":.5})",
                             R"(,"a":+1})", R"(,"a":-})", R"(,"a":1e})", R"(,"a":1e+})", R"(,"a":NaN})",
                             R"(,"a":Infinity})", R"(,"a":'x'})", R"(,a:1})", R"(,"a":tru})", R"(,"a":nul})",
                             R"(,"a":True})", R"(,"a":1 /* c */})", R"(,"a":"x})", R"(,"a":[1})", R"(,"a" 1})",
                             R"(,"a":1,})", R"(,"a":1 "b":2})", "", "}}", "} x", "}\f", "}\v", R"(,"a":0x10})",
                             R"(,"a":1_0})", R"(,"a":- 1})", R"(,"a":[1;2]})", ",\"a\"\xc2\xa0:1}"}) {
        EXPECT_EQ(payload_failure(ok + tail), Failure::malformed) << tail;
    }
    EXPECT_EQ(payload_failure("\xef\xbb\xbf" + ok + "}"), Failure::malformed);  // byte order mark
    EXPECT_EQ(payload_failure(R"(["tenant_id","t"])"), Failure::malformed);
    EXPECT_EQ(payload_failure("null"), Failure::malformed);
    EXPECT_EQ(payload_failure(""), Failure::malformed);
}

// ---------------------------------------------------------------------------
// The tenant claim

TEST(Jwt, ClaimMustBeAString) {
    EXPECT_EQ(payload_failure(R"({"exp":1800000000})"), Failure::missing_claim);
    EXPECT_EQ(payload_failure(R"({"exp":1800000000,"Tenant_id":"t"})"), Failure::missing_claim);
    for (const char* value : {"42", "4.2", "true", "null", "{}", R"(["t"])", R"({"id":"t"})"}) {
        Result r = check(sign(kSecret, kHeader, std::string(R"({"exp":1800000000,"tenant_id":)") + value + "}"));
        EXPECT_EQ(r.failure, Failure::claim_not_string) << value;
        EXPECT_EQ(r.tenant, "");
    }
    Result r = check(sign(kSecret, kHeader, R"({"exp":1800000000,"tenant_id":""})"));
    EXPECT_EQ(r.failure, Failure::none);  // the caller rejects an empty UUID
    EXPECT_EQ(r.tenant, "");
}

TEST(Jwt, DottedPathClaim) {
    std::string payload = R"({"exp":1800000000,"app_metadata":{"tenant_id":"t-nested","n":7,"deeper":{"id":"d"}}})";
    Result r = check(sign(kSecret, kHeader, payload), "app_metadata.tenant_id");
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(r.tenant, "t-nested");
    EXPECT_EQ(check(sign(kSecret, kHeader, payload), "app_metadata.deeper.id").tenant, "d");
    EXPECT_EQ(check(sign(kSecret, kHeader, payload), "app_metadata.n").failure, Failure::claim_not_string);
    EXPECT_EQ(check(sign(kSecret, kHeader, payload), "app_metadata.deeper").failure, Failure::claim_not_string);
    EXPECT_EQ(check(sign(kSecret, kHeader, payload), "app_metadata.missing").failure, Failure::missing_claim);
    EXPECT_EQ(check(sign(kSecret, kHeader, payload), "app_metadata.n.x").failure, Failure::missing_claim);
    EXPECT_EQ(check(sign(kSecret, kHeader, payload), "app_metadata.").failure, Failure::missing_claim);
    EXPECT_EQ(check(sign(kSecret, kHeader, payload), ".app_metadata").failure, Failure::missing_claim);
    EXPECT_EQ(check(sign(kSecret, kHeader, payload), "exp.x").failure, Failure::missing_claim);
    // Arrays are not objects.
    EXPECT_EQ(check(sign(kSecret, kHeader, R"({"exp":1800000000,"a":["t"]})"), "a.0").failure, Failure::missing_claim);
    // Without a dot there is no path.
    EXPECT_EQ(check(sign(kSecret, kHeader, payload), "tenant_id").failure, Failure::missing_claim);
}

TEST(Jwt, ClaimNameWithDotsThatIsATopLevelMember) {
    std::string payload =
        R"({"exp":1800000000,"https://example.com/tenant":"top","https://example":{"com/tenant":"nested"}})";
    Result r = check(sign(kSecret, kHeader, payload), "https://example.com/tenant");
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(r.tenant, "top");
    // Without the top-level member the path is followed.
    r = check(sign(kSecret, kHeader, R"({"exp":1800000000,"https://example":{"com/tenant":"nested"}})"),
              "https://example.com/tenant");
    EXPECT_EQ(r.failure, Failure::none) << r.detail;
    EXPECT_EQ(r.tenant, "nested");
    // A top-level member that is not a string is final (no fallback to the path).
    r = check(sign(kSecret, kHeader, R"({"exp":1800000000,"a.b":1,"a":{"b":"nested"}})"), "a.b");
    EXPECT_EQ(r.failure, Failure::claim_not_string);
}

// ---------------------------------------------------------------------------
// Reporting

TEST(Jwt, FailureNamesAreStable) {
    EXPECT_STREQ(failure_name(Failure::none), "none");
    EXPECT_STREQ(failure_name(Failure::malformed), "malformed");
    EXPECT_STREQ(failure_name(Failure::too_long), "too_long");
    EXPECT_STREQ(failure_name(Failure::unsupported_algorithm), "unsupported_algorithm");
    EXPECT_STREQ(failure_name(Failure::unknown_key), "unknown_key");
    EXPECT_STREQ(failure_name(Failure::bad_signature), "bad_signature");
    EXPECT_STREQ(failure_name(Failure::missing_exp), "missing_exp");
    EXPECT_STREQ(failure_name(Failure::expired), "expired");
    EXPECT_STREQ(failure_name(Failure::not_yet_valid), "not_yet_valid");
    EXPECT_STREQ(failure_name(Failure::missing_claim), "missing_claim");
    EXPECT_STREQ(failure_name(Failure::claim_not_string), "claim_not_string");
}

TEST(Jwt, DetailsAreOneSentenceWithoutSecretsOrSignatures) {
    std::string token = issue(Key{"", kSecret}, "tenant_id", "t", kNow, kNow + 10);
    std::string signature = token.substr(token.rfind('.') + 1);
    std::string forged = sign("wrong secret", kHeader, R"({"tenant_id":"t","exp":1800000000})");
    std::string forged_signature = forged.substr(forged.rfind('.') + 1);
    std::vector<std::string> tokens = {
        forged, token + "x", "a.b", std::string(9000, 'a'), sign(kSecret, R"({"alg":"none"})", "{}"),
        issue(Key{"\x01kid\"", kSecret}, "tenant_id", "t", kNow, kNow + 10), sign(kSecret, kHeader, R"({"x":1})"),
        issue(Key{"", kSecret}, "tenant_id", "t", kNow - 10, kNow - 1), sign(kSecret, kHeader, R"({"exp":1800000000})"),
        sign(kSecret, kHeader, R"({"exp":1800000000,"tenant_id":[]})"),
        sign(kSecret, R"({"alg":")" + std::string(500, 'x') + "\"}", "{}")};
    for (const std::string& t : tokens) {
        Result r = check(t);
        ASSERT_NE(r.failure, Failure::none) << t;
        EXPECT_FALSE(r.detail.empty());
        EXPECT_TRUE(r.detail[0] >= 'A' && r.detail[0] <= 'Z') << r.detail;
        EXPECT_EQ(r.detail.back(), '.') << r.detail;
        EXPECT_EQ(r.detail.find('\n'), std::string::npos) << r.detail;
        EXPECT_EQ(r.detail.find('\x01'), std::string::npos) << r.detail;
        EXPECT_LT(r.detail.size(), 300u) << r.detail;
        EXPECT_EQ(r.detail.find(kSecret), std::string::npos) << r.detail;
        EXPECT_EQ(r.detail.find(signature), std::string::npos) << r.detail;
        EXPECT_EQ(r.detail.find(forged_signature), std::string::npos) << r.detail;
    }
}

// ---------------------------------------------------------------------------
// Fuzz

TEST(Jwt, RandomMutationsNeverCrashOrVerify) {
    std::vector<Key> keys = {Key{"k1", kSecret}, Key{"k2", "another secret"}};
    const std::string original = issue(keys[0], "app_metadata.tenant_id", "6f1c1a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
                                       kNow, kNow + 3600);
    ASSERT_EQ(verify(original, keys, kNow, "app_metadata.tenant_id", 0).failure, Failure::none);
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=";
    std::mt19937 rng(42);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    int unchanged = 0;
    int by_failure[11] = {};
    for (int i = 0; i < 20000; ++i) {
        std::string token = original;
        std::size_t edits = 1 + pick(4);
        for (std::size_t e = 0; e < edits; ++e) {
            switch (pick(5)) {
                case 0:  // flip one bit
                    if (!token.empty()) token[pick(token.size())] ^= static_cast<char>(1u << pick(8));
                    break;
                case 1:  // replace with a character of the token alphabet
                    if (!token.empty()) token[pick(token.size())] = alphabet[pick(alphabet.size())];
                    break;
                case 2:  // insert a random byte
                    token.insert(token.begin() + static_cast<std::ptrdiff_t>(pick(token.size() + 1)),
                                 static_cast<char>(pick(256)));
                    break;
                case 3:  // insert an alphabet character
                    token.insert(token.begin() + static_cast<std::ptrdiff_t>(pick(token.size() + 1)),
                                 alphabet[pick(alphabet.size())]);
                    break;
                default:  // delete a byte
                    if (!token.empty()) token.erase(token.begin() + static_cast<std::ptrdiff_t>(pick(token.size())));
                    break;
            }
        }
        Result r = verify(token, keys, kNow, "app_metadata.tenant_id", 0);
        ++by_failure[static_cast<int>(r.failure)];
        if (token == original) {
            ++unchanged;
            EXPECT_EQ(r.failure, Failure::none);
        } else {
            ASSERT_NE(r.failure, Failure::none) << "mutation " << i << " verified: " << token;
            EXPECT_FALSE(r.detail.empty());
            EXPECT_TRUE(r.tenant.empty());
        }
    }
    // The mutations reach past the base64 checks.
    EXPECT_GT(by_failure[static_cast<int>(Failure::malformed)], 0);
    EXPECT_GT(by_failure[static_cast<int>(Failure::bad_signature)], 0);
    EXPECT_LT(unchanged, 20000);
}

// The payload parser only runs on signed payloads: mutate the JSON text
// itself and sign it, so the reader sees the damage.
TEST(Jwt, RandomSignedPayloadMutationsNeverCrash) {
    const std::string payload = R"({"app_metadata":{"tenant_id":"6f1c\u00e9\ud83d\ude00","roles":["a","b"]},)"
                                R"("exp":1700003600,"nbf":1.5e9,"n":[-0.5e-3,true,null]})";
    ASSERT_EQ(check(sign(kSecret, kHeader, payload), "app_metadata.tenant_id").failure, Failure::none);
    const std::string json_chars = "{}[]\":,\\u0123456789abcdefDC.eE+-tfn \t\n";
    std::mt19937 rng(42);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    int accepted = 0, rejected = 0;
    for (int i = 0; i < 5000; ++i) {
        std::string p = payload;
        std::size_t edits = 1 + pick(3);
        for (std::size_t e = 0; e < edits; ++e) {
            std::size_t at = pick(p.size());
            switch (pick(4)) {
                case 0: p[at] = json_chars[pick(json_chars.size())]; break;
                case 1: p[at] = static_cast<char>(pick(256)); break;
                case 2:
                    p.insert(p.begin() + static_cast<std::ptrdiff_t>(at), json_chars[pick(json_chars.size())]);
                    break;
                default: p.erase(p.begin() + static_cast<std::ptrdiff_t>(at)); break;
            }
        }
        Result r = check(sign(kSecret, kHeader, p), "app_metadata.tenant_id");
        EXPECT_NE(r.failure, Failure::bad_signature);
        if (r.failure == Failure::none) ++accepted;
        else ++rejected;
        EXPECT_EQ(r.failure == Failure::none, r.detail.empty());
    }
    EXPECT_GT(rejected, 0);
    EXPECT_GT(accepted, 0);  // harmless edits (e.g. in other members) still verify
}
