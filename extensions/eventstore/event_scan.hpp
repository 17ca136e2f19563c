// eventstore: a native scan of eventstore.events in index order, for
// replays (rebuild). No executor and no tuple copies: each event is read
// from its buffer and handed to the caller before the next one is fetched.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pg_boundary.hpp"

#include "event_record.hpp"

namespace casebook::eventstore {

class EventScan {
public:
    enum class Mode {
        stream,          // one stream, version order (events_stream_version_key)
        category_below,  // one category, position < below, position order
        all_below,       // every event with position < below, position order
    };
    // Opens the scan under a snapshot taken now (after the caller's locks).
    // full = false reads only position..personal (what a reducer needs):
    // metadata, created_at and category are left empty.
    EventScan(Mode mode, const std::string& key, int64_t below, bool full = true);
    EventScan(const EventScan&) = delete;
    EventScan& operator=(const EventScan&) = delete;
    // Resources are owned by the transaction's resource owner: an error
    // unwinding past the scan releases them at abort.
    ~EventScan() = default;

    // The next event, or false at the end. The record's data/metadata point
    // into the current buffer: valid until the next call.
    bool next(EventRecord& out);
    void close();

    struct State;  // palloc'd, plain C (defined in event_scan.cpp)

private:
    State* state_;
};

// One heap of eventstore.events with its indexes: the table itself, or one
// range partition of it. lo..hi is the partition's position range [lo, hi)
// (INT64_MIN..INT64_MAX for an unpartitioned table).
struct EventsLeaf {
    Oid heap;
    Oid pkey;          // (position)
    Oid stream_index;  // (stream_id, version)
    Oid category_index;  // (category, position)
    int64_t lo;
    int64_t hi;
};

// The OIDs of eventstore.events, its indexes and its partitions (in
// position order), and its column numbers, resolved once per backend and
// again after any relcache invalidation (catalog_cache.hpp): DROP and
// CREATE EXTENSION give new OIDs, pg_partman adds partitions. Partitions
// must be plain range partitions on position with the parent's column
// numbers (KB217 otherwise).
struct EventsTable {
    Oid heap;
    bool partitioned;
    std::vector<EventsLeaf> leaves;
    // attribute numbers of position, stream_id, version, event_id,
    // event_type, schema_version, event_data, personal, metadata,
    // created_at, category
    int att[11];
    // The leaf holding this position, or nullptr.
    const EventsLeaf* leaf_for(int64_t position) const;
};
const EventsTable& events_table();

// The last event of a stream (its version and category) through a
// backward probe of events_stream_version_key, when the table is readable
// directly (core/layout.hpp, Use::read; else readable = false). latest = a snapshot taken
// now; otherwise the transaction's (a new one per statement in READ
// COMMITTED, the transaction's own in REPEATABLE READ and SERIALIZABLE).
struct StreamHead {
    bool readable = true;  // false: the table is not as the extension made it; read it with SQL
    bool found = false;
    int64_t version = 0;
    std::string category;
};
StreamHead read_stream_head(const std::string& stream, bool latest);

}  // namespace casebook::eventstore
