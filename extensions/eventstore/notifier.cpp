// eventstore: the notifier workers (see notifier.hpp). Plain C style: this
// code runs in callbacks and in a background worker's main loop, with no C++
// objects alive across PostgreSQL calls.
#include "notifier.hpp"

#include "pg_boundary.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/async.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

PGDLLEXPORT void eventstore_notifier_main(Datum main_arg);
}

namespace casebook::eventstore::notifier {
namespace {

constexpr int kEntries = 64;
// A quiet database's worker exits after this long; the next append starts a
// new one. Short, because a connected worker blocks DROP DATABASE (which
// waits up to 5 s for other sessions to leave).
constexpr long kIdleExitMs = 2000;
// Wake-ups are coalesced to at most one NOTIFY per this many milliseconds.
constexpr long kMinGapMs = 10;

enum State : uint32_t { kNone = 0, kStarting = 1, kRunning = 2 };

struct Entry {
    Oid db;
    uint32_t state;
    uint32_t pending;          // commits since the last NOTIFY
    Latch* latch;              // the worker's, while running
    TimestampTz starting_since;  // when state became kStarting
};

// A worker registered but not running after this long is presumed lost
// (it could not start, or its database went away): start another.
constexpr long kStartTimeoutMs = 10000;

struct Shared {
    slock_t mutex;
    Entry entries[kEntries];
};

Shared* g_shared = nullptr;
bool g_wanted = false;  // this transaction appended and wants a wake-up
shmem_request_hook_type g_prev_request = nullptr;
shmem_startup_hook_type g_prev_startup = nullptr;

extern "C" void notifier_request_shmem(void) {
    if (g_prev_request) g_prev_request();
    RequestAddinShmemSpace(sizeof(Shared));
}

extern "C" void notifier_startup_shmem(void) {
    if (g_prev_startup) g_prev_startup();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found = false;
    g_shared = static_cast<Shared*>(ShmemInitStruct("casebook eventstore notifier", sizeof(Shared), &found));
    if (!found) {
        memset(g_shared, 0, sizeof(Shared));
        SpinLockInit(&g_shared->mutex);
    }
    LWLockRelease(AddinShmemInitLock);
}

// Caller holds the mutex. The entry of db, optionally claiming a free one.
Entry* entry_for(Oid db, bool claim) {
    Entry* free_entry = nullptr;
    for (auto& e : g_shared->entries) {
        if (e.db == db) return &e;
        if (free_entry == nullptr && e.db == InvalidOid) free_entry = &e;
    }
    if (!claim || free_entry == nullptr) return nullptr;
    *free_entry = Entry{db, kNone, 0, nullptr, 0};
    return free_entry;
}

bool start_worker(Oid db) {
    BackgroundWorker w;
    memset(&w, 0, sizeof w);
    snprintf(w.bgw_name, BGW_MAXLEN, "eventstore notifier for database %u", db);
    snprintf(w.bgw_type, BGW_MAXLEN, "eventstore notifier");
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = BGW_NEVER_RESTART;
    snprintf(w.bgw_library_name, BGW_MAXLEN, "eventstore");
    snprintf(w.bgw_function_name, BGW_MAXLEN, "eventstore_notifier_main");
    w.bgw_main_arg = ObjectIdGetDatum(db);
    return RegisterDynamicBackgroundWorker(&w, nullptr);
}

// The entry is freed: a database that was dropped does not keep one, and
// the next append in this database claims a fresh one and starts a worker.
extern "C" void notifier_worker_exit(int, Datum arg) {
    Oid db = DatumGetObjectId(arg);
    SpinLockAcquire(&g_shared->mutex);
    Entry* e = entry_for(db, false);
    if (e != nullptr && e->latch == MyLatch) *e = Entry{InvalidOid, kNone, 0, nullptr, 0};
    SpinLockRelease(&g_shared->mutex);
}

}  // namespace

void install() {
    g_prev_request = shmem_request_hook;
    shmem_request_hook = notifier_request_shmem;
    g_prev_startup = shmem_startup_hook;
    shmem_startup_hook = notifier_startup_shmem;
}

void request_wakeup() {
    if (g_wanted || g_shared == nullptr) return;
    Oid db = MyDatabaseId;
    bool start = false;
    bool have_entry = false;
    TimestampTz now = GetCurrentTimestamp();
    SpinLockAcquire(&g_shared->mutex);
    if (Entry* e = entry_for(db, true)) {
        have_entry = true;
        bool lost = e->state == kStarting &&
                    TimestampDifferenceExceeds(e->starting_since, now, static_cast<int>(kStartTimeoutMs));
        if (e->state == kNone || lost) {
            e->state = kStarting;
            e->starting_since = now;
            start = true;
        }
    }
    SpinLockRelease(&g_shared->mutex);
    bool started = !start || pg::guard([&] { return start_worker(db); });
    if (!have_entry || !started) {
        if (start) {
            SpinLockAcquire(&g_shared->mutex);
            if (Entry* e = entry_for(db, false)) e->state = kNone;
            SpinLockRelease(&g_shared->mutex);
        }
        // No worker can run: wake listeners from this transaction instead.
        pg::guard([] { Async_Notify("eventstore", ""); });
        return;
    }
    g_wanted = true;
}

void at_commit() {
    if (!g_wanted) return;
    g_wanted = false;
    Latch* latch = nullptr;
    SpinLockAcquire(&g_shared->mutex);
    if (Entry* e = entry_for(MyDatabaseId, false)) {
        // Only the first commit since the last NOTIFY wakes the worker: the
        // others find the flag set already (a SetLatch to another process
        // is a kill() system call).
        if (e->pending == 0) latch = e->latch;
        e->pending = 1;
    }
    SpinLockRelease(&g_shared->mutex);
    // A worker still starting picks the flag up when it begins its loop.
    if (latch != nullptr) SetLatch(latch);
}

void at_abort() { g_wanted = false; }

}  // namespace casebook::eventstore::notifier

using namespace casebook::eventstore::notifier;

// The worker: one per database with appends, started on demand.
void eventstore_notifier_main(Datum main_arg) {
    Oid db = DatumGetObjectId(main_arg);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnectionByOid(db, InvalidOid, 0);
    before_shmem_exit(notifier_worker_exit, ObjectIdGetDatum(db));

    SpinLockAcquire(&g_shared->mutex);
    Entry* entry = entry_for(db, true);
    if (entry != nullptr) {
        entry->state = kRunning;
        entry->latch = MyLatch;
    }
    SpinLockRelease(&g_shared->mutex);
    if (entry == nullptr) proc_exit(0);

    long idle_ms = 0;
    int rc = 0;  // the first round handles commits made while we started
    for (;;) {
        SpinLockAcquire(&g_shared->mutex);
        // Another worker took over this database (we were presumed lost):
        // leave it to that one.
        bool mine = entry->db == db && entry->latch == MyLatch;
        uint32_t pending = mine ? entry->pending : 0;
        if (mine) entry->pending = 0;
        SpinLockRelease(&g_shared->mutex);
        if (!mine) proc_exit(0);
        if (pending) {
            idle_ms = 0;
            SetCurrentStatementStartTimestamp();
            StartTransactionCommand();
            Async_Notify("eventstore", "");
            CommitTransactionCommand();
            pgstat_report_stat(false);
            // At most one NOTIFY per kMinGapMs: commits arriving meanwhile
            // share the next one.
            (void)WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kMinGapMs, PG_WAIT_EXTENSION);
            CHECK_FOR_INTERRUPTS();
        } else if (rc & WL_TIMEOUT) {
            idle_ms += 500;
            if (idle_ms >= kIdleExitMs) {
                // Quiet: give the worker slot back. An append arriving now
                // sees state kNone only after notifier_worker_exit ran, and starts a
                // new worker; one that saw kRunning set pending, which is
                // lost with us: wake-ups are best effort by design.
                proc_exit(0);
            }
        }
        rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 500, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    }
}
