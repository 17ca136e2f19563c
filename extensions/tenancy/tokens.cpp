// tenancy: signed tenant tokens (tokens.hpp).
#include "tenancy/tokens.hpp"

#include <climits>
#include <cstring>
#include <vector>

#include "errcodes.hpp"
#include "gucs.hpp"
#include "run_as.hpp"
#include "spi.hpp"
#include "tenancy/jwt.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace casebook::tenancy::tokens {

namespace errcodes = casebook::errcodes;
namespace gucs = casebook::pg::gucs;
namespace spi = casebook::spi;

namespace {

char* g_claim = nullptr;
int g_leeway = 0;

// The keys, newest first, as of generation g_loaded.
std::vector<jwt::Key> g_keys;
uint64_t g_generation = 1;
uint64_t g_loaded = 0;
Oid g_keys_relid = InvalidOid;

extern "C" void tenancy_keys_relcache(Datum, Oid relid) {
    if (relid == InvalidOid || relid == g_keys_relid) ++g_generation;
}

// Plain C frame (refuse() may palloc).
extern "C" bool tenancy_check_claim(char** newval, void**, GucSource) {
    const char* v = *newval;
    if (v == nullptr || v[0] == '\0') return gucs::refuse(errcodes::invalid_parameter_value, "tenancy.token_claim must not be empty");
    if (strcmp(v, "exp") == 0 || strcmp(v, "iat") == 0 || strcmp(v, "nbf") == 0)
        return gucs::refuse(errcodes::invalid_parameter_value,
                            "tenancy.token_claim cannot be a registered time claim (exp, iat, nbf)");
    return true;
}

spi::Statement kLoadKeys{
    "SELECT k.kid, k.secret FROM tenancy.token_keys k ORDER BY k.created_at DESC, k.kid", {}};

void load() {
    if (g_loaded == g_generation) return;
    Oid owner = pg::relation_owner("tenancy", "token_keys");
    if (!OidIsValid(owner))
        throw Error(errcodes::extension_not_ready, "tenancy.token_keys is missing",
                    "The extension is not installed in this database, or is being dropped.", "CREATE EXTENSION tenancy;");
    uint64_t generation = g_generation;
    std::vector<jwt::Key> keys;
    pg::as_role(owner, [&] {
        spi::Connection conn;
        spi::Rows rows = conn.execute(kLoadKeys, {}, true);
        for (uint64_t i = 0; i < rows.size(); ++i) {
            jwt::Key k;
            k.kid = rows.text(i, 1).value_or("");
            std::optional<Datum> d = rows.datum(i, 2);
            if (d) {
                Datum raw = *d;
                struct varlena* v = pg::guard([raw] { return pg_detoast_datum_packed(reinterpret_cast<struct varlena*>(DatumGetPointer(raw))); });
                k.secret.assign(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
            }
            keys.push_back(std::move(k));
        }
        conn.finish();
    });
    g_keys_relid = pg::guard([] {
        Oid nsp = get_namespace_oid("tenancy", true);
        return OidIsValid(nsp) ? get_relname_relid("token_keys", nsp) : InvalidOid;
    });
    g_keys = std::move(keys);
    g_loaded = generation;
}

void require_keys() {
    load();
    if (g_keys.empty())
        throw Error(errcodes::no_token_key, "no token key is configured",
                    "tenancy.enter_token() verifies tokens, and tenancy.issue_token() signs them, with the keys in "
                    "tenancy.token_keys.",
                    "A superuser adds one: SELECT tenancy.add_token_key(<secret of at least 32 bytes>);");
}

}  // namespace

void install() {
    gucs::define(gucs::String{
        .name = "tenancy.token_claim",
        .short_desc = "The token claim that names the tenant (a member of the payload, or a dotted path to a "
                      "nested one).",
        .var = &g_claim,
        .boot = "tenant_id",
        .check = tenancy_check_claim,
    });
    gucs::define(gucs::Int{
        .name = "tenancy.token_leeway",
        .short_desc = "Clock skew allowed when checking a token's exp and nbf.",
        .var = &g_leeway,
        .boot = 0,
        .min = 0,
        .max = 300,
        .flags = GUC_UNIT_S,
    });
    pg::guard([] { CacheRegisterRelcacheCallback(tenancy_keys_relcache, 0); });
}

void invalidate() { ++g_generation; }

Uuid verify(std::string_view token, int64_t now) {
    require_keys();
    jwt::Result r = jwt::verify(token, g_keys, now, g_claim, g_leeway);
    if (r.failure == jwt::Failure::expired)
        throw Error(errcodes::token_expired, "the tenant token has expired", r.detail,
                    "Get a new token from the issuer.");
    if (r.failure != jwt::Failure::none)
        throw Error(errcodes::invalid_token, std::string("invalid tenant token: ") + jwt::failure_name(r.failure),
                    r.detail, "Tokens are HS256 JWTs signed with a key in tenancy.token_keys, with exp and the "
                              "tenant claim (tenancy.token_claim).");
    auto id = parse_uuid(r.tenant);
    if (!id)
        throw Error(errcodes::invalid_token, "invalid tenant token: the tenant claim is not a UUID",
                    std::string("Claim \"") + g_claim + "\" must hold a UUID in its canonical 36-character form.");
    return *id;
}

std::string issue(const Uuid& tenant, int64_t now, int64_t ttl_seconds) {
    require_keys();
    return jwt::issue(g_keys.front(), g_claim, format_uuid(tenant), now, now + ttl_seconds);
}

}  // namespace casebook::tenancy::tokens
