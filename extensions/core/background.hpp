// casebook core: per-database background workers (the one helper every
// extension uses to start them; docs/architecture.md, "Background workers").
//
// Two kinds:
//  * start(): a dynamic worker for one database, registered now (from a
//    transaction callback after a commit, say); false when every worker
//    slot is taken.
//  * register_startup(): from _PG_init of a library loaded through
//    shared_preload_libraries, a static worker (the startup launcher) that,
//    each time the server has started and finished recovery (a clean start,
//    a crash restart, a promotion), starts the library's per-database
//    function once in every database that accepts connections. The
//    per-database function finds out itself whether its extension is
//    installed there, and exits at once when it is not.
//
// A per-database function is a PGDLLEXPORT void f(Datum) of the library;
// its argument is the database's OID.
#pragma once

#include "pg.hpp"

namespace casebook::pg::background {

// Registers library.function as a dynamic worker for database db. false:
// no free worker slot (max_worker_processes), nothing started.
bool start(const char* library, const char* function, const char* name, Oid db);

// From _PG_init (only when process_shared_preload_libraries_in_progress):
// the startup launcher of library, which runs per_database in every
// database after each start. name is shown in pg_stat_activity.
void register_startup(const char* library, const char* per_database, const char* name);

// Connects a per-database worker to the database in arg (an OID) as the
// bootstrap superuser, with SIGTERM ending it and search_path fixed to
// pg_catalog, pg_temp; call first in its main.
void connect_worker(Datum arg, const char* application_name);

// In a worker: runs sql (a query of one row) in a transaction of its own,
// shown in pg_stat_activity, and returns its first column as int8 (0 when
// NULL or no row). Plain C: an ERROR ends the worker, as in any worker.
int64 run_int8(const char* sql);

}  // namespace casebook::pg::background
