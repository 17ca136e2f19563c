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

struct DbCounter {
    uint32_t db;         // database OID, 0 = free entry
    uint32_t ready;      // 1 once `next` was loaded from the events table
    int64_t next;        // next position to hand out
};

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

    enum class Alloc { ok, needs_load };
    // Takes n positions for the transaction in `slot`; first = the first one.
    // needs_load: the database's counter is not loaded (call load()).
    Alloc allocate(uint32_t db, uint32_t slot, int64_t n, int64_t* first);

    // Installs db's counter at next = max_position + 1, where max_position
    // was read from the events table after `epoch` = evictions was read.
    // No-op if another backend loaded it meanwhile. Evicts a counter with no
    // in-flight transaction when the table is full.
    //   ok: loaded (or already loaded)
    //   stale: a counter was dropped since `epoch`; max_position may predate
    //          events of that database: read it again
    //   full: every counter has a transaction in flight
    enum class Load { ok, stale, full };
    Load load(uint32_t db, int64_t max_position, uint64_t epoch);

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
