// feed: when a timeline is due for its trim, as pure logic over plain memory.
//
// Every delivery into a timeline counts for its user; the delivery that
// finds kTrimEvery - 1 deliveries since the user's last trim trims the
// timeline back to feed.timeline_max. So once the deliveries have
// committed, no timeline holds more than timeline_max + kTrimEvery - 1
// entries, whatever the ids of the posts it receives (docs/feed.md,
// "Trimming and inactive users").
//
// The counts live in a set-associative table in shared memory: a user's
// count sits in one of kTrimWays ways of the set its (database, user) hashes
// to. A table that is full forgets a count (the way closest to its trim);
// a user whose count is not found is trimmed at once, so a forgotten count
// (or a restart, which empties the table) only brings a trim forward, never
// delays one.
//
// No PostgreSQL dependency, so it is unit-tested on its own
// (test/unit/feed_trim_test.cpp). The caller (trim_schedule.cpp) holds the
// set's lock around each call.
#pragma once

#include <cstddef>
#include <cstdint>

namespace casebook::feed {

constexpr int kTrimWays = 4;

struct TrimWay {
    uint32_t db;     // database OID, 0 = free
    uint32_t since;  // deliveries since this user's last trim
    int64_t user;
};

struct TrimSet {
    TrimWay way[kTrimWays];
};

// The set of (db, user) among nsets (a power of two).
std::size_t trim_set_of(uint32_t db, int64_t user, std::size_t nsets);

// Counts a delivery to (db, user); true when this delivery must trim the
// timeline (every-th delivery since the last trim, or the user's count was
// not found). every <= 1: always true.
bool trim_due(TrimSet& set, uint32_t db, int64_t user, uint32_t every);

// A trim of (db, user) was undone (its transaction or subtransaction
// rolled back): the user's next delivery trims.
void trim_force(TrimSet& set, uint32_t db, int64_t user, uint32_t every);

// The user's deliveries since the last trim, or -1 when not tracked.
int64_t trim_since(const TrimSet& set, uint32_t db, int64_t user);

}  // namespace casebook::feed
