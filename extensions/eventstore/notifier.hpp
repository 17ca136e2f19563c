// eventstore: the wake-up for LISTENers (NOTIFY eventstore), sent by a
// background worker per database instead of by each appending transaction.
//
// A NOTIFY inside a transaction takes a database-wide lock at commit and
// holds it through the commit's WAL flush, so every notifying transaction of
// the database commits one at a time: with NOTIFY in append, concurrent
// appenders lost group commit (measured: 8 clients ran at a third of a plain
// INSERT). Instead, append only marks its transaction; after the commit is
// visible (and its global-order slot released) the backend sets a flag in
// shared memory and wakes the database's notifier worker, which sends one
// NOTIFY for all commits since its last one. Wake-ups are coalesced and
// carry no payload; polling alone stays correct when they are lost.
#pragma once

namespace casebook::eventstore::notifier {

void install();  // from _PG_init under shared_preload_libraries
// From append: this transaction should wake listeners when it commits.
// Starts the database's worker if needed; if no worker can run (no free
// worker slot) it falls back to a NOTIFY in this transaction.
void request_wakeup();
// From the transaction callback, after the commit is visible / on abort.
void at_commit();
void at_abort();

}  // namespace casebook::eventstore::notifier
