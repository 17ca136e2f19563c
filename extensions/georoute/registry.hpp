// georoute: the region registry (georoute.regions) as this backend knows
// it: region codes, numbers and connection targets, loaded once and
// reloaded after any change of the table commits (a statement trigger
// invalidates its relcache entry in every backend) or of a foreign server
// (its syscache entry).
#pragma once

#include <optional>

#include "pg.hpp"
#include <string>

namespace casebook::georoute::registry {

void install();     // from _PG_init: the relcache callback
void invalidate();  // this backend, at once (the trigger)

// The number of a region code; std::nullopt when it is not registered.
std::optional<int> number_of(const std::string& code);
// The code of a region number; std::nullopt when no region has it.
std::optional<std::string> code_of(int number);
// The connection target of a region number (georoute._target(): host,
// hostaddr, port and dbname of its server); std::nullopt when it has none.
std::optional<std::string> target_of(int number);
// georoute.id_sequence (InvalidOid while the extension is not installed).
Oid id_sequence();

}  // namespace casebook::georoute::registry
