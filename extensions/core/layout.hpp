// casebook core: the layout check every direct (executor-free) path stands on.
//
// A direct path reads or writes a table through the table and index access
// methods, skipping what the executor would do: defaults, generated columns,
// constraints, triggers, rules, row security, publications' checks, index
// maintenance beyond what the path does itself. It is only correct on the
// layout the extension created. So each extension states that layout as
// text (the lines describe() prints for a fresh install), and a direct path
// runs only while the relation's description equals it; anything a DBA
// added or changed sends the call to the SQL path, which honours all of it.
//
// The description covers: the kind (table, partitioned table and its key,
// partition of), every live column (name, type with typmod, collation when
// not the type's, NOT NULL, default, generated, identity, in attribute
// order) and dropped columns (so a match fixes every attribute number), every
// index (name, uniqueness, method, keys, operator classes, order, INCLUDE,
// predicate, validity), every constraint (CHECK, NOT VALID, unique and
// primary key with deferrability, exclusion, foreign keys) and every foreign
// key that references the table, every trigger that is not a constraint's
// own (name, enabled state, definition), rules, row security, inheritance
// children, every publication that carries the table, and the replica
// identity when not the default. Expressions are deparsed under
// search_path = pg_catalog, so every name of another schema is qualified.
//
// Two strengths:
//  * Use::write: the whole description must be equal.
//  * Use::read: what a read through the extension's indexes depends on:
//    the kind and row security as expected, the expected columns first
//    (columns added after them are allowed: attribute numbers stay), and
//    the expected index lines among the actual ones (other indexes,
//    constraints, triggers and publications are allowed: a read does not
//    maintain or fire them).
//
// The answer is cached per backend and relation until a relcache
// invalidation names the relation or one of its indexes (or all
// relations): after the first call it costs a hash lookup. Call it with the
// relation opened and locked, so that pending invalidations have been taken
// in (a CREATE INDEX CONCURRENTLY waits for that lock to be released).
//
// Plain C-level functions: call them under pg::guard.
#pragma once

#include "pg.hpp"

namespace casebook::pg::layout {

enum class Use { read, write };

// The relation's description (palloc'd in the current memory context), one
// fact a line, each line ending in '\n'. Partitions name their indexes,
// constraints and triggers after the parent's, so that every partition of a
// table has the same description.
char* describe(Relation rel);

// Whether rel's description matches `expected` for `use`. `expected` must
// be a string with static storage (it is also the cache's key). When it
// does not match and why is not null, *why points to a line that differs
// ("unexpected: …" or "missing: …"), valid until the next call.
bool matches(Relation rel, const char* expected, Use use, const char** why = nullptr);

}  // namespace casebook::pg::layout
