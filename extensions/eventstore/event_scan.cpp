// eventstore: native index scans of the events table (see event_scan.hpp).
#include "event_scan.hpp"

#include "catalog_cache.hpp"
#include "errcodes.hpp"
#include "store.hpp"

extern "C" {
#include "access/genam.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace casebook::eventstore {

namespace {

void resolve_events_table(EventsTable* t) {
    Oid ns = get_namespace_oid("eventstore", false);
    t->heap = get_relname_relid("events", ns);
    t->pkey = get_relname_relid("events_pkey", ns);
    t->stream_index = get_relname_relid("events_stream_version_key", ns);
    t->category_index = get_relname_relid("events_category_position_idx", ns);
    if (!OidIsValid(t->heap) || !OidIsValid(t->pkey) || !OidIsValid(t->stream_index) ||
        !OidIsValid(t->category_index))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("eventstore.events or one of its indexes is missing")));
    static const char* const names[11] = {"position",   "stream_id",  "version",  "event_id",
                                          "event_type", "schema_version", "event_data", "personal",
                                          "metadata",   "created_at", "category"};
    for (int i = 0; i < 11; ++i) {
        t->att[i] = get_attnum(t->heap, names[i]);
        if (t->att[i] == InvalidAttrNumber)
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN), errmsg("eventstore.events has no column \"%s\"", names[i])));
    }
}

}  // namespace

const EventsTable& events_table() {
    static EventsTable cached{};
    static uint64_t generation = 0;
    uint64_t gen = catalog::generation();
    if (gen != generation || !OidIsValid(cached.heap)) {
        EventsTable fresh{};
        EventsTable* fp = &fresh;
        pg::guard([&] { resolve_events_table(fp); });
        cached = fresh;
        generation = gen;
    }
    return cached;
}

struct EventScan::State {
    Relation heap;
    Relation index;
    IndexScanDesc scan;
    TupleTableSlot* slot;
    Snapshot snapshot;
    ScanKeyData keys[2];
    int nkeys;
    int natts;  // columns to deform
    bool open;
};

namespace {

// Table columns (attribute numbers - 1): position 0, stream_id 1, version 2,
// event_id 3, event_type 4, schema_version 5, event_data 6, personal 7,
// metadata 8, created_at 9, category 10.
constexpr int kTableColumns = 11;
constexpr int kPartialColumns = 8;  // through personal

struct OpenArgs {
    EventScan::Mode mode;
    const char* key;
    int key_len;
    int64_t below;
    bool full;
    Oid heap;
    Oid index;
};

// Plain C under one guard: opens relations, snapshot and scan.
EventScan::State* open_scan(const OpenArgs* a) {
    auto* s = static_cast<EventScan::State*>(palloc0(sizeof(EventScan::State)));
    s->heap = table_open(a->heap, AccessShareLock);
    s->index = index_open(a->index, AccessShareLock);
    s->snapshot = RegisterSnapshot(GetLatestSnapshot());
    Oid collation = s->index->rd_indcollation[0];
    switch (a->mode) {
        case EventScan::Mode::stream:
            ScanKeyEntryInitialize(&s->keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid, collation, F_TEXTEQ,
                                   PointerGetDatum(cstring_to_text_with_len(a->key, a->key_len)));
            s->nkeys = 1;
            break;
        case EventScan::Mode::category_below:
            ScanKeyEntryInitialize(&s->keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid, collation, F_TEXTEQ,
                                   PointerGetDatum(cstring_to_text_with_len(a->key, a->key_len)));
            ScanKeyInit(&s->keys[1], 2, BTLessStrategyNumber, F_INT8LT, Int64GetDatum(a->below));
            s->nkeys = 2;
            break;
        case EventScan::Mode::all_below:
            ScanKeyInit(&s->keys[0], 1, BTLessStrategyNumber, F_INT8LT, Int64GetDatum(a->below));
            s->nkeys = 1;
            break;
    }
    s->scan = index_beginscan(s->heap, s->index, s->snapshot, s->nkeys, 0);
    index_rescan(s->scan, s->keys, s->nkeys, nullptr, 0);
    s->slot = table_slot_create(s->heap, nullptr);
    s->natts = a->full ? kTableColumns : kPartialColumns;
    s->open = true;
    return s;
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
    out->found = index_getnext_slot(s->scan, ForwardScanDirection, s->slot);
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
    ExecDropSingleTupleTableSlot(s->slot);
    index_endscan(s->scan);
    UnregisterSnapshot(s->snapshot);
    index_close(s->index, AccessShareLock);
    table_close(s->heap, AccessShareLock);
}

struct HeadProbe {
    Oid heap;
    Oid index;
    const char* key;
    int key_len;
    bool latest;
    bool found;
    int64_t version;
    char category[256];
    int category_len;
};

void probe_head(HeadProbe* p) {
    Relation heap = table_open(p->heap, AccessShareLock);
    Relation index = index_open(p->index, AccessShareLock);
    Snapshot snapshot = RegisterSnapshot(p->latest ? GetLatestSnapshot() : GetTransactionSnapshot());
    ScanKeyData key;
    ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[0], F_TEXTEQ,
                           PointerGetDatum(cstring_to_text_with_len(p->key, p->key_len)));
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
    UnregisterSnapshot(snapshot);
    index_close(index, AccessShareLock);
    table_close(heap, AccessShareLock);
}

}  // namespace

StreamHead read_stream_head(const std::string& stream, bool latest) {
    const EventsTable& t = events_table();
    HeadProbe probe{};
    probe.heap = t.heap;
    probe.index = t.stream_index;
    probe.key = stream.data();
    probe.key_len = static_cast<int>(stream.size());
    probe.latest = latest;
    HeadProbe* pp = &probe;
    pg::guard([&] { probe_head(pp); });
    StreamHead head;
    head.found = probe.found;
    if (probe.found) {
        head.version = probe.version;
        head.category.assign(probe.category, static_cast<std::size_t>(probe.category_len));
    }
    return head;
}

EventScan::EventScan(Mode mode, const std::string& key, int64_t below, bool full) {
    const EventsTable& t = events_table();
    Oid index = mode == Mode::stream ? t.stream_index : mode == Mode::category_below ? t.category_index : t.pkey;
    OpenArgs a{mode, key.data(), static_cast<int>(key.size()), below, full, t.heap, index};
    const OpenArgs* ap = &a;
    state_ = pg::guard([&] { return open_scan(ap); });
    if (state_->heap->rd_att->natts != kTableColumns)
        throw Error(errcodes::extension_not_ready, "eventstore.events does not have the expected columns");
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
