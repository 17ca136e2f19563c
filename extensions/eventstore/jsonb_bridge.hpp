// eventstore: jsonb <-> JValue. Each conversion is one guarded region that
// works on plain tokens; the JValue tree is built or read outside it.
#pragma once

#include <optional>
#include <vector>

#include "jvalue.hpp"
#include "pg_boundary.hpp"

namespace casebook::eventstore {

JValue to_jvalue(Datum jsonb);
// A palloc'd jsonb in the current memory context.
Datum to_jsonb(const JValue& value);

// The values at the given paths of a jsonb object (nullopt where absent),
// for readers that need a few fields of a document. `out` is reused.
void extract_paths(Datum jsonb, const std::vector<Path>& paths, std::vector<std::optional<JValue>>& out);

}  // namespace casebook::eventstore
