// eventstore: reads (stream, category, all) and the set-returning plumbing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "spi.hpp"

namespace casebook::eventstore {

// Materialized result set of a set-returning entry point. Create it before
// the SPI connection (it allocates in the per-query context).
class ResultSink {
public:
    explicit ResultSink(FunctionCallInfo fcinfo);
    // Appends every row of `rows` (the columns of ES_EVENT_COLUMNS) as
    // readers see it: through the read pipeline (upcasters). When member >= 0
    // it is put in front as the first column.
    void put_events(spi::Connection& conn, const spi::Rows& rows, int32_t member = -1);

private:
    ReturnSetInfo* rsinfo_;
};

// Validates max (1..10000) or raises 22023.
int32_t check_max(int32_t max);

void read_stream(spi::Connection& conn, ResultSink& sink, const std::string& stream,
                 std::optional<int64_t> from_version, int32_t max, bool backward);

// Events with position > after, below the horizon, in position order; an
// empty category reads all. Uses a snapshot taken after the horizon.
void read_global(spi::Connection& conn, ResultSink& sink, const std::optional<std::string>& category,
                 int64_t after, int32_t max);

// The last readable position (horizon - 1).
int64_t head_position(spi::Connection& conn);

}  // namespace casebook::eventstore
