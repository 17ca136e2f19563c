// eventstore: the direct write path (see event_writer.hpp).
#include "event_writer.hpp"

#include "event_scan.hpp"

#include "catalog_cache.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "direct_insert.hpp"
#include "errcodes.hpp"
#include "layout.hpp"
#include "relation.hpp"
#include "tables.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace casebook::eventstore {
namespace {

// Consecutive rows bound for one leaf (the whole batch when unpartitioned).
struct Chunk {
    Oid heap;
    int from;
    int count;
};

struct WriteArgs {
    const EventRows* rows;
    const EventsTable* table;
    const Chunk* chunks;
    int nchunks;
    uint64_t generation;  // of the catalog cache the table was resolved at
};

struct ChunkFill {
    const EventRows* rows;
    const EventsTable* table;
    int from;
};

void fill_event(void* arg, int k, Datum* values, bool* isnull) {
    const auto* c = static_cast<const ChunkFill*>(arg);
    const EventRows* r = c->rows;
    const int* att = c->table->att;
    int i = c->from + k;
    auto put = [&](int a, Datum v) {
        values[a - 1] = v;
        isnull[a - 1] = false;
    };
    put(att[0], Int64GetDatum(r->first_position + i));
    put(att[1], r->stream);
    put(att[2], Int64GetDatum(r->first_version + i));
    put(att[3], r->ids[i]);
    put(att[4], r->types[i]);
    put(att[5], r->schema_versions[i]);
    put(att[6], r->data[i]);
    if (r->personal[i] != 0) put(att[7], r->personal[i]);
    put(att[8], r->metadata[i]);
    put(att[9], TimestampTzGetDatum(r->created_at));
    put(att[10], r->category);
}

void write_chunk(const EventRows* r, const EventsTable* t, Relation rel, int from, int count) {
    ChunkFill c{r, t, from};
    pg::insert_rows(rel, count, fill_event, &c);
}

// Plain C under one guard.
bool write(const WriteArgs* w) {
    const EventsTable* t = w->table;
    Relation parent = pg::open_table(t->heap, RowExclusiveLock, "eventstore.events");
    // What the executor would check first (25006 in a read-only transaction
    // or on a standby, 42501 without INSERT privilege).
    pg::check_insert_allowed(parent);
    // Only on the layout the extension created (core/layout.hpp): a column,
    // constraint, index, trigger, rule, policy or publication an owner
    // added sends the append to SQL, which honours it. The values written
    // satisfy the layout's own constraints (NOT NULL, version > 0) by
    // construction.
    // The column numbers and leaves in *t were resolved before the lock was
    // taken: a catalog change since sends this append to SQL too.
    if (catalog::generation_as_is() != w->generation ||
        !pg::layout::matches(parent, t->partitioned ? kPartitionedEventsLayout : kEventsLayout, pg::layout::Use::write)) {
        table_close(parent, RowExclusiveLock);
        return false;
    }
    // Partitions: every leaf is opened and checked before anything is
    // written, so the SQL path can still take over.
    Relation* leaves = static_cast<Relation*>(palloc(sizeof(Relation) * w->nchunks));
    for (int c = 0; c < w->nchunks; c++) {
        leaves[c] = w->chunks[c].heap == t->heap ? parent : pg::open_table(w->chunks[c].heap, RowExclusiveLock, "a partition of eventstore.events");
        if (leaves[c] != parent && !pg::layout::matches(leaves[c], kEventsPartitionLayout, pg::layout::Use::write)) {
            for (int k = 0; k <= c; k++)
                if (leaves[k] != parent) table_close(leaves[k], RowExclusiveLock);
            table_close(parent, RowExclusiveLock);
            return false;
        }
    }
    for (int c = 0; c < w->nchunks; c++) write_chunk(w->rows, t, leaves[c], w->chunks[c].from, w->chunks[c].count);
    // Keep the locks to the end of the transaction, as the executor does.
    for (int c = 0; c < w->nchunks; c++)
        if (leaves[c] != parent) table_close(leaves[c], NoLock);
    table_close(parent, NoLock);
    pfree(leaves);
    return true;
}

}  // namespace

bool write_events(const EventRows& rows) {
    // events_table() takes in pending invalidations before it answers; the
    // counter read after it is the one the answer is valid for.
    const EventsTable& t = events_table();
    uint64_t generation = catalog::generation_as_is();
    // Route each row by its position; the SQL path would route the same way
    // through the parent. A position no partition holds fails the append
    // before anything is written.
    std::vector<Chunk> chunks;
    for (int i = 0; i < rows.count;) {
        int64_t position = rows.first_position + i;
        const EventsLeaf* leaf = t.leaf_for(position);
        if (leaf == nullptr)
            throw Error(errcodes::partition_missing,
                        "no partition of eventstore.events holds position " + std::to_string(position),
                        "This append was given positions " + std::to_string(rows.first_position) + " to " +
                            std::to_string(rows.first_position + rows.count - 1) + "; nothing was stored.",
                        "Run SELECT eventstore.manage_partitions() (scheduled every 10 minutes when pg_cron is "
                        "installed), or give it a larger premake.");
        int64_t room = leaf->hi - position;  // hi > position
        int n = static_cast<int>(std::min<int64_t>(room, rows.count - i));
        chunks.push_back(Chunk{leaf->heap, i, n});
        i += n;
    }
    WriteArgs w{&rows, &t, chunks.data(), static_cast<int>(chunks.size()), generation};
    const WriteArgs* wp = &w;
    return pg::guard([&] { return write(wp); });
}

}  // namespace casebook::eventstore
