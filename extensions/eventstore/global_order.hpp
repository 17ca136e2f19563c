// eventstore: the gap-free global order in shared memory (see horizon.hpp for
// the algorithm). Needs shared_preload_libraries = 'eventstore'.
#pragma once

#include <cstdint>

#include "spi.hpp"

namespace casebook::eventstore::global_order {

// From _PG_init: requests shared memory and registers the transaction
// callback when loaded through shared_preload_libraries.
void install();

// Throws KB001 (extension_not_ready) when the library was not preloaded.
void require_preloaded();

// Takes n consecutive positions for the current transaction and returns the
// first. Readers are held below them until this transaction ends.
int64_t allocate(spi::Connection& conn, int64_t n);

// The readable end of the current database: every position below it is
// settled (committed or abandoned). Take the read snapshot after this call.
int64_t horizon(spi::Connection& conn);

// The next position this database will hand out: no event lies at or above
// it (raw INSERTs with explicit positions aside). INT64_MAX when the counter
// is not loaded in shared memory yet. Nothing is loaded. Plain C for use
// inside a guarded region (pg::guard): it takes the counter's LWLock and
// does not catch errors itself.
int64_t handed_out_end();

// Forgets this database's counter so the next use reloads it from the
// events table (CREATE EXTENSION, restores). False if appends are in flight.
bool forget_database();

}  // namespace casebook::eventstore::global_order
