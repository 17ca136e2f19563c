// Unit tests: UUID parsing/formatting and version-7 generation.
#include <gtest/gtest.h>

#include "uuid.hpp"

using namespace casebook::eventstore;

TEST(Uuid, ParsesAndFormatsCanonicalForm) {
    auto u = parse_uuid("0190F3A4-1B2C-7D3E-8F40-A1B2C3D4E5F6");
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(format_uuid(*u), "0190f3a4-1b2c-7d3e-8f40-a1b2c3d4e5f6");
}

TEST(Uuid, RejectsOtherForms) {
    EXPECT_FALSE(parse_uuid("").has_value());
    EXPECT_FALSE(parse_uuid("order-123").has_value());
    EXPECT_FALSE(parse_uuid("0190f3a41b2c7d3e8f40a1b2c3d4e5f6").has_value());          // no dashes
    EXPECT_FALSE(parse_uuid("{0190f3a4-1b2c-7d3e-8f40-a1b2c3d4e5f}").has_value());     // braces
    EXPECT_FALSE(parse_uuid("0190f3a4-1b2c-7d3e-8f40-a1b2c3d4e5fg").has_value());      // not hex
    EXPECT_FALSE(parse_uuid("0190f3a4-1b2c-7d3e-8f40a-1b2c3d4e5f6").has_value());      // dash misplaced
}

TEST(Uuid7, CarriesVersionVariantAndTime) {
    Uuid7Generator g;
    Uuid u = g.next(0x0123456789ABULL, {0xFF, 1, 2, 3, 4, 5, 6, 7});
    EXPECT_EQ(u[0], 0x01);
    EXPECT_EQ(u[5], 0xAB);
    EXPECT_EQ(u[6] >> 4, 7);           // version 7
    EXPECT_EQ(u[8] >> 6, 2);           // RFC 4122 variant
    EXPECT_EQ(u[15], 7);
}

TEST(Uuid7, StrictlyIncreasingWithinAMillisecondAndWhenTheClockStepsBack) {
    Uuid7Generator g;
    Uuid prev = g.next(1000, {});
    for (int i = 0; i < 10000; ++i) {
        uint64_t ms = i % 3 == 0 ? 999 : 1000;  // a clock that jumps back now and then
        Uuid next = g.next(ms, {});
        ASSERT_LT(format_uuid(prev), format_uuid(next)) << i;
        prev = next;
    }
}
