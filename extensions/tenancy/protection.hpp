// tenancy: protected tables (RLS bound to the tenant context).
//
// protect(table, column) enables and forces row security on the table and
// on every partition or child below it, and creates on each:
//   tenancy_guard  RESTRICTIVE, FOR ALL, TO PUBLIC:
//                  USING and WITH CHECK (column = (SELECT tenancy.tenant()))
//   tenancy_rows   PERMISSIVE (tenancy._rows(), i.e. true), only when the
//                  table has no permissive policy of its own (row security
//                  needs one to show rows); through _rows() it depends on the
//                  extension, so DROP EXTENSION ... CASCADE leaves no
//                  permissive policy behind
// The guard's scalar subquery is an InitPlan: the context is read once per
// statement, and the comparison is an index condition on a parameter, as
// for a hand-written "column = $1". The registry tenancy.protected_tables
// records each relation with the guard's text as created, so the event
// triggers can refuse DDL that weakens it (KB407) and protect partitions
// added later.
#pragma once

#include <cstdint>
#include <string>

#include "pg_boundary.hpp"

namespace casebook::tenancy::protection {

// Number of relations protected (the table and each partition/child).
int64_t protect(Oid relid, const std::string& column);
// Number of relations unprotected; the table must be one protect() was
// called on (its partitions go with it).
int64_t unprotect(Oid relid);
// True while protect()/unprotect() run their own DDL: the event triggers
// leave those statements alone.
bool busy();
// Registry rows of relations that no longer exist (the sql_drop trigger).
int64_t forget_dropped();

}  // namespace casebook::tenancy::protection
