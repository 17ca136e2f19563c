// tenancy: per-tenant limits (limits.hpp).
#include "tenancy/limits.hpp"

#include <cstring>
#include <string>
#include <unordered_map>

#include "errcodes.hpp"
#include "gucs.hpp"
#include "run_as.hpp"
#include "spi.hpp"
#include "tenancy/context.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "storage/proc.h"
#include "utils/lsyscache.h"
#include "utils/inval.h"
#include "utils/uuid.h"
}

namespace casebook::tenancy::limits {

namespace errcodes = casebook::errcodes;
namespace gucs = casebook::pg::gucs;
namespace spi = casebook::spi;

namespace {

// 0 = no limit.
struct Limits {
    int statement_timeout_ms = 0;
    int lock_timeout_ms = 0;
    int work_mem_kb = 0;
    bool any() const { return statement_timeout_ms > 0 || lock_timeout_ms > 0 || work_mem_kb > 0; }
};

struct UuidHash {
    std::size_t operator()(const Uuid& u) const noexcept {
        uint64_t a;
        uint64_t b;
        std::memcpy(&a, u.data(), 8);
        std::memcpy(&b, u.data() + 8, 8);
        return static_cast<std::size_t>(a ^ (b * 0x9E3779B97F4A7C15ULL));
    }
};

std::unordered_map<Uuid, Limits, UuidHash> g_cache;
uint64_t g_generation = 1;
uint64_t g_loaded = 0;
// tenancy.plan_limits and tenancy.tenant_limits, as of the last load.
Oid g_relids[2] = {InvalidOid, InvalidOid};

// Whether any cached tenant has a limit: check() does nothing otherwise.
bool g_any = false;

// The statement trigger on the two tables invalidates their relcache
// entries; a full reset (InvalidOid) may have dropped that message.
extern "C" void tenancy_limits_relcache(Datum, Oid relid) {
    if (relid == InvalidOid || relid == g_relids[0] || relid == g_relids[1]) ++g_generation;
}

spi::Statement kEffective{
    "SELECT l.statement_timeout_ms, l.lock_timeout_ms, l.work_mem_kb FROM tenancy._effective_limits($1) l",
    {UUIDOID}};

Limits load(const Uuid& tenant) {
    if (g_loaded != g_generation) {
        g_cache.clear();
        g_any = false;
        g_loaded = g_generation;
        pg::guard([] {
            Oid nsp = get_namespace_oid("tenancy", true);
            g_relids[0] = OidIsValid(nsp) ? get_relname_relid("plan_limits", nsp) : InvalidOid;
            g_relids[1] = OidIsValid(nsp) ? get_relname_relid("tenant_limits", nsp) : InvalidOid;
        });
    }
    auto it = g_cache.find(tenant);
    if (it != g_cache.end()) return it->second;
    Oid owner = pg::relation_owner("tenancy", "tenant_limits");
    if (!OidIsValid(owner)) return Limits{};
    Limits l;
    pg::as_role(owner, [&] {
        spi::Connection conn;
        auto* u = static_cast<pg_uuid_t*>(pg::guard([] { return palloc(sizeof(pg_uuid_t)); }));
        std::memcpy(u->data, tenant.data(), tenant.size());
        spi::Rows rows = conn.execute(kEffective, {spi::datum_param(UUIDPGetDatum(u))}, true);
        if (!rows.empty()) {
            l.statement_timeout_ms = rows.int4(0, 1).value_or(0);
            l.lock_timeout_ms = rows.int4(0, 2).value_or(0);
            l.work_mem_kb = rows.int4(0, 3).value_or(0);
        }
        conn.finish();
    });
    g_cache.emplace(tenant, l);
    if (l.any()) g_any = true;
    return l;
}

[[noreturn]] void raised(const Uuid& who, const char* setting, int now, int limit, const char* unit) {
    std::string tenant = format_uuid(who);
    std::string now_text = now == 0 ? std::string("0 (no limit)") : std::to_string(now) + unit;
    throw Error(errcodes::tenant_limit_raised,
                std::string(setting) + " is above the limit of tenant " + tenant,
                std::string(setting) + " is " + now_text + "; the tenant's limit is " + std::to_string(limit) + unit +
                    ".",
                std::string("Limits are set by a superuser in tenancy.tenant_limits or tenancy.plan_limits; ") +
                    "lower " + setting + " again, or end the transaction.");
}

}  // namespace

void install() { pg::guard([] { CacheRegisterRelcacheCallback(tenancy_limits_relcache, 0); }); }

void invalidate() { ++g_generation; }

void apply(const Uuid& tenant, bool session) {
    Limits l = load(tenant);
    if (!l.any()) return;
    gucs::Scope scope = session ? gucs::Scope::session : gucs::Scope::transaction;
    if (l.statement_timeout_ms > 0)
        gucs::set("statement_timeout", std::to_string(l.statement_timeout_ms).c_str(), scope);
    if (l.lock_timeout_ms > 0) gucs::set("lock_timeout", std::to_string(l.lock_timeout_ms).c_str(), scope);
    if (l.work_mem_kb > 0) gucs::set("work_mem", std::to_string(l.work_mem_kb).c_str(), scope);
}

void check() {
    if (!g_any) return;
    const Uuid* current = context::current();
    if (current == nullptr) return;
    auto it = g_cache.find(*current);
    if (it == g_cache.end()) return;
    const Limits& l = it->second;
    if (l.statement_timeout_ms > 0 && (StatementTimeout == 0 || StatementTimeout > l.statement_timeout_ms))
        raised(*current, "statement_timeout", StatementTimeout, l.statement_timeout_ms, " ms");
    if (l.lock_timeout_ms > 0 && (LockTimeout == 0 || LockTimeout > l.lock_timeout_ms))
        raised(*current, "lock_timeout", LockTimeout, l.lock_timeout_ms, " ms");
    if (l.work_mem_kb > 0 && work_mem > l.work_mem_kb)
        raised(*current, "work_mem", work_mem, l.work_mem_kb, " kB");
}

}  // namespace casebook::tenancy::limits
