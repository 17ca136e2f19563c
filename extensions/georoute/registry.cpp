// georoute: the region registry cache (registry.hpp).
#include "georoute/registry.hpp"

#include <array>

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

namespace {

// Region numbers are 1..127 (ids.hpp): an array indexed by number.
std::array<std::optional<std::string>, 128> g_codes;
std::array<std::optional<std::string>, 128> g_targets;
uint64_t g_generation = 1;
uint64_t g_loaded = 0;
Oid g_regions = InvalidOid;

extern "C" void georoute_registry_relcache(Datum, Oid relid) {
    if (relid == InvalidOid || relid == g_regions) ++g_generation;
}

// A foreign server created, changed or dropped: the targets may change.
extern "C" void georoute_registry_servers(Datum, int, uint32) { ++g_generation; }

spi::Statement kLoad{"SELECT r.number::integer, r.code, georoute._target(r.code) FROM georoute.regions r", {}};

void load() {
    if (g_loaded == g_generation) return;
    for (auto& c : g_codes) c.reset();
    for (auto& t : g_targets) t.reset();
    pg::guard([] {
        Oid nsp = get_namespace_oid("georoute", true);
        g_regions = OidIsValid(nsp) ? get_relname_relid("regions", nsp) : InvalidOid;
    });
    // Marked loaded first: an invalidation that arrives while loading bumps
    // the generation again and the next call reloads.
    g_loaded = g_generation;
    if (!OidIsValid(g_regions)) return;
    spi::Connection conn;
    spi::Rows rows = conn.execute(kLoad, std::initializer_list<spi::Param>{}, true);
    for (uint64_t i = 0; i < rows.size(); ++i) {
        int number = rows.int4_at(i, 1);
        if (number >= 1 && number < static_cast<int>(g_codes.size())) {
            g_codes[number] = rows.text(i, 2);
            g_targets[number] = rows.text(i, 3);
        }
    }
    conn.finish();
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

std::optional<std::string> target_of(int number) {
    load();
    if (number < 1 || number >= static_cast<int>(g_targets.size())) return std::nullopt;
    return g_targets[number];
}

}  // namespace casebook::georoute::registry
