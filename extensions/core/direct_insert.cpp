// casebook core: direct inserts (see direct_insert.hpp).
#include "direct_insert.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

namespace casebook::pg {

void check_insert_allowed(Relation rel) {
    PreventCommandIfReadOnly("INSERT");
    PreventCommandIfParallelMode("INSERT");
    AclResult acl = pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT);
    if (acl != ACLCHECK_OK) aclcheck_error(acl, OBJECT_TABLE, RelationGetRelationName(rel));
}

void insert_rows(Relation rel, int count, FillRow fill, void* arg) {
    if (count <= 0) return;
    TupleDesc desc = RelationGetDescr(rel);
    EState* estate = CreateExecutorState();
    estate->es_output_cid = GetCurrentCommandId(true);
    // The result relation is range-table entry 1, as in an INSERT: what the
    // executor's routines look up through it (an index's or a constraint's
    // error report) finds the relation.
    RangeTblEntry* rte = makeNode(RangeTblEntry);
    rte->rtekind = RTE_RELATION;
    rte->relid = RelationGetRelid(rel);
    rte->relkind = rel->rd_rel->relkind;
    rte->rellockmode = RowExclusiveLock;
    ExecInitRangeTable(estate, list_make1(rte));
    ResultRelInfo* rri = makeNode(ResultRelInfo);
    InitResultRelInfo(rri, rel, 1, nullptr, 0);
    ExecOpenIndices(rri, false);

    // The slots live in the executor state's memory, freed below. They share
    // an unreferenced copy of the descriptor: the relation's own would be
    // pinned (and remembered by the resource owner) once per slot.
    MemoryContext old = MemoryContextSwitchTo(estate->es_query_cxt);
    TupleDesc slot_desc = CreateTupleDescCopy(desc);
    TupleTableSlot** slots = static_cast<TupleTableSlot**>(palloc(sizeof(TupleTableSlot*) * count));
    for (int i = 0; i < count; i++) {
        TupleTableSlot* s = ExecInitExtraTupleSlot(estate, slot_desc, table_slot_callbacks(rel));
        ExecClearTuple(s);
        for (int a = 0; a < desc->natts; a++) s->tts_isnull[a] = true;
        fill(arg, i, s->tts_values, s->tts_isnull);
        ExecStoreVirtualTuple(s);
        slots[i] = s;
    }
    MemoryContextSwitchTo(old);

    // A bulk-insert state keeps the target page pinned across rows; for one
    // row it would only cost its setup.
    BulkInsertState bistate = count > 1 ? GetBulkInsertState() : nullptr;
    table_multi_insert(rel, slots, count, estate->es_output_cid, 0, bistate);
    if (bistate != nullptr) FreeBulkInsertState(bistate);
    for (int i = 0; i < count; i++) {
        List* recheck = ExecInsertIndexTuples(rri, slots[i], estate, false, false, nullptr, NIL);
        list_free(recheck);
    }
    ExecCloseIndices(rri);
    ExecResetTupleTable(estate->es_tupleTable, false);
    FreeExecutorState(estate);
    CommandCounterIncrement();
}

}  // namespace casebook::pg
