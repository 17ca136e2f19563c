// eventstore: jsonb <-> JValue. Each conversion is one guarded region that
// works on plain tokens; the JValue tree is built or read outside it.
#pragma once

#include "jvalue.hpp"
#include "pg_boundary.hpp"

namespace casebook::eventstore {

JValue to_jvalue(Datum jsonb);
// A palloc'd jsonb in the current memory context.
Datum to_jsonb(const JValue& value);

}  // namespace casebook::eventstore
