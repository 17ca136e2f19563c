// casebook core: inserting rows straight through the table and index access
// methods (table_multi_insert, then every index), without the executor. For
// hot write paths that insert many rows of fixed shape (eventstore's append,
// feed's fan-out).
//
// These are plain PostgreSQL-level calls: use them inside one pg::guard.
// The caller opens the relation with RowExclusiveLock (keeping the lock to
// the end of the transaction, as the executor does) and falls back to SQL
// when the relation's layout is not the one its extension created
// (layout::matches with Use::write).
#pragma once

#include "pg.hpp"

namespace casebook::pg {

// What the executor checks before an INSERT into rel: not in a read-only
// transaction or on a standby (25006), not in parallel mode, and INSERT
// privilege for the current user (42501).
void check_insert_allowed(Relation rel);

// Fills row i: values and isnull have one entry per attribute of the
// relation, all NULL on entry (dropped columns stay NULL).
using FillRow = void (*)(void* arg, int i, Datum* values, bool* isnull);

// Inserts count rows. Only for a relation whose layout matches the one its
// extension created (core/layout.hpp, Use::write): no defaults, generated
// columns, triggers, rules or row security apply, and the caller's values
// satisfy the layout's own NOT NULL and CHECK constraints by construction.
// Every index is maintained and unique violations are raised as usual
// (23505, with the index's name). The rows are visible to later commands of
// the transaction.
void insert_rows(Relation rel, int count, FillRow fill, void* arg);

}  // namespace casebook::pg
