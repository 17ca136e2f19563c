// eventstore: append and reads over eventstore.events.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "event_batch.hpp"
#include "spi.hpp"

namespace casebook::eventstore {

// The columns of every event query: those of the type eventstore.event, in
// its order, then `personal` (which fields are sealed). A macro so that the
// statements are string literals.
#define ES_EVENT_COLUMNS                                                                        \
    "position, stream_id, version, event_id, event_type, schema_version, event_data, metadata, " \
    "created_at, category, personal"
inline constexpr int kEventColumnCount = 10;  // without personal

// The part of a stream name before the first '-' (the whole name if none).
std::string category_of(const std::string& stream);

// Validates a stream or category name (1..200 bytes) or raises 22023.
void check_name(const std::string& value, const char* what);

struct AppendRequest {
    std::string stream;
    std::vector<EventInput> events;
    std::optional<int64_t> expected_version;
    std::optional<std::string> category;
};

// Appends atomically; returns the stream's version after the call.
int64_t append(spi::Connection& conn, AppendRequest& request);

}  // namespace casebook::eventstore
