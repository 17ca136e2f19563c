// casebook core: per-database background workers (see background.hpp).
//
// Plain C under the boundary's entry (pg_boundary.hpp): no C++ object lives
// across a PostgreSQL call here.
#include "background.hpp"

#include <cstring>

#include "pg_boundary.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

PGDLLEXPORT void casebook_startup_main(Datum arg);
}

namespace casebook::pg::background {
namespace {

void fill(BackgroundWorker* w, const char* library, const char* function, const char* name) {
    memset(w, 0, sizeof *w);
    w->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w->bgw_start_time = BgWorkerStart_RecoveryFinished;
    w->bgw_restart_time = BGW_NEVER_RESTART;
    snprintf(w->bgw_library_name, BGW_MAXLEN, "%s", library);
    snprintf(w->bgw_function_name, BGW_MAXLEN, "%s", function);
    snprintf(w->bgw_name, BGW_MAXLEN, "%s", name);
    snprintf(w->bgw_type, BGW_MAXLEN, "%s", name);
}

// The databases that accept connections, read from pg_database (a shared
// catalog: the launcher is connected to no database). In TopMemoryContext.
Oid* list_databases(int* count) {
    int cap = 16, n = 0;
    Oid* oids = static_cast<Oid*>(MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * cap));
    StartTransactionCommand();
    Relation rel = table_open(DatabaseRelationId, AccessShareLock);
    TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
    HeapTuple tup;
    while ((tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
        auto* db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tup));
        if (!db->datallowconn || db->datistemplate) continue;
        if (n == cap) {
            cap *= 2;
            oids = static_cast<Oid*>(repalloc(oids, sizeof(Oid) * cap));
        }
        oids[n++] = db->oid;
    }
    table_endscan(scan);
    table_close(rel, AccessShareLock);
    CommitTransactionCommand();
    *count = n;
    return oids;
}

// Waits on the latch for ms (or for postmaster death: then exits).
void nap(long ms) {
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
}

void startup(const char* library, const char* per_database, const char* name) {
    int n = 0;
    Oid* dbs = list_databases(&n);
    for (int i = 0; i < n; i++) {
        // A free slot may take a while when many databases start work at
        // once: retry for a minute, then leave that database to its usual
        // triggers (docs of the extension).
        bool started = false;
        for (int attempt = 0; attempt < 120 && !started; attempt++) {
            BackgroundWorker w;
            fill(&w, library, per_database, name);
            w.bgw_main_arg = ObjectIdGetDatum(dbs[i]);
            w.bgw_notify_pid = MyProcPid;
            BackgroundWorkerHandle* handle = nullptr;
            started = RegisterDynamicBackgroundWorker(&w, &handle);
            if (started) {
                pid_t pid;
                (void)WaitForBackgroundWorkerStartup(handle, &pid);
            } else {
                nap(500);
            }
        }
        if (!started)
            ereport(LOG, (errmsg("%s: no free background worker slot for database %u; skipped", name, dbs[i])));
    }
    pfree(dbs);
}

}  // namespace

bool start(const char* library, const char* function, const char* name, Oid db) {
    BackgroundWorker w;
    fill(&w, library, function, name);
    w.bgw_main_arg = ObjectIdGetDatum(db);
    w.bgw_notify_pid = 0;
    return RegisterDynamicBackgroundWorker(&w, nullptr);
}

void register_startup(const char* library, const char* per_database, const char* name) {
    BackgroundWorker w;
    fill(&w, library, "casebook_startup_main", name);
    // Not BGW_NEVER_RESTART: the postmaster forgets such workers at a crash
    // restart, and the launcher's work is needed then most. It stays (idle,
    // on its latch) once the databases' workers have started, so it runs
    // again after the next restart only.
    w.bgw_restart_time = 5;
    snprintf(w.bgw_extra, BGW_EXTRALEN, "%s", per_database);
    pg::guard([&] { RegisterBackgroundWorker(&w); });
}

void connect_worker(Datum arg, const char* application_name) {
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
    // The worker runs as the bootstrap superuser: whatever search_path the
    // database's owner set for it (ALTER DATABASE ... SET), its statements
    // resolve functions and operators in pg_catalog only.
    SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
    pgstat_report_appname(application_name);
}

int64 run_int8(const char* sql) {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    SPI_connect();
    pgstat_report_activity(STATE_RUNNING, sql);
    int64 v = 0;
    if (SPI_execute(sql, false, 1) == SPI_OK_SELECT && SPI_processed == 1) {
        bool isnull = true;
        Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
        if (!isnull) v = DatumGetInt64(d);
    }
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
    pgstat_report_activity(STATE_IDLE, nullptr);
    return v;
}

}  // namespace casebook::pg::background

// The startup launcher (register_startup). Runs once per server start.
void casebook_startup_main(Datum) {
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
    char library[BGW_MAXLEN], per_database[BGW_EXTRALEN], name[BGW_MAXLEN];
    snprintf(library, sizeof library, "%s", MyBgworkerEntry->bgw_library_name);
    snprintf(per_database, sizeof per_database, "%s", MyBgworkerEntry->bgw_extra);
    snprintf(name, sizeof name, "%s", MyBgworkerEntry->bgw_name);
    pgstat_report_appname(name);
    casebook::pg::entry([&] { casebook::pg::background::startup(library, per_database, name); });
    // Done until the next start: idle, so that the postmaster keeps this
    // worker registered (an exit would unregister it).
    for (;;) casebook::pg::background::nap(3600L * 1000);
}
