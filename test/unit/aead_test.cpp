// Unit tests: AES-256-GCM sealing of personal fields and base64.
#include <gtest/gtest.h>

#include "aead.hpp"

using namespace casebook::eventstore::aead;

namespace {
Key key_of(uint8_t b) {
    Key k;
    k.fill(b);
    return k;
}
}  // namespace

TEST(Aead, RoundTrip) {
    Nonce n{};
    n.fill(7);
    std::string sealed = seal(key_of(1), n, "\"alice@example.com\"", "event-1/email");
    EXPECT_EQ(sealed.size(), 12 + 19 + 16u);
    EXPECT_EQ(sealed.find("alice"), std::string::npos);  // no plaintext in the output
    auto opened = open(key_of(1), sealed, "event-1/email");
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(*opened, "\"alice@example.com\"");
}

TEST(Aead, WrongKeyAadOrTamperedDataFail) {
    Nonce n{};
    std::string sealed = seal(key_of(1), n, "secret", "a");
    EXPECT_FALSE(open(key_of(2), sealed, "a").has_value());
    EXPECT_FALSE(open(key_of(1), sealed, "b").has_value());  // moved to another field or event
    std::string tampered = sealed;
    tampered[13] ^= 1;
    EXPECT_FALSE(open(key_of(1), tampered, "a").has_value());
    EXPECT_FALSE(open(key_of(1), sealed.substr(0, 20), "a").has_value());
}

TEST(Aead, KnownAnswerFromNistGcmTestVector) {
    // NIST GCM test case 13 (AES-256, zero key, zero IV, empty plaintext):
    // tag 530f8afbc74536b9a963b4f1c4cb738b.
    Key k{};
    Nonce n{};
    std::string sealed = seal(k, n, "", "");
    std::string tag = sealed.substr(12);
    const uint8_t expected[16] = {0x53, 0x0f, 0x8a, 0xfb, 0xc7, 0x45, 0x36, 0xb9,
                                  0xa9, 0x63, 0xb4, 0xf1, 0xc4, 0xcb, 0x73, 0x8b};
    ASSERT_EQ(tag.size(), 16u);
    for (int i = 0; i < 16; ++i) EXPECT_EQ(static_cast<uint8_t>(tag[i]), expected[i]) << i;
}

TEST(Base64, RoundTripsAllLengths) {
    std::string s;
    for (int len = 0; len < 40; ++len) {
        auto enc = base64_encode(s);
        auto dec = base64_decode(enc);
        ASSERT_TRUE(dec.has_value()) << len;
        EXPECT_EQ(*dec, s);
        s.push_back(static_cast<char>(len * 37));
    }
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_FALSE(base64_decode("Zm9").has_value());
    EXPECT_FALSE(base64_decode("Zm=v").has_value());
    EXPECT_FALSE(base64_decode("Z!9v").has_value());
}
