// eventstore: the events argument of append(), parsed and validated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg_boundary.hpp"
#include "uuid.hpp"

namespace casebook::eventstore {

struct EventInput {
    std::string type;
    int32_t schema_version = 1;
    Datum data = 0;      // Jsonb*, an object
    Datum metadata = 0;  // Jsonb*, an object ('{}' when absent)
    Uuid id{};
    bool id_given = false;
};

inline constexpr std::size_t kMaxBatch = 10000;
inline constexpr std::size_t kMaxNameBytes = 200;

// Parses `events`, a jsonb array of {type, data, metadata?, id?,
// schema_version?}. Every problem raises KB202 naming the element; an id
// repeated inside the batch raises KB203. Ids not given are left for the
// caller to generate.
std::vector<EventInput> parse_batch(Datum events);

}  // namespace casebook::eventstore
