// commerce: the hold fast path without the SQL executor.
//
// take_hold() is plain C-style code over PostgreSQL's table and index access
// methods: only POD locals, no C++ object, no exception. It may raise a
// PostgreSQL ERROR, so callers run it through casebook::pg::guard (one call).
#pragma once

#include <cstdint>

#include "pg.hpp"

namespace casebook::commerce::direct {

enum class HoldStatus : int {
    taken,        // the hold is written; id and bucket are set
    not_taken,    // no lockable row with enough stock (or no row): use the SQL path
    unsupported,  // the tables are not as the extension created them (tables.hpp): use the SQL path
};

struct HoldResult {
    HoldStatus status;
    int64_t id;
    int32_t bucket;
    int32_t nbuckets;  // as seen on the last stock row read (0 if none)
};

// Takes a hold of qty units of variant for `hold` (an interval Datum).
// bucketed = false: lock bucket 0 of a one-bucket variant (waiting for a
// concurrent holder, as an UPDATE would). bucketed = true: try the variant's
// buckets from home_bucket on, skipping rows another transaction has locked.
HoldResult take_hold(int64_t variant, int32_t qty, Datum hold, bool bucketed, int32_t home_bucket);

}  // namespace casebook::commerce::direct
