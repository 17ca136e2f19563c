// casebook core: SPI with kept plans (see spi.hpp).
#include "spi.hpp"

#include "errcodes.hpp"

#include <memory>

extern "C" {
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
}

namespace casebook::spi {
namespace {

[[noreturn]] void spi_failure(const char* what, int code, const char* sql) {
    throw Error(errcodes::internal_error, std::string("casebook: ") + what + " failed",
                std::string("SPI result ") + SPI_result_code_string(code) + " for: " + sql);
}

}  // namespace

Datum array_of(const std::vector<Datum>& values, Oid element_type) {
    std::vector<bool> no_nulls(values.size(), false);
    return array_with_nulls(values, no_nulls, element_type);
}

Datum array_with_nulls(const std::vector<Datum>& values, const std::vector<bool>& is_null, Oid element_type) {
    std::unique_ptr<bool[]> nulls(new bool[values.size() + 1]);
    for (std::size_t i = 0; i < values.size(); ++i) nulls[i] = is_null[i];
    const Datum* d = values.data();
    bool* np = nulls.get();
    int n = static_cast<int>(values.size());
    return pg::guard([&] {
        int16 len;
        bool byval;
        char align;
        get_typlenbyvalalign(element_type, &len, &byval, &align);
        int dims[1] = {n};
        int lbs[1] = {1};
        return PointerGetDatum(
            construct_md_array(const_cast<Datum*>(d), np, 1, dims, lbs, element_type, len, byval, align));
    });
}

Datum int8_array(const std::vector<int64_t>& values) {
    std::vector<Datum> d(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) d[i] = Int64GetDatum(values[i]);
    return array_of(d, INT8OID);
}

std::vector<int64_t> int8_values(Datum array) {
    Datum* elems = nullptr;
    bool* nulls = nullptr;
    int n = 0;
    pg::guard([&] {
        deconstruct_array(DatumGetArrayTypeP(array), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
    });
    std::vector<int64_t> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        if (nulls[i]) throw Error(errcodes::internal_error, "casebook: unexpected NULL in an int8[]");
        out[static_cast<std::size_t>(i)] = DatumGetInt64(elems[i]);
    }
    return out;
}

SPIPlanPtr Statement::plan() {
    if (plan_ != nullptr) return plan_;
    const char* sql = sql_;
    int nargs = static_cast<int>(types_.size());
    Oid* types = types_.data();
    int options = choice_ == PlanChoice::generic ? CURSOR_OPT_GENERIC_PLAN : 0;
    // One guarded region: set a safe search_path at a new GUC nest level,
    // prepare, keep, and pop the nest level. If preparing fails the error
    // aborts the transaction, which pops the nest level too.
    SPIPlanPtr prepared = pg::guard([&]() -> SPIPlanPtr {
        int nest = NewGUCNestLevel();
        (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                                GUC_ACTION_SAVE, true, 0, false);
        SPIPlanPtr p = SPI_prepare_cursor(sql, nargs, types, options);
        if (p != nullptr) SPI_keepplan(p);
        AtEOXact_GUC(true, nest);
        return p;
    });
    if (prepared == nullptr) spi_failure("SPI_prepare", SPI_result, sql_);
    plan_ = prepared;
    return plan_;
}

Param text_param(std::string_view s) { return {PointerGetDatum(pg::make_text(s)), false}; }

Param optional_text_param(const std::optional<std::string>& s) {
    return s ? text_param(*s) : null_param();
}

std::optional<Datum> Rows::datum(uint64_t row, int col) const {
    HeapTuple tup = table_->vals[row];
    TupleDesc desc = table_->tupdesc;
    bool isnull = false;
    Datum d = pg::guard([&] { return SPI_getbinval(tup, desc, col, &isnull); });
    if (isnull) return std::nullopt;
    return d;
}

std::optional<int64_t> Rows::int8(uint64_t row, int col) const {
    auto d = datum(row, col);
    if (!d) return std::nullopt;
    return DatumGetInt64(*d);
}

std::optional<int32_t> Rows::int4(uint64_t row, int col) const {
    auto d = datum(row, col);
    if (!d) return std::nullopt;
    return DatumGetInt32(*d);
}

std::optional<bool> Rows::boolean(uint64_t row, int col) const {
    auto d = datum(row, col);
    if (!d) return std::nullopt;
    return DatumGetBool(*d);
}

std::optional<std::string> Rows::text(uint64_t row, int col) const {
    HeapTuple tup = table_->vals[row];
    TupleDesc desc = table_->tupdesc;
    char* s = pg::guard([&] { return SPI_getvalue(tup, desc, col); });
    if (s == nullptr) return std::nullopt;
    std::string out(s);
    return out;
}

int64_t Rows::int8_at(uint64_t row, int col) const {
    auto v = int8(row, col);
    if (!v) throw Error(errcodes::internal_error, "casebook: unexpected NULL in an int8 column");
    return *v;
}

int32_t Rows::int4_at(uint64_t row, int col) const {
    auto v = int4(row, col);
    if (!v) throw Error(errcodes::internal_error, "casebook: unexpected NULL in an int4 column");
    return *v;
}

Connection::Connection() {
    int rc = pg::guard([] { return SPI_connect(); });
    if (rc != SPI_OK_CONNECT) spi_failure("SPI_connect", rc, "(connect)");
}

Rows Connection::execute(Statement& stmt, std::initializer_list<Param> params, bool read_only,
                         long limit) {
    return execute(stmt, std::vector<Param>(params), read_only, limit);
}

namespace {

struct ParamArrays {
    Datum values[16];
    char nulls[16];
};

void fill_params(Statement& stmt, const std::vector<Param>& params, ParamArrays& out) {
    if (static_cast<int>(params.size()) != stmt.nargs())
        throw Error(errcodes::internal_error, "casebook: wrong parameter count for a statement",
                    stmt.sql());
    if (params.size() > 16)
        throw Error(errcodes::internal_error, "casebook: more than 16 statement parameters");
    for (std::size_t i = 0; i < params.size(); ++i) {
        out.values[i] = params[i].value;
        out.nulls[i] = params[i].null ? 'n' : ' ';
    }
}

}  // namespace

Rows Connection::execute_latest(Statement& stmt, std::initializer_list<Param> params, long limit) {
    return execute_latest(stmt, std::vector<Param>(params), limit);
}

Rows Connection::execute_latest(Statement& stmt, const std::vector<Param>& params, long limit) {
    ParamArrays arrays;
    fill_params(stmt, params, arrays);
    SPIPlanPtr plan = stmt.plan();
    ParamArrays* ap = &arrays;
    // read_only = true with a snapshot: exactly that snapshot is used.
    // PushActiveSnapshot copies the static snapshot GetLatestSnapshot returns.
    int rc = pg::guard([&] {
        return SPI_execute_snapshot(plan, ap->values, ap->nulls, GetLatestSnapshot(),
                                    InvalidSnapshot, true, false, limit);
    });
    if (rc < 0) spi_failure("SPI_execute_snapshot", rc, stmt.sql());
    return Rows(SPI_tuptable, SPI_processed);
}

Rows Connection::execute(Statement& stmt, const std::vector<Param>& params, bool read_only,
                         long limit) {
    if (static_cast<int>(params.size()) != stmt.nargs())
        throw Error(errcodes::internal_error, "casebook: wrong parameter count for a statement",
                    stmt.sql());
    SPIPlanPtr plan = stmt.plan();
    // Plain arrays for the guarded region (no C++ objects inside it).
    Datum values[16];
    char nulls[16];
    if (params.size() > 16)
        throw Error(errcodes::internal_error, "casebook: more than 16 statement parameters");
    for (std::size_t i = 0; i < params.size(); ++i) {
        values[i] = params[i].value;
        nulls[i] = params[i].null ? 'n' : ' ';
    }
    Datum* vp = values;
    char* np = nulls;
    int rc = pg::guard([&] { return SPI_execute_plan(plan, vp, np, read_only, limit); });
    if (rc < 0) spi_failure("SPI_execute_plan", rc, stmt.sql());
    return Rows(SPI_tuptable, SPI_processed);
}

void Connection::utility(const std::string& sql) {
    const char* text = sql.c_str();
    int rc = pg::guard([text] { return SPI_execute(text, false, 0); });
    if (rc < 0) spi_failure("SPI_execute", rc, text);
}

Datum Connection::copy_out(Datum value, Oid type) {
    return pg::guard([&]() -> Datum {
        int16 typlen;
        bool typbyval;
        get_typlenbyval(type, &typlen, &typbyval);
        if (typbyval) return value;
        Size len = datumGetSize(value, typbyval, typlen);
        void* dst = SPI_palloc(len);
        memcpy(dst, DatumGetPointer(value), len);
        return PointerGetDatum(dst);
    });
}

void Connection::finish() {
    if (finished_) return;
    finished_ = true;
    int rc = pg::guard([] { return SPI_finish(); });
    if (rc != SPI_OK_FINISH) spi_failure("SPI_finish", rc, "(finish)");
}

}  // namespace casebook::spi
