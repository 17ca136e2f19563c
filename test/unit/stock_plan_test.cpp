// Unit tests: bucket planning, cart normalization and order status edges.
#include <gtest/gtest.h>

#include <numeric>

#include "error.hpp"
#include "stock_plan.hpp"

using namespace casebook::commerce;

namespace {
int64_t total_available(const std::vector<Bucket>& bs) {
    int64_t t = 0;
    for (const auto& b : bs) t += b.available();
    return t;
}
std::vector<Bucket> with_moves(std::vector<Bucket> bs, const std::vector<Move>& moves) {
    for (const auto& m : moves)
        for (auto& b : bs)
            if (b.bucket == m.bucket) b.quantity += m.delta;
    return bs;
}
}  // namespace

TEST(PlanReservation, SingleBucketThatSufficesNeedsNoMoves) {
    std::vector<Bucket> bs{{0, 5, 5}, {1, 5, 1}, {2, 5, 0}};
    auto p = plan_reservation(bs, 4, 3);
    ASSERT_TRUE(p.possible);
    EXPECT_TRUE(p.moves.empty());
    EXPECT_EQ(p.bucket, 2);  // the one with most available
    EXPECT_EQ(p.total_available, 9);
}

TEST(PlanReservation, ConsolidatesWhenNoBucketSuffices) {
    std::vector<Bucket> bs{{0, 3, 1}, {1, 3, 0}, {2, 3, 0}, {3, 1, 0}};
    auto p = plan_reservation(bs, 8, 4);  // available 2+3+3+1 = 9
    ASSERT_TRUE(p.possible);
    auto after = with_moves(bs, p.moves);
    int64_t delta = 0;
    for (const auto& m : p.moves) delta += m.delta;
    EXPECT_EQ(delta, 0) << "moves must not create or destroy stock";
    EXPECT_EQ(total_available(after), total_available(bs));
    for (const auto& b : after) {
        EXPECT_GE(b.available(), 0);
        EXPECT_GE(b.quantity, b.reserved);
        if (b.bucket == p.bucket) {
            EXPECT_GE(b.available(), 8);
        }
    }
}

TEST(PlanReservation, ShortTotalIsImpossible) {
    std::vector<Bucket> bs{{0, 3, 1}, {1, 3, 0}};
    auto p = plan_reservation(bs, 6, 2);
    EXPECT_FALSE(p.possible);
    EXPECT_EQ(p.total_available, 5);
    EXPECT_TRUE(plan_reservation(bs, 5, 2).possible);
}

TEST(PlanReservation, PrefersActiveBucketsOverDraining) {
    // bucket 3 is draining (nbuckets = 2) but has units released back into it.
    std::vector<Bucket> bs{{0, 2, 0}, {1, 2, 0}, {3, 9, 0}};
    auto p = plan_reservation(bs, 2, 2);
    ASSERT_TRUE(p.possible);
    EXPECT_LT(p.bucket, 2);
    // When only the draining bucket suffices, it is used without moves.
    auto q = plan_reservation(bs, 9, 2);
    ASSERT_TRUE(q.possible);
    EXPECT_EQ(q.bucket, 3);
    EXPECT_TRUE(q.moves.empty());
}

TEST(PlanReservation, ExhaustiveSmallCasesNeverOversell) {
    // Every combination of 3 buckets with quantity 0..3 and reserved <= quantity.
    for (int q0 = 0; q0 <= 3; ++q0)
        for (int r0 = 0; r0 <= q0; ++r0)
            for (int q1 = 0; q1 <= 3; ++q1)
                for (int r1 = 0; r1 <= q1; ++r1)
                    for (int q2 = 0; q2 <= 3; ++q2)
                        for (int r2 = 0; r2 <= q2; ++r2)
                            for (int want = 1; want <= 9; ++want) {
                                std::vector<Bucket> bs{{0, q0, r0}, {1, q1, r1}, {2, q2, r2}};
                                auto p = plan_reservation(bs, want, 3);
                                ASSERT_EQ(p.possible, total_available(bs) >= want);
                                if (!p.possible) continue;
                                auto after = with_moves(bs, p.moves);
                                for (const auto& b : after) {
                                    ASSERT_GE(b.quantity, b.reserved);
                                    if (b.bucket == p.bucket) {
                                        ASSERT_GE(b.available(), want);
                                    }
                                }
                                ASSERT_EQ(total_available(after), total_available(bs));
                            }
}

TEST(PlanRestock, SpreadsEvenlyOverActiveBuckets) {
    std::vector<Bucket> bs{{0, 0, 0}, {1, 0, 0}, {2, 0, 0}, {5, 4, 4}};
    auto moves = plan_restock(bs, 10, 3);
    ASSERT_EQ(moves.size(), 3u);
    EXPECT_EQ(moves[0], (Move{0, 4}));
    EXPECT_EQ(moves[1], (Move{1, 3}));
    EXPECT_EQ(moves[2], (Move{2, 3}));
}

TEST(PlanRestock, SmallAmountsTouchFewRows) {
    std::vector<Bucket> bs{{0, 0, 0}, {1, 0, 0}, {2, 0, 0}};
    auto moves = plan_restock(bs, 1, 3);
    ASSERT_EQ(moves.size(), 1u);
    EXPECT_EQ(moves[0], (Move{0, 1}));
}

TEST(PlanRestock, RefusesInt32Overflow) {
    std::vector<Bucket> bs{{0, 2147483000, 0}};
    try {
        plan_restock(bs, 1000, 1);
        FAIL() << "expected an error";
    } catch (const casebook::Error& e) {
        EXPECT_EQ(e.state().str(), "22003");
    }
}

// Returned units (a cancelled order) always find room: the even spread of a
// restock when it fits, else every bucket filled to the top, active ones
// first, and the rest spilled for new buckets. It never throws.
TEST(PlanReturn, SpreadsLikeARestockWhenItFits) {
    std::vector<Bucket> bs{{0, 0, 0}, {1, 0, 0}, {2, 0, 0}};
    ReturnPlan p = plan_return(bs, 10, 3);
    EXPECT_EQ(p.moves, plan_restock(bs, 10, 3));
    EXPECT_EQ(p.spill, 0);
}

TEST(PlanReturn, FillsWhereThereIsRoomWhenABucketIsFull) {
    const int64_t max = 2147483647;
    std::vector<Bucket> bs{{0, max, 0}, {1, max - 3, 0}, {7, 10, 0}};
    ReturnPlan p = plan_return(bs, 5, 2);
    ASSERT_EQ(p.moves.size(), 2u);
    EXPECT_EQ(p.moves[0], (Move{1, 3}));  // the active bucket with room first
    EXPECT_EQ(p.moves[1], (Move{7, 2}));  // then the draining one
    EXPECT_EQ(p.spill, 0);
}

TEST(PlanReturn, SpillsWhatFitsNowhere) {
    const int64_t max = 2147483647;
    std::vector<Bucket> bs{{0, max, 5}, {1, max - 1, 0}};
    ReturnPlan p = plan_return(bs, 4, 2);
    ASSERT_EQ(p.moves.size(), 1u);
    EXPECT_EQ(p.moves[0], (Move{1, 1}));
    EXPECT_EQ(p.spill, 3);
    // No bucket ever passes the maximum.
    for (const Move& m : p.moves) {
        for (const Bucket& b : bs) {
            if (b.bucket == m.bucket) {
                EXPECT_LE(b.quantity + m.delta, max);
            }
        }
    }
}

TEST(PlanBuckets, SpreadsAvailableAndKeepsReserved) {
    std::vector<Bucket> bs{{0, 10, 3}};
    auto t = plan_buckets(bs, 4);  // 7 available over 4 buckets: 2,2,2,1
    ASSERT_EQ(t.size(), 4u);
    EXPECT_EQ(t[0], (BucketTarget{0, 3 + 2, 3, true, true}));
    EXPECT_EQ(t[1], (BucketTarget{1, 2, 0, false, true}));
    EXPECT_EQ(t[2], (BucketTarget{2, 2, 0, false, true}));
    EXPECT_EQ(t[3], (BucketTarget{3, 1, 0, false, true}));
}

TEST(PlanBuckets, ShrinkingDrainsOrDropsHighBuckets) {
    std::vector<Bucket> bs{{0, 2, 0}, {1, 2, 1}, {2, 2, 2}, {3, 2, 0}};
    auto t = plan_buckets(bs, 2);  // available 2+1+0+2 = 5
    int64_t avail = 0;
    for (const auto& x : t) {
        if (x.keep) {
            avail += x.quantity - x.reserved;
        }
        if (x.bucket >= 2) {
            EXPECT_EQ(x.quantity, x.reserved);
            EXPECT_EQ(x.keep, x.reserved > 0);
        }
    }
    EXPECT_EQ(avail, 5);
    // Bucket 2 keeps its two reserved units (a hold points at it); bucket 3 goes.
    ASSERT_EQ(t.size(), 4u);
    EXPECT_TRUE(t[2].keep);
    EXPECT_FALSE(t[3].keep);
}

TEST(NormalizeCart, SortsAndMerges) {
    auto lines = normalize_cart({9, 3, 9, 1}, {1, 2, 4, 1});
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], (CartLine{1, 1}));
    EXPECT_EQ(lines[1], (CartLine{3, 2}));
    EXPECT_EQ(lines[2], (CartLine{9, 5}));
}

TEST(NormalizeCart, RejectsBadInput) {
    auto code = [](auto&& fn) {
        try {
            fn();
        } catch (const casebook::Error& e) {
            return std::string(e.state().str());
        }
        return std::string("none");
    };
    EXPECT_EQ(code([] { normalize_cart({}, {}); }), "22023");
    EXPECT_EQ(code([] { normalize_cart({1, 2}, {1}); }), "22023");
    EXPECT_EQ(code([] { normalize_cart({1}, {0}); }), "22023");
    EXPECT_EQ(code([] { normalize_cart({1}, {-3}); }), "22023");
    EXPECT_EQ(code([] { normalize_cart({1, 1}, {2147483647, 1}); }), "22003");
    EXPECT_EQ(code([] { normalize_cart(std::vector<int64_t>(1001, 1), std::vector<int64_t>(1001, 1)); }),
              "22023");
}

TEST(OrderStatus, ParsesKnownNamesOnly) {
    EXPECT_EQ(parse_order_status("paid"), OrderStatus::paid);
    EXPECT_FALSE(parse_order_status("PAID").has_value());
    EXPECT_FALSE(parse_order_status("refunded").has_value());
    EXPECT_EQ(order_status_name(OrderStatus::cancelled), "cancelled");
}

TEST(OrderStatus, OnlyAllowedEdges) {
    using S = OrderStatus;
    const S all[] = {S::pending, S::paid, S::shipped, S::delivered, S::cancelled};
    int allowed = 0;
    for (S from : all)
        for (S to : all)
            if (transition_allowed(from, to)) ++allowed;
    EXPECT_EQ(allowed, 5);
    EXPECT_TRUE(transition_allowed(S::pending, S::paid));
    EXPECT_TRUE(transition_allowed(S::paid, S::shipped));
    EXPECT_TRUE(transition_allowed(S::shipped, S::delivered));
    EXPECT_TRUE(transition_allowed(S::pending, S::cancelled));
    EXPECT_TRUE(transition_allowed(S::paid, S::cancelled));
    EXPECT_FALSE(transition_allowed(S::shipped, S::cancelled));
    EXPECT_FALSE(transition_allowed(S::delivered, S::pending));
    EXPECT_FALSE(transition_allowed(S::cancelled, S::pending));
    EXPECT_FALSE(transition_allowed(S::pending, S::pending));
}
