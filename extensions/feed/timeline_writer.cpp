// feed: the direct timeline write path (see timeline_writer.hpp).
#include "timeline_writer.hpp"

#include "direct_insert.hpp"
#include "layout.hpp"
#include "relation.hpp"
#include "tables.hpp"

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
    Relation rel = pg::open_table(relid, RowExclusiveLock, "feed.timelines");
    pg::check_insert_allowed(rel);
    // Only on the layout the extension created (core/layout.hpp): anything
    // an owner added (a CHECK, a column, an index, a trigger…) sends the
    // fan-out to SQL, which honours it.
    if (!pg::layout::matches(rel, kTimelinesLayout, pg::layout::Use::write)) {
        table_close(rel, RowExclusiveLock);
        return false;
    }
    static const char* const kColumns[4] = {"user_id", "created_at", "post_id", "author_id"};
    for (int c = 0; c < 4; c++) r->att[c] = get_attnum(relid, kColumns[c]);
    pg::insert_rows(rel, r->count, fill_row, r);
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

// The primary key (user_id, created_at, post_id), when the table is as the
// extension created it (for a read: its entries are read alone):
// InvalidOid otherwise. The trim walks it backward for newest first.
Oid timeline_key(Relation rel) {
    if (!pg::layout::matches(rel, kTimelinesLayout, pg::layout::Use::read)) return InvalidOid;
    return RelationGetPrimaryKeyIndex(rel);
}

// Plain C under one guard. false: no usable primary key.
bool scan_trim_points(TrimScan* t) {
    Oid relid = get_relname_relid("timelines", get_namespace_oid("feed", false));
    if (!OidIsValid(relid)) return false;
    Relation rel = pg::open_table(relid, AccessShareLock, "feed.timelines");
    Oid pk = timeline_key(rel);
    if (!OidIsValid(pk)) {
        table_close(rel, AccessShareLock);
        return false;
    }
    Relation idx = pg::open_index(pk, AccessShareLock, "feed.timelines_pkey");
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
