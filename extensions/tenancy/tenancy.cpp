// tenancy: SQL entry points (declared in tenancy--0.2.0.sql), settings and
// the statement hook.
#include <cstring>
#include <ctime>
#include <string>

#include "args.hpp"
#include "errcodes.hpp"
#include "gucs.hpp"
#include "pg_boundary.hpp"
#include "tenancy/context.hpp"
#include "tenancy/limits.hpp"
#include "tenancy/protection.hpp"
#include "tenancy/statement_guard.hpp"
#include "tenancy/tokens.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/trigger.h"
#include "utils/inval.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

PG_MODULE_MAGIC;

void _PG_init(void);
}

using casebook::Error;
namespace errcodes = casebook::errcodes;
namespace args = casebook::args;
namespace pg = casebook::pg;
namespace tenancy = casebook::tenancy;
namespace context = casebook::tenancy::context;
namespace tokens = casebook::tenancy::tokens;
namespace protection = casebook::tenancy::protection;

namespace {

casebook::Uuid uuid_arg(FunctionCallInfo fcinfo, int n, const char* name) {
    Datum d = args::datum(fcinfo, n, name);
    casebook::Uuid id{};
    std::memcpy(id.data(), DatumGetUUIDP(d)->data, id.size());
    return id;
}

Datum uuid_datum(const casebook::Uuid& id) {
    auto* u = static_cast<pg_uuid_t*>(pg::guard([] { return palloc(sizeof(pg_uuid_t)); }));
    std::memcpy(u->data, id.data(), id.size());
    return UUIDPGetDatum(u);
}

bool bool_arg(FunctionCallInfo fcinfo, int n, const char* name) { return DatumGetBool(args::datum(fcinfo, n, name)); }

Oid oid_arg(FunctionCallInfo fcinfo, int n, const char* name) { return DatumGetObjectId(args::datum(fcinfo, n, name)); }

}  // namespace

void _PG_init(void) {
    pg::entry([] {
        context::define_settings();
        tokens::install();
        pg::gucs::reserve("tenancy");
        casebook::tenancy::statement_guard::install();
        casebook::tenancy::limits::install();
    });
}

CASEBOOK_FUNCTION(tenancy_require_preload) {
    context::require_preloaded();
    PG_RETURN_VOID();
}

CASEBOOK_FUNCTION(tenancy_enter) {
    casebook::Uuid id = uuid_arg(fcinfo, 0, "tenant");
    bool session = bool_arg(fcinfo, 1, "session");
    context::enter(id, session);
    return uuid_datum(id);
}

CASEBOOK_FUNCTION(tenancy_enter_token) {
    std::string token = args::string(fcinfo, 0, "token");
    bool session = bool_arg(fcinfo, 1, "session");
    context::require_preloaded();
    casebook::Uuid id = tokens::verify(token, static_cast<int64_t>(std::time(nullptr)));
    context::enter(id, session);
    return uuid_datum(id);
}

CASEBOOK_FUNCTION(tenancy_issue_token) {
    casebook::Uuid id = uuid_arg(fcinfo, 0, "tenant");
    auto* ttl = DatumGetIntervalP(args::datum(fcinfo, 1, "ttl"));
    // As EXTRACT(EPOCH FROM ttl): a month is 30 days.
    double seconds = static_cast<double>(ttl->time) / 1e6 + static_cast<double>(ttl->day) * 86400.0 +
                     static_cast<double>(ttl->month) * 30.0 * 86400.0;
    if (!(seconds >= 1.0 && seconds <= 366.0 * 86400.0))
        throw Error(errcodes::invalid_parameter_value, "ttl must be between 1 second and 366 days",
                    "A token is a bearer credential: keep it short-lived.");
    std::string token = tokens::issue(id, static_cast<int64_t>(std::time(nullptr)), static_cast<int64_t>(seconds));
    return PointerGetDatum(pg::make_text(token));
}

CASEBOOK_FUNCTION(tenancy_current) {
    const casebook::Uuid* id = context::current();
    if (id == nullptr) PG_RETURN_NULL();
    return uuid_datum(*id);
}

CASEBOOK_FUNCTION(tenancy_tenant) { return uuid_datum(context::require()); }

CASEBOOK_FUNCTION(tenancy_leave) {
    context::leave();
    PG_RETURN_VOID();
}

CASEBOOK_FUNCTION(tenancy_protect) {
    Oid relid = oid_arg(fcinfo, 0, "tab");
    std::string column = args::identifier(fcinfo, 1, "tenant_column");
    return Int64GetDatum(protection::protect(relid, column));
}

CASEBOOK_FUNCTION(tenancy_unprotect) {
    Oid relid = oid_arg(fcinfo, 0, "tab");
    return Int64GetDatum(protection::unprotect(relid));
}

// isolate() and unisolate() commit step by step: refused (25001) inside a
// transaction block, as VACUUM is, before they change anything.
CASEBOOK_FUNCTION(tenancy_outside_transaction_block) {
    std::string name = args::string(fcinfo, 0, "what");
    pg::guard([&name] { PreventInTransactionBlock(true, name.c_str()); });
    PG_RETURN_VOID();
}

CASEBOOK_FUNCTION(tenancy_busy) { PG_RETURN_BOOL(protection::busy()); }

CASEBOOK_FUNCTION(tenancy_forget_dropped) { return Int64GetDatum(protection::forget_dropped()); }

// Statement trigger on the tables behind the per-backend caches
// (tenancy.token_keys, plan_limits, tenant_limits): every backend reloads
// after the writing transaction commits, this one at once.
CASEBOOK_FUNCTION(tenancy_cache_changed) {
    if (!CALLED_AS_TRIGGER(fcinfo)) throw Error(errcodes::casebook_error, "tenancy._cache_changed() is a trigger function");
    auto* trig = reinterpret_cast<TriggerData*>(fcinfo->context);
    Oid rel = RelationGetRelid(trig->tg_relation);
    pg::guard([rel] { CacheInvalidateRelcacheByRelid(rel); });
    tokens::invalidate();
    casebook::tenancy::limits::invalidate();
    return PointerGetDatum(nullptr);
}
