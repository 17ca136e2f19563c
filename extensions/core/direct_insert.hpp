// casebook core: inserting rows straight through the table and index access
// methods (table_multi_insert, then every index), without the executor. For
// hot write paths that insert many rows of fixed shape (eventstore's append,
// feed's fan-out).
//
// These are plain PostgreSQL-level calls: use them inside one pg::guard.
// The caller opens the relation with RowExclusiveLock (keeping the lock to
// the end of the transaction, as the executor does) and falls back to SQL
// when needs_executor() says the rows must go through the executor.
#pragma once

#include "pg.hpp"

namespace casebook::pg {

// What the executor checks before an INSERT into rel: not in a read-only
// transaction or on a standby (25006), not in parallel mode, and INSERT
// privilege for the current user (42501).
void check_insert_allowed(Relation rel);

// true when rows for rel must go through the executor: INSERT triggers,
// rules, row security, or a partitioned table (rows need routing).
bool needs_executor(Relation rel);
// The same without the partitioning test: INSERT triggers, rules or row
// security (for a caller that routes rows to partitions itself).
bool has_insert_side_effects(Relation rel);

// Fills row i: values and isnull have one entry per attribute of the
// relation, all NULL on entry (dropped columns stay NULL).
using FillRow = void (*)(void* arg, int i, Datum* values, bool* isnull);

// The columns that are not dropped: a caller that fills a fixed set of
// columns uses SQL when the table has others (their defaults would not be
// applied here).
int live_columns(Relation rel);

// Inserts count rows. With check_constraints, NOT NULL and CHECK
// constraints are enforced as the executor would; without, the caller
// vouches for them (values of its own, non-null by construction). Every
// index is maintained and unique violations are raised as usual (23505).
// The rows are visible to later commands of the transaction.
void insert_rows(Relation rel, int count, FillRow fill, void* arg, bool check_constraints);

}  // namespace casebook::pg
