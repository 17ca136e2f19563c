// eventstore: projections (read models) folded from events natively.
//
// A projection keeps one state (jsonb) per stream of its category in
// eventstore.projection_state. Its apply path is either
//  * a declarative reducer executed by the C++ engine (json_program.hpp),
//    with no SQL call per event, or
//  * an SQL function (state jsonb, event eventstore.event) -> jsonb, called
//    natively through fmgr as the projection's owner.
// Inline projections fold in the append's transaction; async ones run from
// a subscription (run_projection, scheduled by pg_cron). rebuild() replays
// under an exclusive projection lock in one transaction, so readers see the
// old state or the new one, never half; appends wait for it and then fold
// their events on top of the rebuilt state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "event_batch.hpp"
#include "spi.hpp"

namespace casebook::eventstore::projections {

struct CreateRequest {
    std::string name;
    std::optional<std::string> category;
    std::optional<Datum> reducer;     // jsonb
    std::optional<Oid> apply_function;
    std::string mode;                 // inline | async
    int32_t snapshot_every = 0;       // 0 = no snapshots
    Datum initial_state;              // jsonb
};

// Creates the projection and builds it from the events already stored.
int64_t create(spi::Connection& conn, const CreateRequest& req);
bool drop(spi::Connection& conn, const std::string& name);
// Replays every event (or one stream's) into the projection's state.
int64_t rebuild(spi::Connection& conn, const std::string& name, const std::optional<std::string>& stream);
// Async projections: folds up to max events after the checkpoint.
int64_t run(spi::Connection& conn, const std::string& name, int32_t max);
int64_t run_all(spi::Connection& conn, int32_t max);
// The state at a version (0 = before the first event), from the nearest
// snapshot.
Datum state_at(spi::Connection& conn, const std::string& stream, int64_t version,
               const std::optional<std::string>& projection);
// The last version of stream created at or before `at` (0 if none).
int64_t version_at(spi::Connection& conn, const std::string& stream, TimestampTz at);

// Rebuilds one stream in every projection that applies to it (after
// forget: the states must not keep what can no longer be read).
void refresh_stream(spi::Connection& conn, const std::string& stream);

// Called by append after the insert: folds the new events into every inline
// projection of the category. first_position/first_version belong to the
// first event; created_at is the events' created_at.
struct Appended {
    const std::string& stream;
    const std::string& category;
    const std::vector<EventInput*>& events;
    int64_t first_position;
    int64_t first_version;
    std::vector<Datum> event_ids;
};
void fold_inline(spi::Connection& conn, const Appended& appended);

}  // namespace casebook::eventstore::projections
