// Unit tests: when a timeline is due for its trim (extensions/feed/trim_counter.hpp).
// A simulation delivers posts into timelines (a count of entries per user,
// cut back to `keep` by a trim) and checks the bound keep + kEvery - 1 after
// every delivery: for adversarial and random id patterns, with a table so
// small that counts are forgotten all the time, and with transactions that
// roll back their deliveries and trims. The old rule (trim when
// (user + post) % 32 = 0) and a rollback that does not force the next trim
// must break the same check, so it can fail.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "trim_counter.hpp"

using namespace casebook::feed;

namespace {

constexpr uint32_t kEvery = 32;
constexpr int64_t kKeep = 40;

struct Sim {
    std::vector<TrimSet> sets;
    std::map<int64_t, int64_t> entries;  // committed entries per user
    int64_t worst = 0;
    explicit Sim(std::size_t nsets) : sets(nsets) {}

    bool due(uint32_t db, int64_t user) {
        return trim_due(sets[trim_set_of(db, user, sets.size())], db, user, kEvery);
    }
    void force(uint32_t db, int64_t user) { trim_force(sets[trim_set_of(db, user, sets.size())], db, user, kEvery); }
    // A committed delivery; the trim runs after the row is in.
    void deliver(int64_t user, bool trim) {
        int64_t& n = entries[user];
        ++n;
        if (trim && n > kKeep) n = kKeep;
        worst = std::max(worst, n);
    }
};

}  // namespace

TEST(FeedTrim, DueEveryThirtySecondDeliveryAndAtOnceWhenUntracked) {
    std::vector<TrimSet> sets(1);
    EXPECT_EQ(trim_since(sets[0], 7, 42), -1);
    EXPECT_TRUE(trim_due(sets[0], 7, 42, kEvery));  // untracked: trims now
    EXPECT_EQ(trim_since(sets[0], 7, 42), 0);
    for (uint32_t i = 1; i < kEvery; i++) EXPECT_FALSE(trim_due(sets[0], 7, 42, kEvery)) << i;
    EXPECT_EQ(trim_since(sets[0], 7, 42), kEvery - 1);
    EXPECT_TRUE(trim_due(sets[0], 7, 42, kEvery));
    EXPECT_EQ(trim_since(sets[0], 7, 42), 0);
    // The same user id in another database is another timeline.
    EXPECT_EQ(trim_since(sets[0], 8, 42), -1);
    EXPECT_TRUE(trim_due(sets[0], 8, 42, kEvery));
    EXPECT_FALSE(trim_due(sets[0], 7, 42, kEvery));
    // every <= 1: each delivery trims.
    EXPECT_TRUE(trim_due(sets[0], 9, 1, 1));
    EXPECT_TRUE(trim_due(sets[0], 9, 1, 1));
}

TEST(FeedTrim, ForceMakesTheNextDeliveryTrim) {
    std::vector<TrimSet> sets(1);
    ASSERT_TRUE(trim_due(sets[0], 3, 5, kEvery));
    ASSERT_FALSE(trim_due(sets[0], 3, 5, kEvery));
    trim_force(sets[0], 3, 5, kEvery);
    EXPECT_TRUE(trim_due(sets[0], 3, 5, kEvery));
    trim_force(sets[0], 3, 6, kEvery);  // untracked: nothing to do (its next delivery trims anyway)
    EXPECT_EQ(trim_since(sets[0], 3, 6), -1);
}

TEST(FeedTrim, FullSetForgetsTheCountClosestToItsTrim) {
    std::vector<TrimSet> sets(1);
    for (int64_t u = 1; u <= kTrimWays; u++) ASSERT_TRUE(trim_due(sets[0], 1, u, kEvery));
    for (int i = 0; i < 10; i++) ASSERT_FALSE(trim_due(sets[0], 1, 3, kEvery));
    ASSERT_FALSE(trim_due(sets[0], 1, 2, kEvery));
    EXPECT_TRUE(trim_due(sets[0], 1, 99, kEvery));  // takes user 3's way
    EXPECT_EQ(trim_since(sets[0], 1, 3), -1);
    EXPECT_EQ(trim_since(sets[0], 1, 2), 1);
    EXPECT_TRUE(trim_due(sets[0], 1, 3, kEvery));   // forgotten: trims at once
}

// The pattern that defeated the old rule: the follower's author only posts
// ids that miss its residue, another author takes the ids that hit it.
TEST(FeedTrim, AdversarialIdsStayWithinTheBound) {
    const int64_t follower = 1000;
    Sim counted(64);
    Sim by_ids(64);
    for (int64_t post = 1; post <= 5000; post++) {
        if ((follower + post) % 32 == 0) continue;  // posted by an author the follower does not follow
        counted.deliver(follower, counted.due(1, follower));
        by_ids.deliver(follower, (follower + post) % 32 == 0);
    }
    EXPECT_LE(counted.worst, kKeep + kEvery - 1);
    EXPECT_EQ(counted.worst, kKeep + kEvery - 1);  // and the bound is reached: it is tight
    EXPECT_GT(by_ids.worst, kKeep + kEvery - 1);   // the old rule never trims this follower
}

// Random deliveries to many users through a table far too small for them
// (counts forgotten all the time), with transactions that roll back and
// force the next trim of every user whose trim they undid.
TEST(FeedTrim, RandomWorkloadWithForgettingAndRollbacks) {
    for (uint32_t seed = 1; seed <= 20; seed++) {
        std::mt19937 rng(seed);
        Sim sim(4);  // 16 ways for 600 users of two databases
        std::uniform_int_distribution<int64_t> pick(1, 300);
        std::bernoulli_distribution rolls_back(0.1);
        for (int tx = 0; tx < 3000; tx++) {
            std::vector<int64_t> users;
            for (int k = 0; k < 20; k++) users.push_back(pick(rng));
            std::sort(users.begin(), users.end());
            users.erase(std::unique(users.begin(), users.end()), users.end());
            uint32_t db = 1 + (tx % 2);  // two databases share the table
            std::vector<std::pair<int64_t, bool>> done;
            for (int64_t u : users) done.emplace_back(u * 2 + db, sim.due(db, u * 2 + db));
            if (rolls_back(rng)) {  // neither the rows nor the trims happened
                for (auto& [u, trimmed] : done)
                    if (trimmed) sim.force(db, u);
                continue;
            }
            for (auto& [u, trimmed] : done) sim.deliver(u, trimmed);
        }
        EXPECT_LE(sim.worst, kKeep + kEvery - 1) << "seed " << seed;
    }
}

// Every transaction that would trim rolls back: forced, the next delivery
// trims; not forced, the timeline grows without bound.
TEST(FeedTrim, RollbackWithoutForceBreaksTheBound) {
    for (bool force : {true, false}) {
        Sim sim(1024);
        int trims = 0;
        for (int i = 0; i < 400; i++) {
            bool trimmed = sim.due(1, 7);
            if (trimmed && ++trims % 2 == 0) {  // every other trimming transaction rolls back
                if (force) sim.force(1, 7);
                continue;
            }
            sim.deliver(7, trimmed);
        }
        if (force) {
            EXPECT_LE(sim.worst, kKeep + kEvery - 1);
        } else {
            EXPECT_GT(sim.worst, kKeep + kEvery - 1);
        }
    }
}
