// georoute: SQL entry points (declared in georoute--0.2.0.sql) and settings.
#include <cstring>
#include <string>
#include <utility>

#include "args.hpp"
#include "errcodes.hpp"
#include "georoute/guard.hpp"
#include "georoute/ids.hpp"
#include "georoute/registry.hpp"
#include "gucs.hpp"
#include "pg_boundary.hpp"

extern "C" {
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/inval.h"

PG_MODULE_MAGIC;

void _PG_init(void);
}

using casebook::Error;
namespace errcodes = casebook::errcodes;
namespace args = casebook::args;
namespace pg = casebook::pg;
namespace gucs = casebook::pg::gucs;
namespace ids = casebook::georoute::ids;
namespace registry = casebook::georoute::registry;

namespace {

char* g_local_region = nullptr;
char* g_router = nullptr;

// A region code: a lower-case letter, then up to 15 lower-case letters,
// digits or underscores (the same rule as georoute.regions.code).
bool valid_code(const char* s) {
    size_t n = std::strlen(s);
    if (n == 0 || n > 16 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
    for (size_t i = 1; i < n; ++i) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

bool check_local_region(char** value, void**, GucSource) {
    if (*value == nullptr || **value == '\0' || valid_code(*value)) return true;
    return gucs::refuse(errcodes::invalid_parameter_value, "georoute.local_region is not a region code",
                        "A lower-case letter, then up to 15 lower-case letters, digits or underscores.");
}

Datum text_datum(const std::string& s) { return PointerGetDatum(pg::make_text(s)); }

// The number of the region this cluster is, for minting.
int local_number() {
    if (g_local_region == nullptr || *g_local_region == '\0')
        throw Error(errcodes::local_region_unset, "georoute.local_region is not set",
                    "This cluster mints ids as its own region: each cluster needs a region of its own.",
                    "Set georoute.local_region = '<code>' in postgresql.conf (or ALTER SYSTEM) and reload.");
    auto n = registry::number_of(g_local_region);
    if (!n)
        throw Error(errcodes::local_region_unset,
                    std::string("georoute.local_region is '") + g_local_region + "', which is not a registered region",
                    {}, "Register it with georoute.add_region() (the same registry in every cluster).");
    return *n;
}

Oid id_sequence() {
    Oid seq = registry::id_sequence();
    if (!OidIsValid(seq)) throw Error(errcodes::extension_not_ready, "georoute.id_sequence does not exist");
    return seq;
}

}  // namespace

void _PG_init(void) {
    pg::entry([] {
        // A property of the cluster, not of a session: two sessions minting
        // as two regions would make the same ids (ids.hpp). Set in
        // postgresql.conf; PGC_SIGHUP.
        gucs::define(gucs::String{.name = "georoute.local_region",
                                  .short_desc = "The region this cluster is (a code of georoute.regions).",
                                  .long_desc = "It mints ids as this region and keeps this region's rows.",
                                  .var = &g_local_region,
                                  .boot = "",
                                  .context = PGC_SIGHUP,
                                  .check = check_local_region});
        gucs::define(gucs::String{.name = "georoute.router",
                                  .short_desc = "Connection string of the router database (where proxy() writes).",
                                  .long_desc = "libpq keywords; no password (a password file of the server's OS user).",
                                  .var = &g_router,
                                  .boot = "",
                                  .flags = GUC_SUPERUSER_ONLY});
        casebook::georoute::guard::install(&g_local_region);
        gucs::reserve("georoute");
        registry::install();
    });
}

// georoute.next_id(region text) → bigint: a new id whose home is region,
// minted by this cluster (ids.hpp).
CASEBOOK_FUNCTION(georoute_next_id) {
    std::string region = args::string(fcinfo, 0, "region");
    auto home = registry::number_of(region);
    if (!home)
        throw Error(errcodes::unknown_region, "no region '" + region + "'", {},
                    "georoute.regions lists the regions; add_region() adds one.");
    int minter = local_number();
    Oid seq = id_sequence();
    int64 n = pg::guard([seq] { return nextval_internal(seq, false); });
    auto id = ids::make({*home, minter, n});
    if (!id) throw Error(errcodes::internal_error, "georoute: an id part is out of range");
    return Int64GetDatum(*id);
}

// georoute.region_of_id(id bigint) → text: the home region of an id, by
// arithmetic and the cached registry.
CASEBOOK_FUNCTION(georoute_region_of_id) {
    return text_datum(registry::home_of(args::int8(fcinfo, 0, "id")).second);
}

// georoute.route(id bigint) → (region text, target text): the home region of
// an id and its connection target, from the cached registry.
CASEBOOK_FUNCTION(georoute_route_id) {
    auto [number, code] = registry::home_of(args::int8(fcinfo, 0, "id"));
    auto target = registry::target_of(number);
    return pg::guard([&] {
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            elog(ERROR, "georoute.route() must return a record");
        desc = BlessTupleDesc(desc);
        Datum values[2] = {PointerGetDatum(cstring_to_text_with_len(code.data(), static_cast<int>(code.size()))), 0};
        bool nulls[2] = {false, !target.has_value()};
        if (target) values[1] = PointerGetDatum(cstring_to_text_with_len(target->data(), static_cast<int>(target->size())));
        return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
    });
}

// georoute._local_region() → text: this cluster's region as georoute knows
// it (NULL when unset). The SQL functions read it here, not through
// current_setting(): in a session that has not loaded the library yet, a
// SET georoute.local_region makes a placeholder that current_setting()
// would report; calling this loads the library, which drops it.
CASEBOOK_FUNCTION(georoute_local_region) {
    if (g_local_region == nullptr || *g_local_region == '\0') PG_RETURN_NULL();
    return text_datum(g_local_region);
}

// Statement trigger on georoute.regions: every backend reloads the registry
// after the writing transaction commits, this one at once.
CASEBOOK_FUNCTION(georoute_registry_changed) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw Error(errcodes::casebook_error, "georoute._registry_changed() is a trigger function");
    auto* trig = reinterpret_cast<TriggerData*>(fcinfo->context);
    Oid rel = RelationGetRelid(trig->tg_relation);
    pg::guard([rel] { CacheInvalidateRelcacheByRelid(rel); });
    registry::invalidate();
    return PointerGetDatum(nullptr);
}

// georoute._preloaded() → boolean: whether this library came from
// shared_preload_libraries (its hooks are then in every session).
CASEBOOK_FUNCTION(georoute_preloaded) { return BoolGetDatum(casebook::georoute::guard::preloaded()); }
