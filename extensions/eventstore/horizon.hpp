// eventstore: the gap-free global order, as pure logic over plain memory.
//
// Positions are handed out from a per-database counter in shared memory.
// Every backend that took positions in its current transaction has an
// in-flight slot holding the lowest position it took; the slot is cleared
// only after the transaction's commit (or abort) is visible to new
// snapshots. A reader computes the horizon
//
//     H = min(next unallocated position, lowest in-flight position)
//
// under the same lock, and only then takes its snapshot. Every position
// below H belongs to a transaction that has already ended, so a reader that
// returns events below H, in order, can never later find a committed event
// below one it returned. Writers never wait for each other: allocation is a
// few instructions under an exclusive lock; they only hold readers back
// while they are in flight.
//
// This file has no PostgreSQL dependency so the algorithm is unit-tested on
// its own (test/unit/horizon_test.cpp). The caller (global_order.cpp) holds
// the lock around every call and maps backends to slot numbers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace casebook::eventstore {

// A counter's `reserved` when positions are not made durable before they
// are handed out (a database whose schema has no reserve mark yet).
constexpr int64_t kUntracked = INT64_MAX;

struct DbCounter {
    uint32_t db;         // database OID, 0 = free entry
    uint32_t ready;      // 1 once `next` was loaded from the events table
    int64_t next;        // next position to hand out
    int64_t reserved;    // positions up to here are durably reserved (or kUntracked)
    int64_t ahead;       // how far beyond what is asked the next reserve goes
    int64_t extended_at; // when the reserve was last raised (caller's clock, microseconds)
};

// The reserve's stride: from kReserveMin, doubled while raises come less
// than a second apart (many appends, or large ones), up to kReserveMax, and
// halved back after a quiet second. So a raise (one WAL flush) stays rare
// under any load, and a restart skips at most kReserveMax positions.
constexpr int64_t kReserveMin = 4096;
constexpr int64_t kReserveMax = 1 << 20;

struct InflightSlot {
    uint32_t db;           // database of the in-flight transaction, 0 = idle
    int64_t min_position;  // lowest position it took
};

// The shared state: header, then ndb counters, then nslots slots.
struct HorizonTable {
    uint32_t ndb;
    uint32_t nslots;
    uint64_t evictions;  // bumped whenever a loaded counter is dropped
    // followed in memory by DbCounter[ndb] and InflightSlot[nslots]

    static std::size_t bytes(uint32_t ndb, uint32_t nslots);
    // Initializes a zeroed block of bytes(ndb, nslots).
    static HorizonTable* init(void* memory, uint32_t ndb, uint32_t nslots);

    DbCounter* counters();
    InflightSlot* slots();

    // The ready counter of db, or nullptr.
    DbCounter* find(uint32_t db);

    enum class Alloc { ok, needs_load, needs_reserve };
    // Takes n positions for the transaction in `slot`; first = the first one.
    // needs_load: the database's counter is not loaded (call load()).
    // needs_reserve: the positions would pass the durable reserve; *upto
    // (when given) is the last one they need: make a mark at or above it
    // durable, call reserved(), and allocate again.
    // *untracked (when given): the positions were handed out by an untracked
    // counter (see track()).
    Alloc allocate(uint32_t db, uint32_t slot, int64_t n, int64_t* first, int64_t* upto = nullptr,
                   bool* untracked = nullptr);

    // Makes an untracked counter tracked (its database got a reserve mark,
    // by ALTER EXTENSION UPDATE): nothing more is handed out until a mark
    // at or above what was handed out so far is durable and reserved() says
    // so. Returns the last position handed out (0: none, or not loaded).
    int64_t track(uint32_t db);

    // A reserve mark made durable: positions up to `upto` may be handed out.
    // Marks only grow; no-op for a counter not loaded (or untracked).
    void reserved(uint32_t db, int64_t upto);

    // The mark to make durable for positions up to `upto` at time now_us
    // (microseconds): upto plus the counter's stride, which adapts (above).
    // 0 when db's counter is not loaded.
    int64_t reserve_target(uint32_t db, int64_t upto, int64_t now_us);

    // Installs db's counter, where max_position (the highest position in the
    // events table or in a checkpoint) was read after `epoch` = evictions
    // was read, and durable_mark is the durable reserve mark read with it
    // (kUntracked: none). Positions continue above both: next =
    // max(max_position, durable_mark) + 1; a tracked counter has nothing
    // reserved yet. No-op if another backend loaded it meanwhile. Evicts a
    // counter with no in-flight transaction when the table is full.
    //   ok: loaded (or already loaded)
    //   stale: a counter was dropped since `epoch`; max_position may predate
    //          events of that database: read it again
    //   full: every counter has a transaction in flight
    enum class Load { ok, stale, full };
    Load load(uint32_t db, int64_t max_position, uint64_t epoch, int64_t durable_mark = kUntracked);

    // Forgets db's counter if nothing of db is in flight (CREATE EXTENSION
    // in a database that had the extension before): the next use reloads it
    // from the table. False if something is in flight.
    bool forget(uint32_t db);

    // The readable end of db: every position below it is settled. 0 when the
    // counter is not loaded (nothing can be read yet; load it first).
    int64_t horizon(uint32_t db);

    // Ends the transaction in `slot` (commit or abort, after it is visible).
    void release(uint32_t slot);

    // Is something of db in flight?
    bool in_flight(uint32_t db);
};

}  // namespace casebook::eventstore
