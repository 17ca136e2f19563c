// eventstore: the gap-free global order in shared memory (see horizon.hpp).
#include "global_order.hpp"

#include "errcodes.hpp"
#include "horizon.hpp"
#include "notifier.hpp"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/snapmgr.h"
}

namespace casebook::eventstore::global_order {
namespace {

// Databases whose counters stay loaded at once; more are evicted and
// reloaded from their table on next use.
constexpr uint32_t kDatabases = 64;

bool g_preloaded = false;
HorizonTable* g_table = nullptr;
LWLock* g_lock = nullptr;
bool g_in_flight = false;  // this backend holds an in-flight slot
shmem_request_hook_type g_prev_request = nullptr;
shmem_startup_hook_type g_prev_startup = nullptr;

uint32_t slot_count() { return static_cast<uint32_t>(MaxBackends); }

extern "C" void global_order_request_shmem(void) {
    if (g_prev_request) g_prev_request();
    RequestAddinShmemSpace(HorizonTable::bytes(kDatabases, slot_count()));
    RequestNamedLWLockTranche("casebook_eventstore", 1);
}

extern "C" void global_order_startup_shmem(void) {
    if (g_prev_startup) g_prev_startup();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found = false;
    Size size = HorizonTable::bytes(kDatabases, slot_count());
    void* mem = ShmemInitStruct("casebook eventstore global order", size, &found);
    g_table = found ? static_cast<HorizonTable*>(mem) : HorizonTable::init(mem, kDatabases, slot_count());
    g_lock = &(GetNamedLWLockTranche("casebook_eventstore"))->lock;
    LWLockRelease(AddinShmemInitLock);
}

void release_slot() {
    if (!g_in_flight) return;
    LWLockAcquire(g_lock, LW_EXCLUSIVE);
    g_table->release(static_cast<uint32_t>(MyBackendId - 1));
    LWLockRelease(g_lock);
    g_in_flight = false;
}

// Plain C: runs inside PostgreSQL's transaction machinery, no C++ objects.
extern "C" void global_order_on_xact(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_PRE_PREPARE:
            // The prepared transaction would outlive this backend's slot, and
            // readers could pass its positions before COMMIT PREPARED.
            if (g_in_flight)
                ereport(ERROR, (errcode(errcodes::append_in_prepared_transaction.packed()),
                                errmsg("cannot PREPARE a transaction that appended events"),
                                errhint("Append outside two-phase transactions.")));
            break;
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_PARALLEL_COMMIT:
            // Called after ProcArrayEndTransaction: the events are visible to
            // every snapshot taken from now on. Release the slot (readers may
            // pass our positions), then wake listeners.
            release_slot();
            notifier::at_commit();
            break;
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_ABORT:
        case XACT_EVENT_PREPARE:
            release_slot();
            notifier::at_abort();
            break;
        default:
            break;
    }
}

extern "C" void global_order_on_exit(int, Datum) { release_slot(); }

// The durable reserve mark (docs/eventstore.md, "Positions across
// restarts"): a sequence whose value is the highest position that may be
// handed out. A sequence because its changes are not transactional, are
// WAL-logged, and survive a crash as far as they were flushed; every
// position handed out lies at or below a mark flushed before it was
// handed out, so no restart, crash or counter eviction hands it out again.
// How far beyond the positions asked for a mark goes adapts to the load
// (horizon.hpp, kReserveMin..kReserveMax): one WAL flush covers many
// appends, and a restart skips at most kReserveMax positions.

// The sequence, InvalidOid in a database still at 0.1.0 (no mark: the
// counter is then loaded from the stored positions alone, as 0.1.0 did).
Oid reserve_sequence() {
    return pg::guard([] {
        Oid ns = get_namespace_oid("eventstore", true);
        return OidIsValid(ns) ? get_relname_relid("position_reserve", ns) : InvalidOid;
    });
}

// Makes a mark at or above `upto` (the last position needed) durable and
// returns it. Extenders take the sequence's lock in turn (released at
// once, not at transaction end: the mark is not transactional), so the
// mark only grows, and one that finds the mark raised far enough while it
// waited does nothing. The WAL record is flushed (after the lock is
// released: the flush covers everything written before it, and the mark is
// published only after it) before anything is handed out below it,
// whatever synchronous_commit says.
int64_t extend_reserve(spi::Connection& conn, Oid seq, int64_t upto) {
    static spi::Statement kExtend{
        "SELECT pg_catalog.setval('eventstore.position_reserve'::pg_catalog.regclass, "
        "GREATEST($1, last_value)) FROM eventstore.position_reserve",
        {INT8OID}};
    pg::guard([seq] { LockRelationOid(seq, ExclusiveLock); });
    int64_t have = pg::guard([] {
        LWLockAcquire(g_lock, LW_SHARED);
        DbCounter* c = g_table->find(MyDatabaseId);
        int64_t r = c != nullptr && c->reserved != kUntracked ? c->reserved : 0;
        LWLockRelease(g_lock);
        return r;
    });
    if (have >= upto) {
        pg::guard([seq] { UnlockRelationOid(seq, ExclusiveLock); });
        return have;
    }
    int64_t target = pg::guard([upto] {
        LWLockAcquire(g_lock, LW_EXCLUSIVE);
        int64_t t = g_table->reserve_target(MyDatabaseId, upto, GetCurrentTimestamp());
        LWLockRelease(g_lock);
        return t;
    });
    if (target == 0) target = upto > INT64_MAX - kReserveMin ? INT64_MAX : upto + kReserveMin;
    int64_t mark = conn.execute(kExtend, {spi::int8_param(target)}).int8_at(0, 1);
    XLogRecPtr end = XactLastRecEnd;
    pg::guard([seq, end] {
        UnlockRelationOid(seq, ExclusiveLock);
        XLogFlush(end);
    });
    return mark;
}

// Loads this database's counter: above every stored position (events and
// checkpoints: a restored database may hold checkpoints above its last
// event) and above the durable reserve mark.
void load(spi::Connection& conn) {
    static spi::Statement kMax{
        "SELECT GREATEST((SELECT coalesce(max(position), 0) FROM eventstore.events), "
        "(SELECT coalesce(max(position), 0) FROM eventstore.subscription_checkpoints))",
        {}};
    static spi::Statement kMark{"SELECT last_value FROM eventstore.position_reserve", {}};
    for (int attempt = 0; attempt < 100; ++attempt) {
        uint64_t epoch = pg::guard([] {
            LWLockAcquire(g_lock, LW_SHARED);
            uint64_t e = g_table->evictions;
            LWLockRelease(g_lock);
            return e;
        });
        // A fresh snapshot: the counter must lie above every committed event,
        // whatever the caller's isolation level.
        int64_t max_position = conn.execute_latest(kMax, {}).int8_at(0, 0 + 1);
        int64_t mark = kUntracked;
        if (OidIsValid(reserve_sequence())) mark = conn.execute_latest(kMark, {}).int8_at(0, 1);
        auto result = pg::guard([&] {
            LWLockAcquire(g_lock, LW_EXCLUSIVE);
            auto r = g_table->load(MyDatabaseId, max_position, epoch, mark);
            LWLockRelease(g_lock);
            return r;
        });
        if (result == HorizonTable::Load::ok) return;
        if (result == HorizonTable::Load::full)
            throw Error(errcodes::extension_not_ready,
                        "eventstore: every global-order counter is in use by a database with appends in flight",
                        "At most " + std::to_string(kDatabases) + " databases can append at the same moment.");
    }
    throw Error(errcodes::internal_error, "eventstore: could not load the global-order counter");
}

}  // namespace

void install() {
    if (!process_shared_preload_libraries_in_progress) return;
    g_preloaded = true;
    g_prev_request = shmem_request_hook;
    shmem_request_hook = global_order_request_shmem;
    g_prev_startup = shmem_startup_hook;
    shmem_startup_hook = global_order_startup_shmem;
    RegisterXactCallback(global_order_on_xact, nullptr);
    notifier::install();
}

void require_preloaded() {
    if (g_preloaded && g_table != nullptr) return;
    throw Error(errcodes::extension_not_ready,
                "eventstore must be loaded through shared_preload_libraries",
                "The gap-free global order lives in shared memory.",
                "Add eventstore to shared_preload_libraries in postgresql.conf and restart the server.");
}

int64_t allocate(spi::Connection& conn, int64_t n) {
    require_preloaded();
    if (MyBackendId < 1 || static_cast<uint32_t>(MyBackendId) > slot_count())
        throw Error(errcodes::extension_not_ready, "eventstore: this process cannot append events");
    static bool exit_hook = false;
    if (!exit_hook) {
        pg::guard([] { before_shmem_exit(global_order_on_exit, 0); });
        exit_hook = true;
    }
    // A few rounds: load, reserve, allocate (others may take what was
    // reserved in between).
    for (int attempt = 0; attempt < 8; ++attempt) {
        int64_t first = 0, upto = 0;
        bool untracked = false;
        auto result = pg::guard([&] {
            LWLockAcquire(g_lock, LW_EXCLUSIVE);
            auto r = g_table->allocate(MyDatabaseId, static_cast<uint32_t>(MyBackendId - 1), n, &first, &upto,
                                       &untracked);
            if (r == HorizonTable::Alloc::ok) g_in_flight = true;
            LWLockRelease(g_lock);
            return r;
        });
        if (result == HorizonTable::Alloc::ok) {
            // A counter loaded before ALTER EXTENSION UPDATE made the mark:
            // tracked from now on, the mark raised above everything handed
            // out so far (ours included) before this transaction commits.
            if (untracked) {
                Oid seq = reserve_sequence();
                if (OidIsValid(seq)) {
                    int64_t last = pg::guard([] {
                        LWLockAcquire(g_lock, LW_EXCLUSIVE);
                        int64_t l = g_table->track(MyDatabaseId);
                        LWLockRelease(g_lock);
                        return l;
                    });
                    if (last < first + n - 1) last = first + n - 1;
                    int64_t mark = extend_reserve(conn, seq, last);
                    pg::guard([mark] {
                        LWLockAcquire(g_lock, LW_EXCLUSIVE);
                        g_table->reserved(MyDatabaseId, mark);
                        LWLockRelease(g_lock);
                    });
                }
            }
            return first;
        }
        if (result == HorizonTable::Alloc::needs_load) {
            load(conn);
            continue;
        }
        Oid seq = reserve_sequence();
        if (!OidIsValid(seq))
            throw Error(errcodes::extension_not_ready, "eventstore: the position reserve is missing",
                        "The sequence eventstore.position_reserve was dropped.",
                        "Recreate the extension, or restore the sequence from a backup.");
        int64_t mark = extend_reserve(conn, seq, upto);
        pg::guard([mark] {
            LWLockAcquire(g_lock, LW_EXCLUSIVE);
            g_table->reserved(MyDatabaseId, mark);
            LWLockRelease(g_lock);
        });
    }
    throw Error(errcodes::internal_error, "eventstore: could not allocate positions");
}

int64_t horizon(spi::Connection& conn) {
    require_preloaded();
    for (int attempt = 0; attempt < 3; ++attempt) {
        int64_t h = pg::guard([] {
            LWLockAcquire(g_lock, LW_SHARED);
            int64_t v = g_table->horizon(MyDatabaseId);
            LWLockRelease(g_lock);
            return v;
        });
        if (h > 0) return h;
        load(conn);
    }
    throw Error(errcodes::internal_error, "eventstore: could not read the global-order horizon");
}

int64_t handed_out_end() {
    if (!g_preloaded || g_table == nullptr) return INT64_MAX;
    // Plain C: the caller's guard catches an error (no guard of its own, a
    // nested guard would throw through the caller's noexcept region).
    LWLockAcquire(g_lock, LW_SHARED);
    DbCounter* c = g_table->find(MyDatabaseId);
    int64_t end = c != nullptr ? c->next : INT64_MAX;
    LWLockRelease(g_lock);
    return end;
}

bool forget_database() {
    require_preloaded();
    return pg::guard([] {
        LWLockAcquire(g_lock, LW_EXCLUSIVE);
        bool ok = g_table->forget(MyDatabaseId);
        LWLockRelease(g_lock);
        return ok;
    });
}

}  // namespace casebook::eventstore::global_order
