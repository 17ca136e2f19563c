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

bool needs_executor(Relation rel) { return rel->rd_rel->relkind != RELKIND_RELATION || has_insert_side_effects(rel); }

bool has_insert_side_effects(Relation rel) {
    if (rel->rd_rules != nullptr || rel->rd_rel->relrowsecurity) return true;
    TriggerDesc* t = rel->trigdesc;
    return t != nullptr && (t->trig_insert_before_row || t->trig_insert_after_row || t->trig_insert_instead_row ||
                            t->trig_insert_before_statement || t->trig_insert_after_statement ||
                            t->trig_insert_new_table);
}

int live_columns(Relation rel) {
    TupleDesc desc = RelationGetDescr(rel);
    int n = 0;
    for (int a = 0; a < desc->natts; a++) n += !TupleDescAttr(desc, a)->attisdropped;
    return n;
}

void insert_rows(Relation rel, int count, FillRow fill, void* arg, bool check_constraints) {
    if (count <= 0) return;
    TupleDesc desc = RelationGetDescr(rel);
    EState* estate = CreateExecutorState();
    estate->es_output_cid = GetCurrentCommandId(true);
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
        if (check_constraints) ExecConstraints(rri, s, estate);
        slots[i] = s;
    }
    MemoryContextSwitchTo(old);

    BulkInsertState bistate = GetBulkInsertState();
    table_multi_insert(rel, slots, count, estate->es_output_cid, 0, bistate);
    FreeBulkInsertState(bistate);
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
