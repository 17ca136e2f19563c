// eventstore: native index scans of the events table (see event_scan.hpp).
#include "event_scan.hpp"

#include "catalog_cache.hpp"
#include "errcodes.hpp"
#include "global_order.hpp"
#include "layout.hpp"
#include "relation.hpp"
#include "store.hpp"
#include "tables.hpp"

#include <algorithm>
#include <climits>
#include <cstring>

extern "C" {
#include "access/genam.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "executor/tuptable.h"
#include "nodes/parsenodes.h"
#include "nodes/primnodes.h"
#include "partitioning/partdesc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace casebook::eventstore {

namespace {

// Table columns (attribute numbers - 1): position 0, stream_id 1, version 2,
// event_id 3, event_type 4, schema_version 5, event_data 6, personal 7,
// metadata 8, created_at 9, category 10.
constexpr int kTableColumns = 11;
constexpr int kPartialColumns = 8;  // through personal
const char* const kColumnNames[kTableColumns] = {"position",   "stream_id",      "version",    "event_id",
                                                 "event_type", "schema_version", "event_data", "personal",
                                                 "metadata",   "created_at",     "category"};

// What resolve_events_table finds, in plain C memory (palloc'd leaves).
struct Resolved {
    Oid heap;
    bool partitioned;
    int nleaves;
    EventsLeaf* leaves;
    int att[kTableColumns];
};

void layout_error(const char* detail, Oid rel) {
    const char* name = get_rel_name(rel);
    ereport(ERROR, (errcode(MAKE_SQLSTATE('K', 'B', '2', '1', '7')),
                    errmsg("eventstore.events has a partition layout the store cannot use"),
                    errdetail("%s: %s.", name ? name : "?", detail),
                    errhint("Partitions must be range partitions on position created with PARTITION OF "
                            "(eventstore.manage_partitions() makes them); see docs/eventstore.md, Storage.")));
}

int64_t bound_value(Node* n) {
    auto* d = castNode(PartitionRangeDatum, n);
    if (d->kind == PARTITION_RANGE_DATUM_MINVALUE) return INT64_MIN;
    if (d->kind == PARTITION_RANGE_DATUM_MAXVALUE) return INT64_MAX;
    return DatumGetInt64(castNode(Const, d->value)->constvalue);
}

// Reads take values by attribute number: the table (or partition) must
// still have the extension's columns first, with their types, its indexes,
// and no row security (core/layout.hpp, Use::read).
void check_readable(Relation rel, const char* expected) {
    const char* why = nullptr;
    if (pg::layout::matches(rel, expected, pg::layout::Use::read, &why)) return;
    ereport(ERROR, (errcode(MAKE_SQLSTATE('K', 'B', '2', '1', '8')),
                    errmsg("eventstore.events was changed so that its events cannot be replayed natively"),
                    errdetail("%s: %s.", RelationGetRelationName(rel), why),
                    errhint("Columns, indexes, constraints and triggers may be added; the extension's columns, "
                            "their types and its indexes must stay, and row security must stay off "
                            "(docs/eventstore.md, Storage).")));
}

Oid leaf_index(Relation leaf, Oid parent_index, Oid leaf_oid) {
    Oid idx = index_get_partition(leaf, parent_index);
    if (!OidIsValid(idx)) layout_error("a partition lacks one of the parent's indexes", leaf_oid);
    return idx;
}

void resolve_events_table(Resolved* t) {
    Oid ns = get_namespace_oid("eventstore", false);
    t->heap = get_relname_relid("events", ns);
    Oid pkey = get_relname_relid("events_pkey", ns);
    Oid stream_index = get_relname_relid("events_stream_version_key", ns);
    Oid category_index = get_relname_relid("events_category_position_idx", ns);
    if (!OidIsValid(t->heap) || !OidIsValid(pkey) || !OidIsValid(stream_index) || !OidIsValid(category_index))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("eventstore.events or one of its indexes is missing")));
    for (int i = 0; i < kTableColumns; ++i) {
        t->att[i] = get_attnum(t->heap, kColumnNames[i]);
        if (t->att[i] == InvalidAttrNumber)
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                            errmsg("eventstore.events has no column \"%s\"", kColumnNames[i])));
    }
    Relation rel = pg::open_table(t->heap, AccessShareLock, "eventstore.events");
    t->partitioned = rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE;
    if (!t->partitioned) {
        t->nleaves = 1;
        t->leaves = static_cast<EventsLeaf*>(palloc(sizeof(EventsLeaf)));
        t->leaves[0] = EventsLeaf{t->heap, pkey, stream_index, category_index, INT64_MIN, INT64_MAX};
        table_close(rel, AccessShareLock);
        return;
    }
    PartitionKey key = RelationGetPartitionKey(rel);
    if (key->strategy != PARTITION_STRATEGY_RANGE || key->partnatts != 1 || key->partattrs[0] != t->att[0])
        layout_error("it is not partitioned by RANGE (position)", t->heap);
    PartitionDesc pd = RelationGetPartitionDesc(rel, true);
    int parent_natts = RelationGetDescr(rel)->natts;
    t->nleaves = 0;
    t->leaves = static_cast<EventsLeaf*>(palloc(sizeof(EventsLeaf) * (pd->nparts > 0 ? pd->nparts : 1)));
    for (int i = 0; i < pd->nparts; ++i) {
        Oid child = pd->oids[i];
        if (!pd->is_leaf[i]) layout_error("a partition is itself partitioned", child);
        HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(child));
        if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for relation %u", child);
        bool isnull;
        Datum d = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relpartbound, &isnull);
        if (isnull) {
            ReleaseSysCache(tup);
            layout_error("a partition has no bound", child);
        }
        auto* spec = castNode(PartitionBoundSpec, stringToNode(TextDatumGetCString(d)));
        ReleaseSysCache(tup);
        if (spec->is_default)
            layout_error("a default partition would hold events outside their range; drop it "
                         "(manage_partitions() drops an empty one)",
                         child);
        Relation leaf = pg::open_table(child, AccessShareLock, "a partition of eventstore.events");
        bool same = RelationGetDescr(leaf)->natts == parent_natts;
        for (int c = 0; same && c < kTableColumns; ++c) same = get_attnum(child, kColumnNames[c]) == t->att[c];
        if (!same) layout_error("a partition's columns are not the parent's, in the parent's order", child);
        EventsLeaf& l = t->leaves[t->nleaves++];
        l.heap = child;
        l.pkey = leaf_index(leaf, pkey, child);
        l.stream_index = leaf_index(leaf, stream_index, child);
        l.category_index = leaf_index(leaf, category_index, child);
        l.lo = bound_value(static_cast<Node*>(linitial(spec->lowerdatums)));
        l.hi = bound_value(static_cast<Node*>(linitial(spec->upperdatums)));
        table_close(leaf, AccessShareLock);
    }
    table_close(rel, AccessShareLock);
}

}  // namespace

const EventsLeaf* EventsTable::leaf_for(int64_t position) const {
    // The last leaf starting at or below position.
    auto it = std::upper_bound(leaves.begin(), leaves.end(), position,
                               [](int64_t p, const EventsLeaf& l) { return p < l.lo; });
    if (it == leaves.begin()) return nullptr;
    --it;
    return position < it->hi ? &*it : nullptr;
}

const EventsTable& events_table() {
    static EventsTable cached{};
    static uint64_t generation = 0;
    uint64_t gen = catalog::generation();
    if (gen != generation || !OidIsValid(cached.heap)) {
        Resolved r{};
        Resolved* rp = &r;
        pg::guard([&] { resolve_events_table(rp); });
        EventsTable fresh{};
        fresh.heap = r.heap;
        fresh.partitioned = r.partitioned;
        fresh.leaves.assign(r.leaves, r.leaves + r.nleaves);
        std::sort(fresh.leaves.begin(), fresh.leaves.end(),
                  [](const EventsLeaf& a, const EventsLeaf& b) { return a.lo < b.lo; });
        std::memcpy(fresh.att, r.att, sizeof fresh.att);
        pg::guard([&] { pfree(rp->leaves); });
        cached = std::move(fresh);
        generation = gen;
    }
    return cached;
}

struct EventScan::State {
    Relation parent;
    Relation heap;  // the open leaf
    Relation index;
    IndexScanDesc scan;
    TupleTableSlot* slot;
    Snapshot snapshot;
    ScanKeyData keys[2];
    int nkeys;
    int natts;  // columns to deform
    EventScan::Mode mode;
    Datum key_text;
    int64_t below;
    int nleaves;  // the leaves to visit, in position order
    int current;
    EventsLeaf* leaves;
    bool leaf_open;
    bool open;
};

namespace {

struct OpenArgs {
    EventScan::Mode mode;
    const char* key;
    int key_len;
    int64_t below;
    bool full;
    Oid parent;
    const EventsLeaf* leaves;
    int nleaves;
};

// Plain C under one guard: locks the table, takes the snapshot every leaf
// is read under, and keeps the leaves to visit. Leaves are opened one at a
// time as the scan reaches them.
EventScan::State* open_scan(const OpenArgs* a) {
    auto* s = static_cast<EventScan::State*>(palloc0(sizeof(EventScan::State)));
    s->parent = pg::open_table(a->parent, AccessShareLock, "eventstore.events");
    check_readable(s->parent, s->parent->rd_rel->relkind == RELKIND_PARTITIONED_TABLE ? kPartitionedEventsLayout
                                                                                     : kEventsLayout);
    s->snapshot = RegisterSnapshot(GetLatestSnapshot());
    s->mode = a->mode;
    s->below = a->below;
    if (a->mode != EventScan::Mode::all_below)
        s->key_text = PointerGetDatum(cstring_to_text_with_len(a->key, a->key_len));
    s->leaves = static_cast<EventsLeaf*>(palloc(sizeof(EventsLeaf) * (a->nleaves > 0 ? a->nleaves : 1)));
    for (int i = 0; i < a->nleaves; ++i) {
        // Leaves start in position order: none after the first at or above
        // `below` can hold a position below it.
        if (a->mode != EventScan::Mode::stream && a->leaves[i].lo >= a->below) break;
        s->leaves[s->nleaves++] = a->leaves[i];
    }
    s->natts = a->full ? kTableColumns : kPartialColumns;
    s->open = true;
    return s;
}

void open_leaf(EventScan::State* s) {
    const EventsLeaf& l = s->leaves[s->current];
    Oid index = s->mode == EventScan::Mode::stream           ? l.stream_index
                : s->mode == EventScan::Mode::category_below ? l.category_index
                                                             : l.pkey;
    s->heap = pg::open_table(l.heap, AccessShareLock, "eventstore.events");
    s->index = pg::open_index(index, AccessShareLock, "an index of eventstore.events");
    if (s->heap != s->parent) check_readable(s->heap, kEventsPartitionLayout);
    Oid collation = s->index->rd_indcollation[0];
    switch (s->mode) {
        case EventScan::Mode::stream:
            ScanKeyEntryInitialize(&s->keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid, collation, F_TEXTEQ,
                                   s->key_text);
            s->nkeys = 1;
            break;
        case EventScan::Mode::category_below:
            ScanKeyEntryInitialize(&s->keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid, collation, F_TEXTEQ,
                                   s->key_text);
            ScanKeyInit(&s->keys[1], 2, BTLessStrategyNumber, F_INT8LT, Int64GetDatum(s->below));
            s->nkeys = 2;
            break;
        case EventScan::Mode::all_below:
            ScanKeyInit(&s->keys[0], 1, BTLessStrategyNumber, F_INT8LT, Int64GetDatum(s->below));
            s->nkeys = 1;
            break;
    }
    s->scan = index_beginscan(s->heap, s->index, s->snapshot, s->nkeys, 0);
    index_rescan(s->scan, s->keys, s->nkeys, nullptr, 0);
    s->slot = table_slot_create(s->heap, nullptr);
    s->leaf_open = true;
}

void close_leaf(EventScan::State* s) {
    if (!s->leaf_open) return;
    s->leaf_open = false;
    ExecDropSingleTupleTableSlot(s->slot);
    index_endscan(s->scan);
    index_close(s->index, AccessShareLock);
    table_close(s->heap, AccessShareLock);
}

// The plain values of one event: pointers into the current buffer.
struct RawEvent {
    bool found;
    Datum values[kTableColumns];
    bool nulls[kTableColumns];
    const char* str[3];  // stream, type, category
    int len[3];
};

void next_raw(EventScan::State* s, RawEvent* out) {
    out->found = false;
    while (s->current < s->nleaves) {
        if (!s->leaf_open) open_leaf(s);
        if (index_getnext_slot(s->scan, ForwardScanDirection, s->slot)) {
            out->found = true;
            break;
        }
        close_leaf(s);
        s->current++;
    }
    if (!out->found) return;
    slot_getsomeattrs(s->slot, s->natts);
    for (int i = 0; i < kTableColumns; ++i) {
        out->values[i] = i < s->natts ? s->slot->tts_values[i] : 0;
        out->nulls[i] = i < s->natts ? s->slot->tts_isnull[i] : false;
    }
    const int cols[3] = {1, 4, 10};
    for (int i = 0; i < (s->natts == kTableColumns ? 3 : 2); ++i) {
        text* t = DatumGetTextPP(out->values[cols[i]]);
        out->str[i] = VARDATA_ANY(t);
        out->len[i] = static_cast<int>(VARSIZE_ANY_EXHDR(t));
    }
}

void close_scan(EventScan::State* s) {
    if (!s->open) return;
    s->open = false;
    close_leaf(s);
    UnregisterSnapshot(s->snapshot);
    table_close(s->parent, AccessShareLock);
}

struct HeadProbe {
    Oid parent;
    const EventsLeaf* leaves;
    int nleaves;
    const char* key;
    int key_len;
    bool latest;
    bool skip_unused;
    bool found;
    int64_t version;
    char category[256];
    int category_len;
    bool unreadable;  // the table is not as read_stream_head expects
};

// The newest leaf holding the stream has its head: probe leaves from the
// newest down, each backward through its (stream_id, version) index.
void probe_head(HeadProbe* p) {
    Relation parent = pg::open_table(p->parent, AccessShareLock, "eventstore.events");
    p->found = false;
    p->unreadable = !pg::layout::matches(parent,
                                         parent->rd_rel->relkind == RELKIND_PARTITIONED_TABLE ? kPartitionedEventsLayout
                                                                                              : kEventsLayout,
                                         pg::layout::Use::read);
    if (p->unreadable) {
        table_close(parent, AccessShareLock);
        return;
    }
    Snapshot snapshot = RegisterSnapshot(p->latest ? GetLatestSnapshot() : GetTransactionSnapshot());
    if (p->skip_unused) {
        // Partitions made ahead of the positions handed out hold nothing
        // (pg_partman keeps several ahead): skip them. Read after the
        // snapshot, so every event it shows lies below the end.
        int64_t end = global_order::handed_out_end();
        while (p->nleaves > 0 && p->leaves[p->nleaves - 1].lo >= end) --p->nleaves;
    }
    Datum key_text = PointerGetDatum(cstring_to_text_with_len(p->key, p->key_len));
    for (int i = p->nleaves - 1; i >= 0 && !p->found && !p->unreadable; --i) {
        Relation heap = pg::open_table(p->leaves[i].heap, AccessShareLock, "eventstore.events");
        if (heap != parent && !pg::layout::matches(heap, kEventsPartitionLayout, pg::layout::Use::read)) {
            p->unreadable = true;
            table_close(heap, AccessShareLock);
            break;
        }
        Relation index = pg::open_index(p->leaves[i].stream_index, AccessShareLock, "eventstore.events_stream_version_key");
        ScanKeyData key;
        ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[0], F_TEXTEQ,
                               key_text);
        IndexScanDesc scan = index_beginscan(heap, index, snapshot, 1, 0);
        index_rescan(scan, &key, 1, nullptr, 0);
        TupleTableSlot* slot = table_slot_create(heap, nullptr);
        p->found = index_getnext_slot(scan, BackwardScanDirection, slot);
        if (p->found) {
            slot_getsomeattrs(slot, kTableColumns);
            p->version = DatumGetInt64(slot->tts_values[2]);
            text* t = DatumGetTextPP(slot->tts_values[10]);
            int len = static_cast<int>(VARSIZE_ANY_EXHDR(t));
            if (len > static_cast<int>(sizeof p->category)) len = sizeof p->category;
            memcpy(p->category, VARDATA_ANY(t), len);
            p->category_len = len;
        }
        ExecDropSingleTupleTableSlot(slot);
        index_endscan(scan);
        index_close(index, AccessShareLock);
        table_close(heap, AccessShareLock);
    }
    UnregisterSnapshot(snapshot);
    table_close(parent, AccessShareLock);
}

}  // namespace

StreamHead read_stream_head(const std::string& stream, bool latest) {
    const EventsTable& t = events_table();
    HeadProbe probe{};
    probe.parent = t.heap;
    probe.leaves = t.leaves.data();
    probe.nleaves = static_cast<int>(t.leaves.size());
    probe.skip_unused = t.partitioned;
    probe.key = stream.data();
    probe.key_len = static_cast<int>(stream.size());
    probe.latest = latest;
    HeadProbe* pp = &probe;
    pg::guard([&] { probe_head(pp); });
    StreamHead head;
    head.readable = !probe.unreadable;
    head.found = probe.found;
    if (probe.found) {
        head.version = probe.version;
        head.category.assign(probe.category, static_cast<std::size_t>(probe.category_len));
    }
    return head;
}

EventScan::EventScan(Mode mode, const std::string& key, int64_t below, bool full) {
    const EventsTable& t = events_table();
    OpenArgs a{mode,   key.data(), static_cast<int>(key.size()),          below, full,
               t.heap, t.leaves.data(), static_cast<int>(t.leaves.size())};
    const OpenArgs* ap = &a;
    state_ = pg::guard([&] { return open_scan(ap); });
}

bool EventScan::next(EventRecord& e) {
    RawEvent raw;
    RawEvent* rp = &raw;
    State* s = state_;
    pg::guard([&] { next_raw(s, rp); });
    if (!raw.found) return false;
    for (int i = 0; i < kTableColumns; ++i)
        if (raw.nulls[i] && i != 7) throw Error(errcodes::internal_error, "eventstore: an event row has a NULL column");
    e.position = DatumGetInt64(raw.values[0]);
    e.stream.assign(raw.str[0], static_cast<std::size_t>(raw.len[0]));
    e.version = DatumGetInt64(raw.values[2]);
    e.event_id = raw.values[3];
    e.type.assign(raw.str[1], static_cast<std::size_t>(raw.len[1]));
    e.schema_version = DatumGetInt32(raw.values[5]);
    e.data = raw.values[6];
    e.personal = raw.nulls[7] ? 0 : raw.values[7];
    if (state_->natts == kTableColumns) {
        e.metadata = raw.values[8];
        e.created_at = DatumGetTimestampTz(raw.values[9]);
        e.category.assign(raw.str[2], static_cast<std::size_t>(raw.len[2]));
    }
    return true;
}

void EventScan::close() {
    State* s = state_;
    pg::guard([&] { close_scan(s); });
}

}  // namespace casebook::eventstore
