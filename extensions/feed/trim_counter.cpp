// feed: when a timeline is due for its trim (see trim_counter.hpp).
#include "trim_counter.hpp"

namespace casebook::feed {

std::size_t trim_set_of(uint32_t db, int64_t user, std::size_t nsets) {
    // splitmix64 finalizer over both: consecutive user ids spread evenly.
    uint64_t x = static_cast<uint64_t>(user) ^ (static_cast<uint64_t>(db) << 32 | db);
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return static_cast<std::size_t>(x & (nsets - 1));
}

bool trim_due(TrimSet& set, uint32_t db, int64_t user, uint32_t every) {
    for (TrimWay& w : set.way) {
        if (w.db != db || w.user != user) continue;
        if (++w.since >= every) {
            w.since = 0;
            return true;
        }
        return false;
    }
    // Not tracked: trim now and track from here. The way taken is a free one,
    // else the one closest to its own trim (forgetting it brings that trim
    // forward the least).
    TrimWay* victim = &set.way[0];
    for (TrimWay& w : set.way) {
        if (w.db == 0) {
            victim = &w;
            break;
        }
        if (w.since > victim->since) victim = &w;
    }
    *victim = TrimWay{db, 0, user};
    return true;
}

void trim_force(TrimSet& set, uint32_t db, int64_t user, uint32_t every) {
    for (TrimWay& w : set.way)
        if (w.db == db && w.user == user) {
            w.since = every == 0 ? 0 : every - 1;
            return;
        }
}

int64_t trim_since(const TrimSet& set, uint32_t db, int64_t user) {
    for (const TrimWay& w : set.way)
        if (w.db == db && w.user == user) return w.since;
    return -1;
}

}  // namespace casebook::feed
