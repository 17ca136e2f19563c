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

// HMAC-SHA-256 with the key's inner and outer hash states computed once per
// key (RFC 2104): a tag then costs two short digests. OpenSSL's one-shot
// HMAC() looks the algorithm up on every call, ten times the cost; a page of
// home() seals one cursor per row.
class KeyedHmac {
public:
    bool tag(const CursorKey& key, const unsigned char* body, std::size_t n, unsigned char* out, std::size_t out_n) {
        if (!ready_ || key != key_) {
            if (!prepare(key)) return false;
        }
        unsigned char inner[EVP_MAX_MD_SIZE];
        unsigned char full[EVP_MAX_MD_SIZE];
        unsigned int len = 0, full_len = 0;
        if (EVP_MD_CTX_copy_ex(work_, inner_) != 1 || EVP_DigestUpdate(work_, body, n) != 1 ||
            EVP_DigestFinal_ex(work_, inner, &len) != 1 || EVP_MD_CTX_copy_ex(work_, outer_) != 1 ||
            EVP_DigestUpdate(work_, inner, len) != 1 || EVP_DigestFinal_ex(work_, full, &full_len) != 1 ||
            full_len < out_n)
            return false;
        std::memcpy(out, full, out_n);
        return true;
    }

private:
    bool prepare(const CursorKey& key) {
        ready_ = false;
        if (!md_) md_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        if (!inner_) inner_ = EVP_MD_CTX_new();
        if (!outer_) outer_ = EVP_MD_CTX_new();
        if (!work_) work_ = EVP_MD_CTX_new();
        if (!md_ || !inner_ || !outer_ || !work_) return false;
        constexpr std::size_t kBlock = 64;  // SHA-256's block; the key (32 bytes) is padded with zeros
        unsigned char ipad[kBlock], opad[kBlock];
        for (std::size_t i = 0; i < kBlock; ++i) {
            unsigned char k = i < key.size() ? key[i] : 0;
            ipad[i] = static_cast<unsigned char>(k ^ 0x36);
            opad[i] = static_cast<unsigned char>(k ^ 0x5c);
        }
        bool ok = EVP_DigestInit_ex(inner_, md_, nullptr) == 1 && EVP_DigestUpdate(inner_, ipad, kBlock) == 1 &&
                  EVP_DigestInit_ex(outer_, md_, nullptr) == 1 && EVP_DigestUpdate(outer_, opad, kBlock) == 1;
        OPENSSL_cleanse(ipad, kBlock);
        OPENSSL_cleanse(opad, kBlock);
        if (!ok) return false;
        key_ = key;
        ready_ = true;
        return true;
    }

    bool ready_ = false;
    CursorKey key_{};
    // Per backend, for the process's life (freed by its exit).
    EVP_MD* md_ = nullptr;
    EVP_MD_CTX* inner_ = nullptr;
    EVP_MD_CTX* outer_ = nullptr;
    EVP_MD_CTX* work_ = nullptr;
};

bool tag(const unsigned char* body, const CursorKey& key, unsigned char out[kTag]) {
    static KeyedHmac hmac;
    return hmac.tag(key, body, kBody, out, kTag);
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
