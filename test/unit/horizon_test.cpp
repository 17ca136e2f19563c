// Unit tests: the gap-free global order (extensions/eventstore/horizon.hpp).
// A randomized simulation interleaves appenders that commit or abort out of
// position order with readers that follow the horizon protocol, and checks
// that no reader ever passes a committed event it did not return. The same
// simulation with a reader that ignores in-flight transactions must find a
// miss, so the check can fail.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <vector>

#include "horizon.hpp"

using namespace casebook::eventstore;

namespace {

struct Table {
    std::vector<unsigned char> memory;
    HorizonTable* t;
    Table(uint32_t ndb, uint32_t nslots) : memory(HorizonTable::bytes(ndb, nslots) + 16) {
        void* aligned = memory.data() + (8 - reinterpret_cast<uintptr_t>(memory.data()) % 8) % 8;
        t = HorizonTable::init(aligned, ndb, nslots);
    }
};

enum class State { in_flight, committed, aborted };

// Runs one simulation; returns the number of misses (a reader passed a
// committed event without returning it). honest = follow the horizon.
int simulate(uint32_t seed, bool honest) {
    constexpr uint32_t kDb = 5, kSlots = 6;
    Table tab(4, kSlots);
    EXPECT_EQ(tab.t->load(kDb, 0, tab.t->evictions), HorizonTable::Load::ok);
    std::mt19937 rng(seed);
    std::map<int64_t, State> events;             // position -> state
    std::vector<std::vector<int64_t>> owned(kSlots);  // positions per in-flight slot
    int64_t reader_cursor = 0;
    std::set<int64_t> returned;
    int misses = 0;

    auto read = [&] {
        int64_t h = honest ? tab.t->horizon(kDb) : tab.t->find(kDb)->next;
        // Snapshot after the horizon: committed events below h, after the cursor.
        for (auto& [pos, st] : events) {
            if (pos <= reader_cursor || pos >= h) continue;
            if (st == State::committed) {
                returned.insert(pos);
                reader_cursor = pos;
            }
        }
        // A committed event at or below the cursor that was never returned
        // is lost for good.
        for (auto& [pos, st] : events)
            if (st == State::committed && pos <= reader_cursor && !returned.count(pos)) {
                ++misses;
                returned.insert(pos);  // count each miss once
            }
    };

    for (int step = 0; step < 4000; ++step) {
        uint32_t slot = rng() % kSlots;
        switch (rng() % 4) {
            case 0:
            case 1: {  // append 1..3 events (begins a transaction if idle)
                int64_t first = 0;
                int64_t n = 1 + rng() % 3;
                EXPECT_EQ(tab.t->allocate(kDb, slot, n, &first), HorizonTable::Alloc::ok);
                for (int64_t p = first; p < first + n; ++p) {
                    events[p] = State::in_flight;
                    owned[slot].push_back(p);
                }
                break;
            }
            case 2: {  // commit or abort; visible first, slot released after
                State end = rng() % 5 == 0 ? State::aborted : State::committed;
                for (int64_t p : owned[slot]) events[p] = end;
                owned[slot].clear();
                tab.t->release(slot);
                break;
            }
            default:
                read();
        }
    }
    for (uint32_t s = 0; s < kSlots; ++s) {
        for (int64_t p : owned[s]) events[p] = State::committed;
        owned[s].clear();
        tab.t->release(s);
    }
    read();
    // At the end every committed event was returned exactly once.
    for (auto& [pos, st] : events)
        if (st == State::committed && !returned.count(pos)) ++misses;
    return misses;
}

}  // namespace

TEST(Horizon, ReadersFollowingTheHorizonNeverMissAnEvent) {
    for (uint32_t seed = 1; seed <= 200; ++seed) EXPECT_EQ(simulate(seed, true), 0) << "seed " << seed;
}

TEST(Horizon, ReadersIgnoringInFlightTransactionsMissEvents) {
    int total = 0;
    for (uint32_t seed = 1; seed <= 50; ++seed) total += simulate(seed, false);
    EXPECT_GT(total, 0);
}

TEST(Horizon, HorizonIsTheLowestInFlightPosition) {
    Table tab(2, 3);
    ASSERT_EQ(tab.t->load(7, 41, tab.t->evictions), HorizonTable::Load::ok);
    EXPECT_EQ(tab.t->horizon(7), 42);
    int64_t a = 0, b = 0, c = 0;
    ASSERT_EQ(tab.t->allocate(7, 0, 2, &a), HorizonTable::Alloc::ok);  // 42, 43
    ASSERT_EQ(tab.t->allocate(7, 1, 1, &b), HorizonTable::Alloc::ok);  // 44
    ASSERT_EQ(tab.t->allocate(7, 0, 1, &c), HorizonTable::Alloc::ok);  // 45, same transaction
    EXPECT_EQ(a, 42);
    EXPECT_EQ(b, 44);
    EXPECT_EQ(c, 45);
    EXPECT_EQ(tab.t->horizon(7), 42);
    tab.t->release(1);
    EXPECT_EQ(tab.t->horizon(7), 42);  // slot 0 still holds 42
    tab.t->release(0);
    EXPECT_EQ(tab.t->horizon(7), 46);
}

TEST(Horizon, DatabasesAreIndependent) {
    Table tab(2, 2);
    ASSERT_EQ(tab.t->load(1, 0, tab.t->evictions), HorizonTable::Load::ok);
    ASSERT_EQ(tab.t->load(2, 100, tab.t->evictions), HorizonTable::Load::ok);
    int64_t p = 0;
    ASSERT_EQ(tab.t->allocate(1, 0, 1, &p), HorizonTable::Alloc::ok);
    EXPECT_EQ(p, 1);
    EXPECT_EQ(tab.t->horizon(1), 1);
    EXPECT_EQ(tab.t->horizon(2), 101);  // unaffected by database 1's transaction
}

TEST(Horizon, UnloadedDatabaseNeedsLoad) {
    Table tab(1, 1);
    int64_t p = 0;
    EXPECT_EQ(tab.t->allocate(9, 0, 1, &p), HorizonTable::Alloc::needs_load);
    EXPECT_EQ(tab.t->horizon(9), 0);
}

TEST(Horizon, EvictionOnlyTakesIdleDatabasesAndMakesOldLoadsStale) {
    Table tab(1, 2);
    uint64_t epoch = tab.t->evictions;
    ASSERT_EQ(tab.t->load(1, 10, epoch), HorizonTable::Load::ok);
    int64_t p = 0;
    ASSERT_EQ(tab.t->allocate(1, 0, 1, &p), HorizonTable::Alloc::ok);
    // Database 1 is in flight: database 2 cannot take its counter.
    EXPECT_EQ(tab.t->load(2, 0, tab.t->evictions), HorizonTable::Load::full);
    tab.t->release(0);
    uint64_t before = tab.t->evictions;
    EXPECT_EQ(tab.t->load(2, 0, before), HorizonTable::Load::ok);  // evicts database 1
    // A max(position) read before that eviction may be older than events
    // database 1 committed: loading it is refused.
    EXPECT_EQ(tab.t->load(1, 10, before), HorizonTable::Load::stale);
}

TEST(Horizon, ForgetRefusesWhileInFlight) {
    Table tab(2, 1);
    ASSERT_EQ(tab.t->load(3, 5, tab.t->evictions), HorizonTable::Load::ok);
    int64_t p = 0;
    ASSERT_EQ(tab.t->allocate(3, 0, 1, &p), HorizonTable::Alloc::ok);
    EXPECT_FALSE(tab.t->forget(3));
    tab.t->release(0);
    EXPECT_TRUE(tab.t->forget(3));
    EXPECT_EQ(tab.t->horizon(3), 0);
}

// The durable reserve (issue: positions reused after a restart). A tracked
// counter hands out nothing above its reserve mark; a reload continues above
// both the highest stored position and the durable mark, so positions handed
// out before a restart (and perhaps rolled back, but named by a checkpoint)
// are never handed out again.
TEST(HorizonReserve, NothingIsHandedOutAboveTheMark) {
    Table tab(2, 2);
    ASSERT_EQ(tab.t->load(1, 0, tab.t->evictions, 0), HorizonTable::Load::ok);
    int64_t first = 0, upto = 0;
    EXPECT_EQ(tab.t->allocate(1, 0, 3, &first, &upto), HorizonTable::Alloc::needs_reserve);
    EXPECT_EQ(upto, 3);
    tab.t->reserved(1, 10);
    ASSERT_EQ(tab.t->allocate(1, 0, 3, &first, &upto), HorizonTable::Alloc::ok);
    EXPECT_EQ(first, 1);
    ASSERT_EQ(tab.t->allocate(1, 1, 7, &first, &upto), HorizonTable::Alloc::ok);
    EXPECT_EQ(first, 4);  // 4..10: exactly up to the mark
    EXPECT_EQ(tab.t->allocate(1, 1, 1, &first, &upto), HorizonTable::Alloc::needs_reserve);
    EXPECT_EQ(upto, 11);
    tab.t->reserved(1, 5);  // a lower mark (a slower extender) changes nothing
    EXPECT_EQ(tab.t->allocate(1, 1, 1, &first, &upto), HorizonTable::Alloc::needs_reserve);
}

TEST(HorizonReserve, ReloadContinuesAboveTheDurableMark) {
    Table tab(1, 2);
    ASSERT_EQ(tab.t->load(1, 0, tab.t->evictions, 0), HorizonTable::Load::ok);
    tab.t->reserved(1, 100);
    int64_t first = 0;
    ASSERT_EQ(tab.t->allocate(1, 0, 50, &first), HorizonTable::Alloc::ok);  // 1..50, rolled back
    tab.t->release(0);
    EXPECT_EQ(tab.t->horizon(1), 51);  // a checkpoint may be set at 50
    // A restart: shared memory is new; the table holds nothing, the mark 100.
    Table again(1, 2);
    ASSERT_EQ(again.t->load(1, 0, again.t->evictions, 100), HorizonTable::Load::ok);
    EXPECT_EQ(again.t->allocate(1, 0, 1, &first), HorizonTable::Alloc::needs_reserve);
    again.t->reserved(1, 200);
    ASSERT_EQ(again.t->allocate(1, 0, 1, &first), HorizonTable::Alloc::ok);
    EXPECT_EQ(first, 101);
    // Stored positions above the mark (a restore, raw inserts) win.
    Table restored(1, 2);
    ASSERT_EQ(restored.t->load(1, 500, restored.t->evictions, 100), HorizonTable::Load::ok);
    restored.t->reserved(1, 600);
    ASSERT_EQ(restored.t->allocate(1, 0, 1, &first), HorizonTable::Alloc::ok);
    EXPECT_EQ(first, 501);
}

TEST(HorizonReserve, UntrackedCountersNeedNoReserve) {
    Table tab(1, 1);
    ASSERT_EQ(tab.t->load(1, 41, tab.t->evictions), HorizonTable::Load::ok);
    int64_t first = 0;
    ASSERT_EQ(tab.t->allocate(1, 0, 1000, &first), HorizonTable::Alloc::ok);
    EXPECT_EQ(first, 42);
    tab.t->reserved(1, 5);  // no effect
    ASSERT_EQ(tab.t->allocate(1, 0, 1, &first), HorizonTable::Alloc::ok);
    EXPECT_EQ(first, 1042);
}

TEST(HorizonReserve, TrackingAnUntrackedCounterStopsItAtWhatWasHandedOut) {
    Table tab(1, 2);
    ASSERT_EQ(tab.t->load(1, 9, tab.t->evictions), HorizonTable::Load::ok);
    int64_t first = 0, upto = 0;
    bool untracked = false;
    ASSERT_EQ(tab.t->allocate(1, 0, 5, &first, &upto, &untracked), HorizonTable::Alloc::ok);
    EXPECT_TRUE(untracked);
    ASSERT_EQ(tab.t->allocate(1, 1, 5, &first, &upto, &untracked), HorizonTable::Alloc::ok);  // 15..19
    EXPECT_EQ(tab.t->track(1), 19);
    EXPECT_EQ(tab.t->allocate(1, 1, 1, &first, &upto, &untracked), HorizonTable::Alloc::needs_reserve);
    EXPECT_FALSE(untracked);
    EXPECT_EQ(upto, 20);
    tab.t->reserved(1, 30);
    ASSERT_EQ(tab.t->allocate(1, 1, 1, &first, &upto, &untracked), HorizonTable::Alloc::ok);
    EXPECT_EQ(first, 20);
    EXPECT_EQ(tab.t->track(1), 20);  // already tracked: unchanged
    EXPECT_EQ(tab.t->track(2), 0);   // not loaded
}

// The stride of the reserve grows while raises come less than a second
// apart, up to kReserveMax, and shrinks back after quiet seconds.
TEST(HorizonReserve, StrideAdaptsToTheRateOfRaises) {
    Table tab(1, 1);
    ASSERT_EQ(tab.t->load(1, 0, tab.t->evictions, 0), HorizonTable::Load::ok);
    int64_t t = 1000000000;
    EXPECT_EQ(tab.t->reserve_target(1, 10, t), 10 + kReserveMin);  // first raise
    EXPECT_EQ(tab.t->reserve_target(1, 10, t + 1000), 10 + 2 * kReserveMin);
    int64_t target = 0;
    for (int i = 0; i < 40; ++i) target = tab.t->reserve_target(1, 10, t + 2000 + i);
    EXPECT_EQ(target, 10 + kReserveMax);  // capped
    EXPECT_EQ(tab.t->reserve_target(1, 10, t + 5000000), 10 + kReserveMax / 2);  // quiet: halved
    for (int i = 1; i < 40; ++i) target = tab.t->reserve_target(1, 10, t + 5000000 + i * 2000000);
    EXPECT_EQ(target, 10 + kReserveMin);  // back to the floor
    EXPECT_EQ(tab.t->reserve_target(2, 10, t), 0);  // not loaded
}
