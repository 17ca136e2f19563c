// eventstore: reads (see reads.hpp).
#include "reads.hpp"

#include <limits>

#include "errcodes.hpp"
#include "event_record.hpp"
#include "global_order.hpp"
#include "personal.hpp"
#include "store.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace casebook::eventstore {
namespace {

spi::Statement kStreamForward{
    "SELECT " ES_EVENT_COLUMNS " FROM eventstore.events "
    "WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3",
    {TEXTOID, INT8OID, INT4OID}};

spi::Statement kStreamBackward{
    "SELECT " ES_EVENT_COLUMNS " FROM eventstore.events "
    "WHERE stream_id = $1 AND version <= $2 ORDER BY version DESC LIMIT $3",
    {TEXTOID, INT8OID, INT4OID}};

spi::Statement kAll{
    "SELECT " ES_EVENT_COLUMNS " FROM eventstore.events "
    "WHERE position > $1 AND position < $2 ORDER BY position LIMIT $3",
    {INT8OID, INT8OID, INT4OID}};

spi::Statement kCategory{
    "SELECT " ES_EVENT_COLUMNS " FROM eventstore.events "
    "WHERE category = $4 AND position > $1 AND position < $2 ORDER BY position LIMIT $3",
    {INT8OID, INT8OID, INT4OID, TEXTOID}};

}  // namespace

ResultSink::ResultSink(FunctionCallInfo fcinfo) {
    pg::guard([&] { InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC); });
    rsinfo_ = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
}

void ResultSink::put_events(spi::Connection& conn, const spi::Rows& rows, int32_t member) {
    auto pipeline = Pipeline::current(conn);
    personal::KeyRing keys(conn);
    TupleDesc src = rows.desc();
    ReturnSetInfo* rs = rsinfo_;
    int offset = member >= 0 ? 1 : 0;
    // The rows carry the event columns and then `personal`.
    if (rs->setDesc->natts != kEventColumnCount + offset || src->natts != kEventColumnCount + 1)
        throw Error(errcodes::internal_error, "eventstore: result type does not match the event columns");
    for (uint64_t r = 0; r < rows.size(); ++r) {
        Datum values[kEventColumnCount + 2];
        bool nulls[kEventColumnCount + 2];
        HeapTuple tup = rows.tuple(r);
        Datum* vp = values + offset;
        bool* np = nulls + offset;
        if (offset) {
            values[0] = Int32GetDatum(member);
            nulls[0] = false;
        }
        Datum* all_values = values;
        bool* all_nulls = nulls;
        pg::guard([&] { heap_deform_tuple(tup, src, vp, np); });
        if (!np[kEventColumnCount] || !pipeline->empty()) {
            EventRecord ev = EventRecord::from_row(rows, r);
            if (pipeline->present(ev, keys)) {
                vp[5] = Int32GetDatum(ev.schema_version);
                vp[6] = ev.data;
            }
        }
        pg::guard([&] { tuplestore_putvalues(rs->setResult, rs->setDesc, all_values, all_nulls); });
    }
}

int32_t check_max(int32_t max) {
    if (max < 1 || max > 10000)
        throw Error(errcodes::invalid_parameter_value, "max must be between 1 and 10000, got " + std::to_string(max));
    return max;
}

void read_stream(spi::Connection& conn, ResultSink& sink, const std::string& stream,
                 std::optional<int64_t> from_version, int32_t max, bool backward) {
    check_name(stream, "stream");
    check_max(max);
    if (from_version && *from_version < 0)
        throw Error(errcodes::invalid_parameter_value,
                    "from_version must not be negative, got " + std::to_string(*from_version));
    int64_t from = from_version ? *from_version : (backward ? std::numeric_limits<int64_t>::max() : 1);
    spi::Rows rows = conn.execute(backward ? kStreamBackward : kStreamForward,
                                  {spi::text_param(stream), spi::int8_param(from), spi::int4_param(max)}, true);
    sink.put_events(conn, rows);
}

void read_global(spi::Connection& conn, ResultSink& sink, const std::optional<std::string>& category,
                 int64_t after, int32_t max) {
    check_max(max);
    if (after < 0)
        throw Error(errcodes::invalid_parameter_value,
                    "after_position must not be negative, got " + std::to_string(after));
    if (category) check_name(*category, "category");
    // Horizon first, snapshot second (see horizon.hpp).
    int64_t horizon = global_order::horizon(conn);
    spi::Rows rows = category
        ? conn.execute_latest(kCategory, {spi::int8_param(after), spi::int8_param(horizon), spi::int4_param(max),
                                          spi::text_param(*category)})
        : conn.execute_latest(kAll, {spi::int8_param(after), spi::int8_param(horizon), spi::int4_param(max)});
    sink.put_events(conn, rows);
}

int64_t head_position(spi::Connection& conn) { return global_order::horizon(conn) - 1; }

}  // namespace casebook::eventstore
