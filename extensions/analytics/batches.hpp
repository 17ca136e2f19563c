// analytics: the positional watermark behind exact incremental refreshes.
//
// Every row of a tracked table carries the batch number of the transaction
// that wrote it (column _batch, default analytics._batch(<sequence>)): one
// number per transaction and table, drawn from the table's batch sequence
// the first time the transaction writes a row there. A writer takes its
// lock on the table before it draws. So a refresh that
//   1. reads the sequence's last value H,
//   2. waits for every transaction holding a writer's lock on the table or
//      one of its partitions (wait_for_writers),
//   3. then aggregates the rows with watermark < _batch <= H,
// sees every row of those batches committed (or gone with a rollback), and
// no later refresh sees them again: each committed row is folded once,
// late rows (an old event_time) and rows of transactions that were open
// during an earlier refresh included.
#pragma once

#include <cstdint>

#include "pg.hpp"

namespace casebook::analytics::batches {

// The batch number of the current transaction for this sequence (drawn on
// the first call in the transaction). The sequence must be a batch
// sequence of the extension (KB501 otherwise).
int64_t current(Oid sequence);

// Waits until every transaction that holds ROW EXCLUSIVE (or stronger) on
// the table or any of its partitions has ended. Does not block new ones.
// lock_timeout and cancel apply.
void wait_for_writers(Oid table);

}  // namespace casebook::analytics::batches
