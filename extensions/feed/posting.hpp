// feed: posting, deleting, and the fan-out (in the posting transaction for
// small audiences, in background batches for large ones).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "spi.hpp"

namespace casebook::feed {

int64_t post(spi::Connection& conn, int64_t author, const std::string& content, std::optional<Datum> media);
// true when the post was deleted now, false when it already was.
bool delete_post(spi::Connection& conn, int64_t post);
// Runs up to max_batches queued batches; returns the followers processed.
int64_t run_fanout(spi::Connection& conn, int32_t max_batches);

// The transaction queued a background job: start the database's fan-out
// worker after it commits (a no-op when it rolls back).
void request_worker();
// Once per session, from the first call that may write: when fan-outs are
// queued (a restart stopped the worker), this transaction's commit starts
// the worker (docs/feed.md, "Background fan-out").
void note_session_start(spi::Connection& conn);
bool session_start_noted();
// Trims the users' timelines back to feed.timeline_max now.
void trim_timelines(spi::Connection& conn, const std::vector<int64_t>& users);
// From _PG_init: the commit callback that starts the worker.
void install_worker_callback();

}  // namespace casebook::feed
