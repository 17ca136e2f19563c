// commerce: the hold fast path over the table and index access methods (see
// direct_hold.hpp and docs/commerce.md, "The fast path").
//
// It does what the fast-path SQL statement does, with the same locking:
//   1. find the variant's stock row(s) through the primary key;
//   2. lock the latest version of a row (TUPLE_LOCK_FLAG_FIND_LAST_VERSION:
//      the same READ COMMITTED re-check an UPDATE performs), waiting for a
//      holder (one bucket) or skipping locked rows (buckets);
//   3. check 0 <= reserved + qty <= quantity on the locked version and update
//      the row (heap update; a new index entry when it is not a HOT update);
//   4. insert the hold through core's direct insert (every index maintained,
//      partial index predicates honoured).
// The table's CHECK constraint is the same invariant as step 3, checked here
// before writing. Tables whose layout is not the one the extension created
// (core/layout.hpp: anything an owner added or changed) make it return
// `unsupported`, and the SQL path (which honours all of it) is used.
#include "direct_hold.hpp"

#include "direct_insert.hpp"
#include "layout.hpp"
#include "relation.hpp"
#include "tables.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

#include <cstring>

namespace casebook::commerce::direct {
namespace {

constexpr const char* kSchema = "commerce";

// Relation OIDs cached per backend, re-resolved when the cached OID no longer
// names commerce.<name> (for example after DROP and CREATE EXTENSION).
Oid g_stock_oid = InvalidOid;
Oid g_holds_oid = InvalidOid;

Relation open_commerce_table(Oid* cached, const char* name) {
    if (OidIsValid(*cached)) {
        Relation rel = try_table_open(*cached, RowExclusiveLock);
        if (rel != nullptr) {
            char* nsp = get_namespace_name(RelationGetNamespace(rel));
            bool same = nsp != nullptr && std::strcmp(nsp, kSchema) == 0 &&
                        std::strcmp(RelationGetRelationName(rel), name) == 0;
            if (same) return rel;
            table_close(rel, RowExclusiveLock);
        }
    }
    Oid nsp_oid = get_namespace_oid(kSchema, false);
    Oid rel_oid = get_relname_relid(name, nsp_oid);
    if (!OidIsValid(rel_oid))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                        errmsg("relation %s.%s does not exist", kSchema, name)));
    *cached = rel_oid;
    return pg::open_table(rel_oid, RowExclusiveLock, psprintf("%s.%s", kSchema, name));
}

int attnum_of(TupleDesc desc, const char* name) {
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        if (!att->attisdropped && std::strcmp(NameStr(att->attname), name) == 0) return i + 1;
    }
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                    errmsg("commerce: column \"%s\" is missing", name)));
    return 0;
}

int32 int4_of(TupleTableSlot* slot, int attnum) {
    bool isnull = false;
    Datum d = slot_getattr(slot, attnum, &isnull);
    return isnull ? 0 : DatumGetInt32(d);
}

struct HoldRow {
    int64 id;
    int64 variant;
    int32 bucket;
    int32 qty;
    Datum status;
    Datum created_at;
    Datum expires_at;
    TupleDesc desc;
};

void fill_hold(void* arg, int, Datum* values, bool* isnull) {
    const auto* h = static_cast<const HoldRow*>(arg);
    auto put = [&](const char* column, Datum v) {
        int a = attnum_of(h->desc, column);
        values[a - 1] = v;
        isnull[a - 1] = false;
    };
    put("id", Int64GetDatum(h->id));
    put("variant_id", Int64GetDatum(h->variant));
    put("bucket", Int32GetDatum(h->bucket));
    put("quantity", Int32GetDatum(h->qty));
    put("status", h->status);
    put("created_at", h->created_at);
    put("expires_at", h->expires_at);
}

// Writes the hold row (every index maintained); returns its id.
int64 insert_hold(Relation holds, int64 variant, int32 bucket, int32 qty, Datum hold) {
    TupleDesc desc = RelationGetDescr(holds);
    Oid nsp_oid = get_namespace_oid(kSchema, false);
    Oid seq_oid = get_relname_relid("reservations_id_seq", nsp_oid);
    if (!OidIsValid(seq_oid))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                        errmsg("sequence %s.reservations_id_seq does not exist", kSchema)));
    HoldRow row;
    row.id = nextval_internal(seq_oid, false);
    row.variant = variant;
    row.bucket = bucket;
    row.qty = qty;
    row.status = DirectFunctionCall2(enum_in, CStringGetDatum("held"),
                                     ObjectIdGetDatum(TupleDescAttr(desc, attnum_of(desc, "status") - 1)->atttypid));
    row.created_at = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
    row.expires_at = DirectFunctionCall2(timestamptz_pl_interval, row.created_at, hold);
    row.desc = desc;
    pg::insert_rows(holds, 1, fill_hold, &row);
    return row.id;
}

}  // namespace

HoldResult take_hold(int64_t variant, int32_t qty, Datum hold, bool bucketed, int32_t home_bucket) {
    HoldResult result = {HoldStatus::not_taken, 0, -1, 0};

    // What the executor enforces and this path would not: read-only
    // transactions (and standbys), parallel mode, and the "could not
    // serialize" errors of REPEATABLE READ / SERIALIZABLE on a concurrent
    // update. There, the SQL path runs instead.
    if (XactReadOnly || IsInParallelMode() || IsolationUsesXactSnapshot()) {
        result.status = HoldStatus::unsupported;
        return result;
    }

    Relation stock = open_commerce_table(&g_stock_oid, "stock");
    Relation holds = open_commerce_table(&g_holds_oid, "reservations");
    // Only on the layout the extension created (core/layout.hpp): a CHECK,
    // column, index, trigger, rule, policy, publication or type an owner
    // added or changed sends the hold to SQL, which honours it. On that
    // layout the stock row's one index is its primary key, and the hold
    // row's values satisfy the tables' own constraints by construction.
    if (!pg::layout::matches(stock, kStockLayout, pg::layout::Use::write) ||
        !pg::layout::matches(holds, kReservationsLayout, pg::layout::Use::write)) {
        table_close(holds, NoLock);
        table_close(stock, NoLock);
        result.status = HoldStatus::unsupported;
        return result;
    }
    Oid pk_oid = RelationGetPrimaryKeyIndex(stock);
    if (!OidIsValid(pk_oid))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                        errmsg("commerce.stock has no primary key")));
    Relation pk = pg::open_index(pk_oid, RowExclusiveLock, "commerce.stock_pkey");
    TupleDesc desc = RelationGetDescr(stock);
    const int att_bucket = attnum_of(desc, "bucket");
    const int att_nbuckets = attnum_of(desc, "nbuckets");
    const int att_quantity = attnum_of(desc, "quantity");
    const int att_reserved = attnum_of(desc, "reserved");

    // As SPI does for a writing statement: see earlier writes of this
    // transaction (including earlier calls in the same query), on a fresh
    // snapshot.
    CommandCounterIncrement();
    PushActiveSnapshot(GetTransactionSnapshot());
    Snapshot snapshot = GetActiveSnapshot();
    CommandId cid = GetCurrentCommandId(true);

    TupleTableSlot* seen = table_slot_create(stock, nullptr);
    TupleTableSlot* locked = table_slot_create(stock, nullptr);
    IndexScanDesc scan = index_beginscan(stock, pk, snapshot, 2, 0);
    ScanKeyData keys[2];

    // One pass for one bucket (= 0); two passes for buckets: >= home, < home.
    const int passes = bucketed ? 2 : 1;
    for (int pass = 0; pass < passes && result.status != HoldStatus::taken; pass++) {
        ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(variant));
        if (!bucketed)
            ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(0));
        else if (pass == 0)
            ScanKeyInit(&keys[1], 2, BTGreaterEqualStrategyNumber, F_INT4GE, Int32GetDatum(home_bucket));
        else
            ScanKeyInit(&keys[1], 2, BTLessStrategyNumber, F_INT4LT, Int32GetDatum(home_bucket));
        index_rescan(scan, keys, 2, nullptr, 0);

        while (index_getnext_slot(scan, ForwardScanDirection, seen)) {
            CHECK_FOR_INTERRUPTS();
            result.nbuckets = int4_of(seen, att_nbuckets);
            if (!bucketed && result.nbuckets != 1) break;  // bucketed after all
            // A bucket that has too little even in the version we see is not
            // worth a lock (the SQL path consolidates buckets when needed).
            if (bucketed && int4_of(seen, att_quantity) - int4_of(seen, att_reserved) < qty) continue;

            ItemPointerData tid = seen->tts_tid;
            TM_FailureData tmfd;
            TM_Result res = table_tuple_lock(stock, &tid, snapshot, locked, cid, LockTupleNoKeyExclusive,
                                             bucketed ? LockWaitSkip : LockWaitBlock,
                                             TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
            if (res != TM_Ok) continue;  // locked by another (skip), or deleted

            // The latest version, locked by us: check and write.
            int32 quantity = int4_of(locked, att_quantity);
            int32 reserved = int4_of(locked, att_reserved);
            result.nbuckets = int4_of(locked, att_nbuckets);
            if (!bucketed && result.nbuckets != 1) break;
            if (reserved < 0 || static_cast<int64>(reserved) + qty > quantity) continue;

            bool should_free = false;
            HeapTuple oldtup = ExecFetchSlotHeapTuple(locked, false, &should_free);
            int cols[1] = {att_reserved};
            Datum vals[1] = {Int32GetDatum(reserved + qty)};
            bool isnull[1] = {false};
            HeapTuple newtup = heap_modify_tuple_by_cols(oldtup, desc, 1, cols, vals, isnull);
            simple_heap_update(stock, &locked->tts_tid, newtup);
            if (!HeapTupleIsHeapOnly(newtup)) {
                // Not a HOT update: the primary key needs an entry for the new version.
                Datum key_values[2] = {Int64GetDatum(variant), Int32GetDatum(int4_of(locked, att_bucket))};
                bool key_nulls[2] = {false, false};
                IndexInfo* info = BuildIndexInfo(pk);
                index_insert(pk, key_values, key_nulls, &newtup->t_self, stock, UNIQUE_CHECK_YES, true, info);
            }
            result.bucket = int4_of(locked, att_bucket);
            result.id = insert_hold(holds, variant, result.bucket, qty, hold);
            result.status = HoldStatus::taken;
            break;
        }
    }

    index_endscan(scan);
    ExecDropSingleTupleTableSlot(locked);
    ExecDropSingleTupleTableSlot(seen);
    PopActiveSnapshot();
    index_close(pk, NoLock);
    table_close(holds, NoLock);
    table_close(stock, NoLock);
    return result;
}

}  // namespace casebook::commerce::direct
