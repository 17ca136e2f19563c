// casebook core: SQL arguments (see args.hpp).
#include "args.hpp"

#include "errcodes.hpp"

extern "C" {
#include "utils/array.h"
#include "fmgr.h"
#include "utils/lsyscache.h"
}

namespace casebook::args {
namespace {

[[noreturn]] void null_argument(const char* name) {
    throw Error(errcodes::null_value_not_allowed, std::string("argument ") + name + " must not be NULL");
}

// A value read from a bigint argument (or element) where the code takes an
// integer: 22003 outside the integer range, naming the argument.
int32_t narrow(int64_t v, const std::string& what) {
    if (v > INT32_MAX)
        throw Error(errcodes::numeric_value_out_of_range,
                    what + " must be at most 2147483647, got " + std::to_string(v));
    if (v < INT32_MIN)
        throw Error(errcodes::numeric_value_out_of_range,
                    what + " must be at least -2147483648, got " + std::to_string(v));
    return static_cast<int32_t>(v);
}

// The declared type of argument n: from the call expression, else from the
// function's catalog row (a call without one, e.g. through
// DirectFunctionCall, has neither: InvalidOid).
Oid argument_type(FunctionCallInfo fcinfo, int n) {
    return pg::guard([&]() -> Oid {
        Oid t = fcinfo->flinfo ? get_fn_expr_argtype(fcinfo->flinfo, n) : InvalidOid;
        if (OidIsValid(t) || fcinfo->flinfo == nullptr || !OidIsValid(fcinfo->flinfo->fn_oid)) return t;
        Oid* types = nullptr;
        int nargs = 0;
        (void)get_func_signature(fcinfo->flinfo->fn_oid, &types, &nargs);
        t = n < nargs ? types[n] : InvalidOid;
        pfree(types);
        return t;
    });
}

// The elements of an integer or bigint array argument (whichever it is:
// its element type says), as int64.
std::vector<int64_t> array_elements(FunctionCallInfo fcinfo, int n, const char* name) {
    if (is_null(fcinfo, n)) null_argument(name);
    Datum raw = PG_GETARG_DATUM(n);
    ArrayType* arr = pg::guard([&] { return DatumGetArrayTypeP(raw); });
    if (ARR_NDIM(arr) > 1)
        throw Error(errcodes::invalid_parameter_value,
                    std::string("argument ") + name + " must be a one-dimensional array");
    Oid elemtype = ARR_ELEMTYPE(arr);
    if (elemtype != INT8OID && elemtype != INT4OID)
        throw Error(errcodes::internal_error, std::string("argument ") + name + " is not an integer array");
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
    if (argument_type(fcinfo, n) == INT8OID) return narrow(PG_GETARG_INT64(n), name);
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

std::string identifier(FunctionCallInfo fcinfo, int n, const char* name) {
    if (is_null(fcinfo, n)) null_argument(name);
    return std::string(NameStr(*PG_GETARG_NAME(n)));
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
    return array_elements(fcinfo, n, name);
}

std::vector<int64_t> int4_array(FunctionCallInfo fcinfo, int n, const char* name) {
    std::vector<int64_t> out = array_elements(fcinfo, n, name);
    for (std::size_t i = 0; i < out.size(); ++i)
        (void)narrow(out[i], std::string(name) + "[" + std::to_string(i + 1) + "]");
    return out;
}

}  // namespace casebook::args
