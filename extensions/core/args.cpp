// casebook core: SQL arguments (see args.hpp).
#include "args.hpp"

#include "errcodes.hpp"

extern "C" {
#include "utils/array.h"
#include "utils/lsyscache.h"
}

namespace casebook::args {
namespace {

[[noreturn]] void null_argument(const char* name) {
    throw Error(errcodes::null_value_not_allowed, std::string("argument ") + name + " must not be NULL");
}

std::vector<int64_t> array_elements(FunctionCallInfo fcinfo, int n, const char* name, Oid elemtype) {
    if (is_null(fcinfo, n)) null_argument(name);
    Datum raw = PG_GETARG_DATUM(n);
    ArrayType* arr = pg::guard([&] { return DatumGetArrayTypeP(raw); });
    if (ARR_NDIM(arr) > 1)
        throw Error(errcodes::invalid_parameter_value,
                    std::string("argument ") + name + " must be a one-dimensional array");
    Datum* elems = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    bool byval = elemtype == INT8OID ? FLOAT8PASSBYVAL : true;
    int16 len = elemtype == INT8OID ? 8 : 4;
    char align = elemtype == INT8OID ? TYPALIGN_DOUBLE : TYPALIGN_INT;
    pg::guard([&] { deconstruct_array(arr, elemtype, len, byval, align, &elems, &nulls, &count); });
    std::vector<int64_t> out;
    out.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        if (nulls[i])
            throw Error(errcodes::null_value_not_allowed,
                        std::string("argument ") + name + " must not contain NULL (element " +
                            std::to_string(i + 1) + ")");
        out.push_back(elemtype == INT8OID ? DatumGetInt64(elems[i]) : DatumGetInt32(elems[i]));
    }
    return out;
}

}  // namespace

bool is_null(FunctionCallInfo fcinfo, int n) { return n >= PG_NARGS() || PG_ARGISNULL(n); }

int64_t int8(FunctionCallInfo fcinfo, int n, const char* name) {
    if (is_null(fcinfo, n)) null_argument(name);
    return PG_GETARG_INT64(n);
}

int32_t int4(FunctionCallInfo fcinfo, int n, const char* name) {
    if (is_null(fcinfo, n)) null_argument(name);
    return PG_GETARG_INT32(n);
}

std::optional<int64_t> optional_int8(FunctionCallInfo fcinfo, int n) {
    if (is_null(fcinfo, n)) return std::nullopt;
    return PG_GETARG_INT64(n);
}

std::string string(FunctionCallInfo fcinfo, int n, const char* name) {
    if (is_null(fcinfo, n)) null_argument(name);
    Datum raw = PG_GETARG_DATUM(n);
    text* t = pg::guard([&] { return DatumGetTextPP(raw); });
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

std::optional<std::string> optional_string(FunctionCallInfo fcinfo, int n) {
    if (is_null(fcinfo, n)) return std::nullopt;
    return string(fcinfo, n, "(optional)");
}

Datum datum(FunctionCallInfo fcinfo, int n, const char* name) {
    if (is_null(fcinfo, n)) null_argument(name);
    return PG_GETARG_DATUM(n);
}

std::vector<int64_t> int8_array(FunctionCallInfo fcinfo, int n, const char* name) {
    return array_elements(fcinfo, n, name, INT8OID);
}

std::vector<int64_t> int4_array(FunctionCallInfo fcinfo, int n, const char* name) {
    return array_elements(fcinfo, n, name, INT4OID);
}

}  // namespace casebook::args
