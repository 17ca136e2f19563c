// casebook core: opening an extension's table or index by a cached OID.
//
// Direct paths keep relation OIDs per backend. A DROP EXTENSION (or DROP
// TABLE, or REINDEX CONCURRENTLY for an index) that commits while a call
// waits for its lock leaves that OID naming nothing; PostgreSQL's
// table_open/index_open then fail with XX000 "could not open relation with
// OID". These lock first, check that the relation still exists, and raise
// 42P01 (undefined_table) with the name the caller gives otherwise.
//
// Plain C-level functions: call them under pg::guard.
#pragma once

#include "pg.hpp"

namespace casebook::pg {

Relation open_table(Oid relid, LOCKMODE lockmode, const char* name);
Relation open_index(Oid relid, LOCKMODE lockmode, const char* name);

}  // namespace casebook::pg
