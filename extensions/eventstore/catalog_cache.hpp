// eventstore: per-backend caches of small definition tables (projections,
// upcasters, personal fields) and their invalidation.
//
// A statement-level trigger on each definition table sends a relcache
// invalidation for it; PostgreSQL delivers that to every backend when the
// writing transaction commits (and to the writer at once). A callback bumps
// a generation counter, and a cache reloads when its generation is old.
#pragma once

#include <cstdint>

namespace casebook::eventstore::catalog {

void install();  // from _PG_init
uint64_t generation();
// The counter as it stands, without taking in pending invalidations (for
// plain C code under a guard that has just locked a relation, which took
// them in).
uint64_t generation_as_is() noexcept;

}  // namespace casebook::eventstore::catalog
