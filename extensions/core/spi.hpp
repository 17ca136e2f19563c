// casebook core: SQL from C++ through SPI, with plans prepared once per
// backend and kept, and typed parameters only (user values are never spliced
// into SQL text).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg_boundary.hpp"

namespace casebook::spi {

// One SQL statement with typed parameters ($1, $2, ...). Define them with
// static storage next to the code that runs them:
//     static spi::Statement kFind{"SELECT ... WHERE id = $1", {INT8OID}};
// The plan is prepared on first use in a backend, under
// search_path = pg_catalog, pg_temp, and kept with SPI_keepplan for the life
// of the backend. PostgreSQL re-parses a kept plan under the *current*
// search_path when it differs from the one it was parsed under, so the SQL
// functions that run statements must carry SET search_path = pg_catalog,
// pg_temp as well (and every name in the SQL is schema-qualified).
// How the kept plan is chosen. per_call is PostgreSQL's default: custom
// plans for the first executions, then the generic plan if it is not
// estimated to cost more; a statement whose generic plan is always
// estimated dearer (array parameters, skewed columns) is planned again at
// every execution. generic plans once (CURSOR_OPT_GENERIC_PLAN): for hot
// statements written for index paths that stay right for every value.
enum class PlanChoice { per_call, generic };

class Statement {
public:
    Statement(const char* sql, std::initializer_list<Oid> types, PlanChoice choice = PlanChoice::per_call)
        : sql_(sql), types_(types), choice_(choice) {}
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    const char* sql() const { return sql_; }
    int nargs() const { return static_cast<int>(types_.size()); }
    SPIPlanPtr plan();  // prepares on first call (needs an SPI connection)

private:
    const char* sql_;
    std::vector<Oid> types_;
    PlanChoice choice_;
    SPIPlanPtr plan_ = nullptr;
};

// A parameter value: a Datum or NULL.
struct Param {
    Datum value;
    bool null;
};
inline Param null_param() { return {0, true}; }
inline Param int8_param(int64_t v) { return {Int64GetDatum(v), false}; }
inline Param int4_param(int32_t v) { return {Int32GetDatum(v), false}; }
inline Param datum_param(Datum d, bool isnull = false) { return {d, isnull}; }
Param text_param(std::string_view s);                     // palloc'd copy
Param optional_text_param(const std::optional<std::string>& s);

// One-dimensional arrays, for "= ANY ($n)" parameters and array results.
// Built in the current memory context. NULL elements: array_with_nulls.
Datum array_of(const std::vector<Datum>& values, Oid element_type);
Datum array_with_nulls(const std::vector<Datum>& values, const std::vector<bool>& is_null, Oid element_type);
Datum int8_array(const std::vector<int64_t>& values);
// The elements of an int8[] (a NULL element is reported as XX000).
std::vector<int64_t> int8_values(Datum array);

// The rows of the last execute(); valid until the next SPI call.
class Rows {
public:
    Rows(SPITupleTable* table, uint64_t count) : table_(table), count_(count) {}
    uint64_t size() const { return count_; }
    bool empty() const { return count_ == 0; }

    // Columns are 1-based, as in SPI. A NULL comes back as std::nullopt.
    std::optional<Datum> datum(uint64_t row, int col) const;
    std::optional<int64_t> int8(uint64_t row, int col) const;
    std::optional<int32_t> int4(uint64_t row, int col) const;
    std::optional<bool> boolean(uint64_t row, int col) const;
    std::optional<std::string> text(uint64_t row, int col) const;  // any type, output function

    // Non-null accessors: a NULL is a bug in our SQL, reported as XX000.
    int64_t int8_at(uint64_t row, int col) const;
    int32_t int4_at(uint64_t row, int col) const;

    TupleDesc desc() const { return table_->tupdesc; }
    HeapTuple tuple(uint64_t row) const { return table_->vals[row]; }

private:
    SPITupleTable* table_;
    uint64_t count_;
};

// An SPI connection for the duration of one native function call.
// finish() must be called on the success path (it may throw); when the frame
// unwinds through an exception the connection is left to the transaction
// abort, which closes it (calling SPI after a caught ERROR is not allowed).
class Connection {
public:
    Connection();
    ~Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Runs the statement. read_only = true for pure reads (uses the calling
    // query's snapshot); limit 0 = all rows.
    Rows execute(Statement& stmt, std::initializer_list<Param> params, bool read_only = false,
                 long limit = 0);
    Rows execute(Statement& stmt, const std::vector<Param>& params, bool read_only = false,
                 long limit = 0);

    // Runs a read-only statement under a fresh snapshot taken now
    // (GetLatestSnapshot), whatever the isolation level: for reads that
    // must see everything committed before a point the caller chose.
    Rows execute_latest(Statement& stmt, std::initializer_list<Param> params, long limit = 0);
    Rows execute_latest(Statement& stmt, const std::vector<Param>& params, long limit = 0);

    // Copies a by-reference Datum out of SPI's memory into the caller's
    // (upper) context, so it survives finish().
    Datum copy_out(Datum value, Oid type);

    // Runs one statement given as text, for DDL whose identifiers were
    // quoted with quote_identifier (utility statements take no parameters).
    // Never splice a value into it: values are parameters of a Statement.
    void utility(const std::string& sql);

    void finish();

private:
    bool finished_ = false;
};

}  // namespace casebook::spi
