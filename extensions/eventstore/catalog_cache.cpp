// eventstore: definition caches' invalidation (see catalog_cache.hpp).
#include "catalog_cache.hpp"

#include "pg_boundary.hpp"

extern "C" {
#include "utils/inval.h"
}

namespace casebook::eventstore::catalog {
namespace {

uint64_t g_generation = 1;

// Any relcache invalidation may concern a definition table (a full reset
// passes InvalidOid): reload on next use. They are rare in steady state.
extern "C" void eventstore_on_relcache(Datum, Oid) { ++g_generation; }

}  // namespace

void install() { CacheRegisterRelcacheCallback(eventstore_on_relcache, 0); }

uint64_t generation() {
    // Deliver pending invalidations first (a commit by another backend).
    pg::guard([] { AcceptInvalidationMessages(); });
    return g_generation;
}

uint64_t generation_as_is() noexcept { return g_generation; }

}  // namespace casebook::eventstore::catalog
