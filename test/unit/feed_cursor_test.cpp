// feed: sealed home() cursors (extensions/feed/cursor.hpp).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cursor.hpp"

using namespace casebook::feed;

namespace {
CursorKey key_of(unsigned char seed) {
    CursorKey k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<unsigned char>(seed + i);
    return k;
}
}  // namespace

TEST(FeedCursor, RoundTrips) {
    Cursor c{42, 787654321012345LL, 9007199254740993LL, 123456789};
    std::string text = seal_cursor(c, key_of(1));
    EXPECT_EQ(text.size(), 66u);
    Cursor back;
    ASSERT_EQ(open_cursor(text, key_of(1), &back), CursorProblem::none);
    EXPECT_EQ(back.user_id, 42);
    EXPECT_EQ(back.created_at, 787654321012345LL);
    EXPECT_EQ(back.post_id, 9007199254740993LL);
    EXPECT_EQ(back.issued_at, 123456789);
    Cursor neg{-1, -5, 0, 0};  // negative timestamps (before 2000) survive too
    ASSERT_EQ(open_cursor(seal_cursor(neg, key_of(1)), key_of(1), &back), CursorProblem::none);
    EXPECT_EQ(back.created_at, -5);
}

TEST(FeedCursor, AnotherKeyOrAnyChangedCharacterIsRefused) {
    Cursor c{7, 1000, 55, 99};
    std::string text = seal_cursor(c, key_of(1));
    Cursor out;
    EXPECT_EQ(open_cursor(text, key_of(2), &out), CursorProblem::forged);
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (std::size_t i = 0; i < text.size(); ++i) {
        std::string t = text;
        t[i] = alphabet[(alphabet.find(t[i]) + 1) % alphabet.size()];
        EXPECT_NE(open_cursor(t, key_of(1), &out), CursorProblem::none) << "position " << i;
    }
}

TEST(FeedCursor, MalformedTextsAreMalformed) {
    Cursor out;
    for (const char* t : {"", "abc", "garbage", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"}) {
        EXPECT_EQ(open_cursor(t, key_of(1), &out), CursorProblem::malformed) << t;
    }
    std::string text = seal_cursor(Cursor{1, 2, 3, 4}, key_of(1));
    EXPECT_EQ(open_cursor(text + "A", key_of(1), &out), CursorProblem::malformed);
    EXPECT_EQ(open_cursor(text.substr(1), key_of(1), &out), CursorProblem::malformed);
    std::string nul = text;
    nul[3] = '\0';
    EXPECT_EQ(open_cursor(nul, key_of(1), &out), CursorProblem::malformed);
}

// The tag is HMAC-SHA-256 of the body under the key, truncated to 16 bytes
// (checked against OpenSSL's one-shot HMAC), also after switching keys.
TEST(FeedCursor, TagIsHmacSha256) {
    for (int round = 0; round < 3; ++round) {
        for (int k : {1, 2}) {
            CursorKey key = key_of(k);
            Cursor c{7, 1700000000000000 + round, 42 + k, 1700000000000123};
            std::string text = seal_cursor(c, key);
            ASSERT_EQ(text.size(), 66u);
            // Decode the base64url text back to bytes.
            const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            std::vector<unsigned char> raw;
            uint32_t acc = 0;
            int bits = 0;
            for (char ch : text) {
                acc = (acc << 6) | static_cast<uint32_t>(alphabet.find(ch));
                bits += 6;
                if (bits >= 8) {
                    bits -= 8;
                    raw.push_back(static_cast<unsigned char>((acc >> bits) & 0xff));
                }
            }
            ASSERT_EQ(raw.size(), 49u);
            unsigned char full[EVP_MAX_MD_SIZE];
            unsigned int len = 0;
            ASSERT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), raw.data(), 33, full, &len), nullptr);
            EXPECT_EQ(std::memcmp(full, raw.data() + 33, 16), 0) << "round " << round << " key " << k;
        }
    }
}
