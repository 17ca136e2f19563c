// eventstore: UUID text form and version-7 (time-ordered) generation. Pure C++.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace casebook::eventstore {

using Uuid = std::array<uint8_t, 16>;

// Parses the canonical 8-4-4-4-12 hex form (either case). Anything else,
// including braces or missing dashes, is rejected.
std::optional<Uuid> parse_uuid(std::string_view text);
std::string format_uuid(const Uuid& u);

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
