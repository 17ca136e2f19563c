// Unit tests: georoute's region-carrying ids (extensions/georoute/ids.hpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>

#include "georoute/ids.hpp"

using namespace casebook::georoute::ids;

TEST(GeorouteIds, RoundTripsEveryRegionPairAndTheSequenceBounds) {
    for (int home = 1; home <= kMaxRegion; ++home)
        for (int minter = 1; minter <= kMaxRegion; minter += 7)
            for (std::int64_t seq : {std::int64_t{0}, std::int64_t{1}, kMaxSequence / 2, kMaxSequence}) {
                auto id = make({home, minter, seq});
                ASSERT_TRUE(id.has_value()) << home << " " << minter << " " << seq;
                ASSERT_GT(*id, 0);
                auto p = split(*id);
                ASSERT_TRUE(p.has_value());
                EXPECT_EQ(p->home, home);
                EXPECT_EQ(p->minter, minter);
                EXPECT_EQ(p->sequence, seq);
            }
}

TEST(GeorouteIds, RefusesPartsOutOfRange) {
    EXPECT_FALSE(make({0, 1, 0}).has_value());
    EXPECT_FALSE(make({128, 1, 0}).has_value());
    EXPECT_FALSE(make({-1, 1, 0}).has_value());
    EXPECT_FALSE(make({1, 0, 0}).has_value());
    EXPECT_FALSE(make({1, 128, 0}).has_value());
    EXPECT_FALSE(make({1, 1, -1}).has_value());
    EXPECT_FALSE(make({1, 1, kMaxSequence + 1}).has_value());
    EXPECT_FALSE(make({1, 1, std::numeric_limits<std::int64_t>::max()}).has_value());
}

TEST(GeorouteIds, RefusesValuesNoIdHas) {
    EXPECT_FALSE(split(0).has_value());
    EXPECT_FALSE(split(-1).has_value());
    EXPECT_FALSE(split(std::numeric_limits<std::int64_t>::min()).has_value());
    EXPECT_FALSE(split(42).has_value());                              // home and minter 0
    EXPECT_FALSE(split(std::int64_t{1} << 56).has_value());           // minter 0
    EXPECT_FALSE(split(std::int64_t{1} << 49).has_value());           // home 0
    EXPECT_TRUE(split(std::numeric_limits<std::int64_t>::max()).has_value());  // 127, 127, max
}

TEST(GeorouteIds, TwoMintersNeverCollideAndOneMinterGrowsWithItsSequence) {
    std::mt19937_64 rng(20261206);
    for (int i = 0; i < 20000; ++i) {
        int home = 1 + static_cast<int>(rng() % 3);
        std::int64_t seq = static_cast<std::int64_t>(rng() % 1000);
        // The same sequence number in two minting clusters: two ids.
        auto a = make({home, 1, seq});
        auto b = make({home, 2, seq});
        ASSERT_TRUE(a && b);
        EXPECT_NE(*a, *b);
    }
    for (std::int64_t s = 0; s < 1000; ++s)
        EXPECT_LT(*make({3, 5, s}), *make({3, 5, s + 1}));
    // Home region order: every id of region 2 above every id of region 1.
    EXPECT_LT(*make({1, 127, kMaxSequence}), *make({2, 1, 0}));
}
