// feed: whether an index has the shape a direct (non-SQL) read or walk of it
// relies on. Plain C, for callers already under the guard.
#pragma once

#include "pg.hpp"

namespace casebook::feed {

// A valid B-tree on `heap` whose key columns are exactly `cols` (attribute
// numbers, of the given types), ascending, with their types' default
// operator classes and no expressions; with a predicate when `partial`,
// without one otherwise (the caller checks which predicate).
bool plain_btree(Oid index, Oid heap, int ncols, const AttrNumber* cols, const Oid* types, bool partial);

}  // namespace casebook::feed
