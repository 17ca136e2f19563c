// feed: the home feed (feed.home), merged natively.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "spi.hpp"

namespace casebook::feed {

// Writes up to `limit` rows into the function's materialized result
// (InitMaterializedSRF done by the caller).
// Reads directly (home_reader.hpp) where it can, through SQL otherwise; an
// SPI connection is made only when something must be written.
void home(FunctionCallInfo fcinfo, int64_t user, int32_t limit, const std::optional<std::string>& cursor);

}  // namespace casebook::feed
