// casebook core: reading SQL arguments into C++ values with clear errors.
// A NULL where a value is required raises 22004 naming the argument.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg_boundary.hpp"

namespace casebook::args {

bool is_null(FunctionCallInfo fcinfo, int n);
int64_t int8(FunctionCallInfo fcinfo, int n, const char* name);
// An integer argument, declared integer or bigint (since 0.2.0 every count
// and quantity is bigint: a value outside the integer range is 22003
// naming the argument, never "function does not exist").
int32_t int4(FunctionCallInfo fcinfo, int n, const char* name);
std::optional<int64_t> optional_int8(FunctionCallInfo fcinfo, int n);
std::string string(FunctionCallInfo fcinfo, int n, const char* name);
std::optional<std::string> optional_string(FunctionCallInfo fcinfo, int n);
// A `name` argument (NameData, not text).
std::string identifier(FunctionCallInfo fcinfo, int n, const char* name);
// The raw Datum of a non-NULL argument (for passing it on as a parameter).
Datum datum(FunctionCallInfo fcinfo, int n, const char* name);
// bigint[] / integer[] elements (either, by the array's element type); NULL
// elements raise 22004; multi-dimensional arrays raise 22023. int4_array
// also checks every element is in the integer range (22003).
std::vector<int64_t> int8_array(FunctionCallInfo fcinfo, int n, const char* name);
std::vector<int64_t> int4_array(FunctionCallInfo fcinfo, int n, const char* name);

}  // namespace casebook::args
