// casebook core: a UUID as 16 bytes and as its canonical text. Pure C++
// (eventstore's event ids, tenancy's tenant ids).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace casebook {

using Uuid = std::array<uint8_t, 16>;

// The canonical 8-4-4-4-12 hexadecimal form, either case. Anything else
// (braces, missing hyphens, spaces) is refused: one spelling per id keeps
// comparisons exact.
std::optional<Uuid> parse_uuid(std::string_view text);
// Lower-case canonical form (what uuid_out prints).
std::string format_uuid(const Uuid& u);

}  // namespace casebook
