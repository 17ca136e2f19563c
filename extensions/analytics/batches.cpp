// analytics: batch numbers and the wait for writers (batches.hpp).
#include "analytics/batches.hpp"

#include <array>
#include <cstring>

#include "errcodes.hpp"
#include "pg_boundary.hpp"

extern "C" {
#include "catalog/dependency.h"
#include "catalog/pg_inherits.h"
#include "commands/sequence.h"
#include "nodes/pg_list.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/lsyscache.h"
}

namespace casebook::analytics::batches {

namespace {

// The batch numbers handed out in this transaction, per sequence. A few
// slots: a transaction rarely writes more than one tracked table.
struct Slot {
    Oid sequence = InvalidOid;
    LocalTransactionId transaction = InvalidLocalTransactionId;
    int64 value = 0;
};
std::array<Slot, 8> g_slots{};
size_t g_next_slot = 0;

// Sequences checked to be ours (in the analytics schema, named *_batches)
// in this session: the check costs catalog lookups, once.
std::array<Oid, 16> g_checked{};
size_t g_next_checked = 0;

bool checked(Oid sequence) {
    for (Oid o : g_checked)
        if (o == sequence) return true;
    return false;
}

void check_ours(Oid sequence) {
    // A batch sequence is owned by (OWNED BY) the _batch column of its table.
    Oid table = InvalidOid;
    int32 column = 0;
    bool owned = pg::guard([&] { return sequenceIsOwned(sequence, DEPENDENCY_AUTO, &table, &column); });
    bool batch_column = false;
    if (owned) {
        char* name = pg::guard([&] { return get_attname(table, static_cast<AttrNumber>(column), true); });
        batch_column = name != nullptr && std::strcmp(name, "_batch") == 0;
    }
    if (!batch_column)
        throw Error(errcodes::not_a_batch_sequence, "analytics._batch() takes the batch sequence of a tracked table",
                    {}, "It is the default of the _batch column that analytics.track() adds; do not call it yourself.");
    g_checked[g_next_checked] = sequence;
    g_next_checked = (g_next_checked + 1) % g_checked.size();
}

}  // namespace

int64_t current(Oid sequence) {
    const LocalTransactionId transaction = MyProc->lxid;
    for (const Slot& s : g_slots)
        if (s.sequence == sequence && s.transaction == transaction) return s.value;
    if (!checked(sequence)) check_ours(sequence);
    // The writer already holds its lock on the table (taken when the
    // statement opened it): a refresh that reads the sequence after this
    // call waits for this transaction (wait_for_writers).
    int64 value = pg::guard([sequence] { return nextval_internal(sequence, false); });
    Slot& slot = g_slots[g_next_slot];
    g_next_slot = (g_next_slot + 1) % g_slots.size();
    slot = Slot{sequence, transaction, value};
    return value;
}

void wait_for_writers(Oid table) {
    pg::guard([table] {
        List* relations = find_all_inheritors(table, NoLock, nullptr);
        List* tags = NIL;
        ListCell* lc;
        foreach (lc, relations) {
            auto* tag = static_cast<LOCKTAG*>(palloc(sizeof(LOCKTAG)));
            SET_LOCKTAG_RELATION(*tag, MyDatabaseId, lfirst_oid(lc));
            tags = lappend(tags, tag);
        }
        // SHARE conflicts with ROW EXCLUSIVE: every transaction that holds a
        // writer's lock on the table or one of its partitions now. New
        // writers are not held up (nothing is acquired).
        WaitForLockersMultiple(tags, ShareLock, false);
    });
}

}  // namespace casebook::analytics::batches
