// eventstore: named subscriptions with durable checkpoints, split over
// competing members by stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "reads.hpp"
#include "spi.hpp"

namespace casebook::eventstore::subscriptions {

// Names starting with "projection:" belong to async projections: only the
// projection code (internal = true) may create or drop them.
void subscribe(spi::Connection& conn, const std::string& name, const std::optional<std::string>& category,
               int32_t members, int64_t start_after, bool internal = false);
bool unsubscribe(spi::Connection& conn, const std::string& name, bool internal = false);
void poll(spi::Connection& conn, ResultSink& sink, const std::string& name, int32_t max,
          std::optional<int32_t> member);
int64_t ack(spi::Connection& conn, const std::string& name, int64_t position, std::optional<int32_t> member);

}  // namespace casebook::eventstore::subscriptions
