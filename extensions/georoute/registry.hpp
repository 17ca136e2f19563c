// georoute: the region registry (georoute.regions) as this backend knows
// it: region codes, numbers and connection targets, loaded once and
// reloaded after any change of the table commits (a statement trigger
// invalidates its relcache entry in every backend) or of a foreign server
// (its syscache entry). georoute.distributed is kept the same way.
#pragma once

#include <optional>

#include "pg.hpp"
#include <string>
#include <utility>

namespace casebook::georoute::registry {

void install();     // from _PG_init: the relcache callback
void invalidate();  // this backend, at once (the trigger)

// The number of a region code; std::nullopt when it is not registered.
std::optional<int> number_of(const std::string& code);
// The code of a region number; std::nullopt when no region has it.
std::optional<std::string> code_of(int number);
// The home region of an id: its number and code (KB602 for a value that is
// not an id, or of a region number not registered here).
std::pair<int, std::string> home_of(int64_t id);
// The connection target of a region number (georoute._target(): host,
// hostaddr, port and dbname of its server); std::nullopt when it has none.
std::optional<std::string> target_of(int number);
// georoute.id_sequence (InvalidOid while the extension is not installed).
Oid id_sequence();
// The jurisdiction of a region code; std::nullopt when it is not registered.
std::optional<std::string> jurisdiction_of(const std::string& code);
// The region whose postgres_fdw server is this one (the first by number);
// std::nullopt when none is.
std::optional<std::string> region_of_server(const std::string& server);
// The region column of a distributed table (georoute.distributed);
// std::nullopt when the table is not distributed.
std::optional<std::string> distributed_column(Oid table);
// Whether this database has any distributed table.
bool any_distributed();

}  // namespace casebook::georoute::registry
