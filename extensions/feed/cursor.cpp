// feed: sealed keyset cursors (see cursor.hpp).
#include "cursor.hpp"

#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace casebook::feed {
namespace {

constexpr unsigned char kVersion = 1;
constexpr std::size_t kBody = 1 + 4 * 8;  // version, four int64
constexpr std::size_t kTag = 16;          // HMAC-SHA-256, truncated
constexpr std::size_t kRaw = kBody + kTag;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void put64(unsigned char* p, int64_t v) {
    auto u = static_cast<uint64_t>(v);
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<unsigned char>(u & 0xff);
        u >>= 8;
    }
}

int64_t get64(const unsigned char* p) {
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
    return static_cast<int64_t>(u);
}

bool tag(const unsigned char* body, const CursorKey& key, unsigned char out[kTag]) {
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), body, kBody, full, &len) == nullptr ||
        len < kTag)
        return false;
    std::memcpy(out, full, kTag);
    return true;
}

std::string encode(const unsigned char* raw, std::size_t n) {
    std::string s;
    uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            s.push_back(kAlphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) s.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
    return s;
}

bool decode(std::string_view s, unsigned char* raw, std::size_t n) {
    if (s.size() != (n * 8 + 5) / 6) return false;
    uint32_t acc = 0;
    int bits = 0;
    std::size_t out = 0;
    for (char c : s) {
        const char* p = std::strchr(kAlphabet, c);
        if (c == '\0' || p == nullptr) return false;
        acc = (acc << 6) | static_cast<uint32_t>(p - kAlphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (out < n) raw[out++] = static_cast<unsigned char>((acc >> bits) & 0xff);
        }
    }
    // The padding bits of the last character must be zero (one text per cursor).
    return out == n && (acc & ((1u << bits) - 1)) == 0;
}

}  // namespace

std::string seal_cursor(const Cursor& c, const CursorKey& key) {
    unsigned char raw[kRaw];
    raw[0] = kVersion;
    put64(raw + 1, c.user_id);
    put64(raw + 9, c.created_at);
    put64(raw + 17, c.post_id);
    put64(raw + 25, c.issued_at);
    if (!tag(raw, key, raw + kBody)) return std::string();
    return encode(raw, kRaw);
}

CursorProblem open_cursor(std::string_view text, const CursorKey& key, Cursor* out) {
    unsigned char raw[kRaw];
    if (!decode(text, raw, kRaw) || raw[0] != kVersion) return CursorProblem::malformed;
    unsigned char expected[kTag];
    if (!tag(raw, key, expected)) return CursorProblem::forged;
    if (CRYPTO_memcmp(expected, raw + kBody, kTag) != 0) return CursorProblem::forged;
    out->user_id = get64(raw + 1);
    out->created_at = get64(raw + 9);
    out->post_id = get64(raw + 17);
    out->issued_at = get64(raw + 25);
    return CursorProblem::none;
}

}  // namespace casebook::feed
