// feed: the direct timeline write path (see timeline_writer.hpp).
#include "timeline_writer.hpp"

#include "direct_insert.hpp"
#include "index_shape.hpp"

extern "C" {
#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "utils/fmgroids.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/snapshot.h"
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

namespace casebook::feed {
namespace {

struct TimelineRows {
    const int64_t* users;
    int count;
    TimestampTz created_at;
    int64_t post;
    int64_t author;
    AttrNumber att[4];  // user_id, created_at, post_id, author_id
};

void fill_row(void* arg, int i, Datum* values, bool* isnull) {
    const auto* r = static_cast<const TimelineRows*>(arg);
    const Datum v[4] = {Int64GetDatum(r->users[i]), TimestampTzGetDatum(r->created_at), Int64GetDatum(r->post),
                        Int64GetDatum(r->author)};
    for (int c = 0; c < 4; c++) {
        values[r->att[c] - 1] = v[c];
        isnull[r->att[c] - 1] = false;
    }
}

// Plain C under one guard.
bool write(TimelineRows* r) {
    Oid relid = get_relname_relid("timelines", get_namespace_oid("feed", false));
    if (!OidIsValid(relid)) return false;  // the SQL path reports it
    Relation rel = table_open(relid, RowExclusiveLock);
    pg::check_insert_allowed(rel);
    static const char* const kColumns[4] = {"user_id", "created_at", "post_id", "author_id"};
    bool direct = !pg::needs_executor(rel) && pg::live_columns(rel) == 4;
    // The rows are made of int8 and timestamptz values: the columns must
    // still have those types.
    static const Oid kTypes[4] = {INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID};
    for (int c = 0; direct && c < 4; c++) {
        r->att[c] = get_attnum(relid, kColumns[c]);
        direct = r->att[c] != InvalidAttrNumber && get_atttype(relid, r->att[c]) == kTypes[c];
    }
    if (!direct) {
        table_close(rel, RowExclusiveLock);
        return false;
    }
    TupleConstr* constr = RelationGetDescr(rel)->constr;
    pg::insert_rows(rel, r->count, fill_row, r, constr != nullptr && constr->num_check > 0);
    table_close(rel, NoLock);  // the lock is kept to the end of the transaction
    return true;
}

struct TrimScan {
    const int64_t* users;
    int count;
    int64_t keep;
    TrimPoint* out;  // room for count
    int found;
};

// The primary key, when it is (user_id, created_at, post_id) read in that
// order (ascending, default operator classes): InvalidOid otherwise. The
// trim walks it backward for newest first.
Oid timeline_key(Relation rel) {
    Oid pk = RelationGetPrimaryKeyIndex(rel);
    static const char* const kKey[3] = {"user_id", "created_at", "post_id"};
    static const Oid kTypes[3] = {INT8OID, TIMESTAMPTZOID, INT8OID};
    AttrNumber cols[3];
    for (int k = 0; k < 3; k++) {
        cols[k] = get_attnum(RelationGetRelid(rel), kKey[k]);
        if (cols[k] == InvalidAttrNumber || get_atttype(RelationGetRelid(rel), cols[k]) != kTypes[k]) return InvalidOid;
    }
    return plain_btree(pk, RelationGetRelid(rel), 3, cols, kTypes, false) ? pk : InvalidOid;
}

// Plain C under one guard. false: no usable primary key.
bool scan_trim_points(TrimScan* t) {
    Oid relid = get_relname_relid("timelines", get_namespace_oid("feed", false));
    if (!OidIsValid(relid)) return false;
    Relation rel = table_open(relid, AccessShareLock);
    Oid pk = timeline_key(rel);
    if (!OidIsValid(pk)) {
        table_close(rel, AccessShareLock);
        return false;
    }
    Relation idx = index_open(pk, AccessShareLock);
    // The heap is never visited, so no snapshot applies (SnapshotAny, as
    // CLUSTER's index scan).
    IndexScanDesc scan = index_beginscan(rel, idx, SnapshotAny, 1, 0);
    scan->xs_want_itup = true;
    for (int u = 0; u < t->count; u++) {
        ScanKeyData key;
        ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(t->users[u]));
        index_rescan(scan, &key, 1, nullptr, 0);
        int64_t seen = 0;
        // Entries only: index_getnext_tid never visits the heap.
        while (index_getnext_tid(scan, BackwardScanDirection) != nullptr) {
            if (++seen <= t->keep) continue;
            bool null_c = false, null_p = false;
            Datum c = index_getattr(scan->xs_itup, 2, scan->xs_itupdesc, &null_c);
            Datum p = index_getattr(scan->xs_itup, 3, scan->xs_itupdesc, &null_p);
            if (!null_c && !null_p)
                t->out[t->found++] = TrimPoint{t->users[u], DatumGetTimestampTz(c), DatumGetInt64(p)};
            break;
        }
        if ((u & 63) == 63) CHECK_FOR_INTERRUPTS();
    }
    index_endscan(scan);
    index_close(idx, AccessShareLock);
    table_close(rel, AccessShareLock);
    return true;
}

}  // namespace

std::optional<std::vector<TrimPoint>> trim_points(const std::vector<int64_t>& users, int64_t keep) {
    std::vector<TrimPoint> out(users.size());
    if (users.empty()) return out;
    TrimScan scan{users.data(), static_cast<int>(users.size()), keep, out.data(), 0};
    TrimScan* sp = &scan;
    if (!pg::guard([sp] { return scan_trim_points(sp); })) return std::nullopt;
    out.resize(static_cast<std::size_t>(scan.found));
    return out;
}

bool write_timeline_rows(const std::vector<int64_t>& users, TimestampTz created_at, int64_t post, int64_t author) {
    if (users.empty()) return true;
    TimelineRows rows{users.data(), static_cast<int>(users.size()), created_at, post, author, {}};
    TimelineRows* rp = &rows;
    return pg::guard([rp] { return write(rp); });
}

}  // namespace casebook::feed
