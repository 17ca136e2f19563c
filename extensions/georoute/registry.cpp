// georoute: the region registry cache (registry.hpp).
#include "georoute/registry.hpp"

#include <array>
#include <unordered_map>

#include "errcodes.hpp"
#include "georoute/ids.hpp"
#include "pg_boundary.hpp"
#include "spi.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace casebook::georoute::registry {

namespace spi = casebook::spi;
namespace errcodes = casebook::errcodes;
namespace ids = casebook::georoute::ids;

namespace {

// Region numbers are 1..127 (ids.hpp): an array indexed by number.
std::array<std::optional<std::string>, 128> g_codes;
std::array<std::optional<std::string>, 128> g_targets;
std::array<std::optional<std::string>, 128> g_jurisdictions;
std::array<std::optional<std::string>, 128> g_servers;
std::unordered_map<Oid, std::string> g_distributed;
Oid g_distributed_table = InvalidOid;
uint64_t g_generation = 1;
uint64_t g_loaded = 0;
Oid g_regions = InvalidOid;
// georoute.id_sequence: dropped only with the extension, whose regions
// table goes with it (an invalidation of g_regions).
Oid g_sequence = InvalidOid;

extern "C" void georoute_registry_relcache(Datum, Oid relid) {
    if (relid == InvalidOid || relid == g_regions || relid == g_distributed_table) ++g_generation;
}

// A foreign server created, changed or dropped: the targets may change.
extern "C" void georoute_registry_servers(Datum, int, uint32) { ++g_generation; }

spi::Statement kLoad{"SELECT r.number::integer, r.code, georoute._target(r.code), r.jurisdiction, r.server::text "
                     "FROM georoute.regions r",
                     {}};
spi::Statement kLoadDistributed{"SELECT d.tbl::oid::bigint, d.region_column::text FROM georoute.distributed d", {}};

void load() {
    if (g_loaded == g_generation) return;
    // The generation this load answers for: an invalidation that arrives
    // while loading bumps it again, and the next call reloads. Marked loaded
    // only at the end, so that a load that failed (an error in the query)
    // is tried again rather than leaving an empty registry.
    const uint64_t generation = g_generation;
    for (auto& c : g_codes) c.reset();
    for (auto& t : g_targets) t.reset();
    for (auto& j : g_jurisdictions) j.reset();
    for (auto& v : g_servers) v.reset();
    g_distributed.clear();
    pg::guard([] {
        Oid nsp = get_namespace_oid("georoute", true);
        g_regions = OidIsValid(nsp) ? get_relname_relid("regions", nsp) : InvalidOid;
        g_sequence = OidIsValid(nsp) ? get_relname_relid("id_sequence", nsp) : InvalidOid;
        g_distributed_table = OidIsValid(nsp) ? get_relname_relid("distributed", nsp) : InvalidOid;
    });
    if (OidIsValid(g_regions)) {
        spi::Connection conn;
        spi::Rows rows = conn.execute(kLoad, std::initializer_list<spi::Param>{}, true);
        for (uint64_t i = 0; i < rows.size(); ++i) {
            int number = rows.int4_at(i, 1);
            if (number >= 1 && number < static_cast<int>(g_codes.size())) {
                g_codes[number] = rows.text(i, 2);
                g_targets[number] = rows.text(i, 3);
                g_jurisdictions[number] = rows.text(i, 4);
                g_servers[number] = rows.text(i, 5);
            }
        }
        if (OidIsValid(g_distributed_table)) {
            spi::Rows d = conn.execute(kLoadDistributed, std::initializer_list<spi::Param>{}, true);
            for (uint64_t i = 0; i < d.size(); ++i)
                g_distributed.emplace(static_cast<Oid>(d.int8_at(i, 1)), d.text(i, 2).value_or(""));
        }
        conn.finish();
    }
    g_loaded = generation;
}

}  // namespace

void install() {
    pg::guard([] {
        CacheRegisterRelcacheCallback(georoute_registry_relcache, 0);
        CacheRegisterSyscacheCallback(FOREIGNSERVEROID, georoute_registry_servers, 0);
    });
}

void invalidate() { ++g_generation; }

std::optional<int> number_of(const std::string& code) {
    load();
    for (int n = 1; n < static_cast<int>(g_codes.size()); ++n)
        if (g_codes[n] && *g_codes[n] == code) return n;
    return std::nullopt;
}

std::optional<std::string> code_of(int number) {
    load();
    if (number < 1 || number >= static_cast<int>(g_codes.size())) return std::nullopt;
    return g_codes[number];
}

std::pair<int, std::string> home_of(int64_t id) {
    auto parts = ids::split(id);
    if (!parts)
        throw Error(errcodes::invalid_region_id, std::to_string(id) + " is not a georoute id",
                    "A georoute id is positive and carries region numbers 1 to 127 in bits 62-49.");
    auto code = code_of(parts->home);
    if (!code)
        throw Error(errcodes::invalid_region_id,
                    "id " + std::to_string(id) + " belongs to region number " + std::to_string(parts->home) +
                        ", which is not registered here",
                    {}, "Every cluster needs the same registry (georoute.regions).");
    return {parts->home, *code};
}

std::optional<std::string> target_of(int number) {
    load();
    if (number < 1 || number >= static_cast<int>(g_targets.size())) return std::nullopt;
    return g_targets[number];
}

Oid id_sequence() {
    load();
    return g_sequence;
}

std::optional<std::string> jurisdiction_of(const std::string& code) {
    auto n = number_of(code);
    if (!n) return std::nullopt;
    return g_jurisdictions[*n];
}

std::optional<std::string> region_of_server(const std::string& server) {
    load();
    for (int n = 1; n < static_cast<int>(g_servers.size()); ++n)
        if (g_servers[n] && *g_servers[n] == server) return g_codes[n];
    return std::nullopt;
}

bool any_distributed() {
    load();
    return !g_distributed.empty();
}

std::optional<std::string> distributed_column(Oid table) {
    load();
    auto it = g_distributed.find(table);
    if (it == g_distributed.end()) return std::nullopt;
    return it->second;
}

}  // namespace casebook::georoute::registry
