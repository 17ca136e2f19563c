// eventstore: the direct write path (see event_writer.hpp).
#include "event_writer.hpp"

#include "event_scan.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "errcodes.hpp"

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

// Anything that must see each inserted row through the executor.
bool needs_executor(Relation rel) {
    if (rel->rd_rules != nullptr || rel->rd_rel->relrowsecurity) return true;
    TriggerDesc* t = rel->trigdesc;
    return t != nullptr && (t->trig_insert_before_row || t->trig_insert_after_row || t->trig_insert_instead_row ||
                            t->trig_insert_before_statement || t->trig_insert_after_statement ||
                            t->trig_insert_new_table);
}

// The values written are NOT NULL where declared and version > 0 by
// construction, so the table's own CHECK need not be compiled and run for
// every append; any constraint the owner added is checked as usual.
bool has_foreign_checks(Relation rel) {
    TupleConstr* constr = rel->rd_att->constr;
    if (constr == nullptr) return false;
    for (int i = 0; i < constr->num_check; i++)
        if (std::strcmp(constr->check[i].ccname, "events_version_check") != 0) return true;
    return false;
}


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
};

void write_chunk(const EventRows* r, const EventsTable* t, Relation rel, int from, int count) {
    TupleDesc desc = RelationGetDescr(rel);
    const int a_position = t->att[0], a_stream = t->att[1], a_version = t->att[2], a_id = t->att[3],
              a_type = t->att[4], a_sv = t->att[5], a_data = t->att[6], a_personal = t->att[7],
              a_meta = t->att[8], a_created = t->att[9], a_category = t->att[10];

    EState* estate = CreateExecutorState();
    estate->es_output_cid = GetCurrentCommandId(true);
    ResultRelInfo* rri = makeNode(ResultRelInfo);
    InitResultRelInfo(rri, rel, 1, nullptr, 0);
    ExecOpenIndices(rri, false);

    bool check_constraints = has_foreign_checks(rel);
    TupleTableSlot** slots = static_cast<TupleTableSlot**>(palloc(sizeof(TupleTableSlot*) * count));
    for (int k = 0; k < count; k++) {
        int i = from + k;
        TupleTableSlot* s = ExecInitExtraTupleSlot(estate, desc, table_slot_callbacks(rel));
        ExecClearTuple(s);
        for (int a = 0; a < desc->natts; a++) s->tts_isnull[a] = true;  // dropped columns stay NULL
        auto put = [&](int att, Datum v) {
            s->tts_values[att - 1] = v;
            s->tts_isnull[att - 1] = false;
        };
        put(a_position, Int64GetDatum(r->first_position + i));
        put(a_stream, r->stream);
        put(a_version, Int64GetDatum(r->first_version + i));
        put(a_id, r->ids[i]);
        put(a_type, r->types[i]);
        put(a_sv, r->schema_versions[i]);
        put(a_data, r->data[i]);
        if (r->personal[i] != 0) put(a_personal, r->personal[i]);
        put(a_meta, r->metadata[i]);
        put(a_created, TimestampTzGetDatum(r->created_at));
        put(a_category, r->category);
        ExecStoreVirtualTuple(s);
        if (check_constraints) ExecConstraints(rri, s, estate);
        slots[k] = s;
    }
    BulkInsertState bistate = GetBulkInsertState();
    table_multi_insert(rel, slots, count, estate->es_output_cid, 0, bistate);
    FreeBulkInsertState(bistate);
    for (int k = 0; k < count; k++) {
        List* recheck = ExecInsertIndexTuples(rri, slots[k], estate, false, false, nullptr, NIL);
        list_free(recheck);
    }
    ExecCloseIndices(rri);
    ExecResetTupleTable(estate->es_tupleTable, false);
    FreeExecutorState(estate);
    pfree(slots);
}

// Plain C under one guard.
bool write(const WriteArgs* w) {
    // What the executor would check first (25006 in a read-only transaction
    // or on a standby).
    PreventCommandIfReadOnly("INSERT");
    PreventCommandIfParallelMode("INSERT");
    const EventsTable* t = w->table;
    Relation parent = table_open(t->heap, RowExclusiveLock);
    if (needs_executor(parent)) {
        table_close(parent, RowExclusiveLock);
        return false;
    }
    // Partitions: every leaf is opened and checked before anything is
    // written, so the SQL path can still take over.
    Relation* leaves = static_cast<Relation*>(palloc(sizeof(Relation) * w->nchunks));
    for (int c = 0; c < w->nchunks; c++) {
        leaves[c] = w->chunks[c].heap == t->heap ? parent : table_open(w->chunks[c].heap, RowExclusiveLock);
        if (leaves[c] != parent && needs_executor(leaves[c])) {
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
    CommandCounterIncrement();  // later statements of this call see the rows
    return true;
}

}  // namespace

bool write_events(const EventRows& rows) {
    const EventsTable& t = events_table();
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
    WriteArgs w{&rows, &t, chunks.data(), static_cast<int>(chunks.size())};
    const WriteArgs* wp = &w;
    return pg::guard([&] { return write(wp); });
}

}  // namespace casebook::eventstore
