// eventstore: UUID text form and version-7 (time-ordered) generation. Pure C++.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "uuid_text.hpp"

namespace casebook::eventstore {

// The text form lives in the core (uuid_text.hpp).
using casebook::format_uuid;
using casebook::parse_uuid;
using casebook::Uuid;

// Version-7 UUIDs: 48-bit Unix milliseconds, then a 12-bit counter that keeps
// ids from one generator strictly increasing within a millisecond, then 62
// random bits. Time-ordered ids keep the event_id index append-mostly.
class Uuid7Generator {
public:
    // unix_ms: current time; random: 8 fresh random bytes for this id.
    Uuid next(uint64_t unix_ms, const std::array<uint8_t, 8>& random);

private:
    uint64_t last_ms_ = 0;
    uint16_t counter_ = 0;
};

}  // namespace casebook::eventstore
