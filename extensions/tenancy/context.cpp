// tenancy: the tenant context (context.hpp).
#include "tenancy/context.hpp"

#include <cstdlib>
#include <cstring>

#include "errcodes.hpp"
#include "gucs.hpp"
#include "pg_boundary.hpp"
#include "tenancy/limits.hpp"

extern "C" {
#include "access/parallel.h"
}

namespace casebook::tenancy::context {

namespace errcodes = casebook::errcodes;
namespace gucs = casebook::pg::gucs;

namespace {

char* g_tenant_text = nullptr;
bool g_allow_session = false;
// The parsed value of tenancy.tenant_id (its extra): nullptr = no context.
const Uuid* g_current = nullptr;
// True only around our own set(): the check hook lets those values through.
bool g_from_code = false;
bool g_preloaded = false;
bool g_entered_in_transaction = false;

constexpr const char* kSetting = "tenancy.tenant_id";

struct FromCode {
    FromCode() { g_from_code = true; }
    ~FromCode() { g_from_code = false; }
    FromCode(const FromCode&) = delete;
    FromCode& operator=(const FromCode&) = delete;
};

// Plain C frame: no C++ objects (GUC_check_* may palloc).
extern "C" bool tenancy_check_tenant(char** newval, void** extra, GucSource source) {
    const char* v = *newval;
    bool empty = v == nullptr || v[0] == '\0';
    bool allowed = g_from_code || InitializingParallelWorker || (empty && source == PGC_S_DEFAULT);
    if (!allowed)
        return gucs::refuse(errcodes::tenant_context_locked,
                            "tenancy.tenant_id can only be changed by tenancy.enter(), tenancy.enter_token() or "
                            "tenancy.leave()",
                            "SET, RESET, set_config(), SET clauses of functions, ALTER ROLE/DATABASE ... SET and "
                            "connection options are refused for every role.",
                            "Authenticate the tenant with tenancy.enter_token(token) in each transaction.");
    if (empty) {
        *extra = nullptr;
        return true;
    }
    auto id = parse_uuid(v);
    if (!id)
        return gucs::refuse(errcodes::tenant_context_locked, "tenancy.tenant_id must be a canonical UUID");
    auto* copy = static_cast<Uuid*>(malloc(sizeof(Uuid)));
    if (copy == nullptr) return false;
    std::memcpy(copy->data(), id->data(), id->size());
    *extra = copy;
    return true;
}

extern "C" void tenancy_assign_tenant(const char*, void* extra) { g_current = static_cast<const Uuid*>(extra); }

}  // namespace

void define_settings() {
    g_preloaded = process_shared_preload_libraries_in_progress;
    gucs::define(gucs::String{
        .name = kSetting,
        .short_desc = "The tenant of this transaction (or session): set only by tenancy.enter() and "
                      "tenancy.enter_token().",
        .var = &g_tenant_text,
        .boot = "",
        .context = PGC_USERSET,
        .flags = GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
        .check = tenancy_check_tenant,
        .assign = tenancy_assign_tenant,
    });
    gucs::define(gucs::Bool{
        .name = "tenancy.allow_session_scope",
        .short_desc = "Whether enter() and enter_token() may keep the context past the transaction "
                      "(session => true). Off: behind a transaction-mode pool a context never reaches the next "
                      "client.",
        .var = &g_allow_session,
        .boot = false,
    });
}

bool preloaded() { return g_preloaded; }

void require_preloaded() {
    if (!g_preloaded)
        throw Error(errcodes::extension_not_ready, "tenancy must be loaded by shared_preload_libraries",
                    "Without the preload the tenant context cannot be guarded before the first call.",
                    "Add tenancy to shared_preload_libraries in postgresql.conf and restart the server.");
}

void enter(const Uuid& id, bool session) {
    require_preloaded();
    if (session && !g_allow_session)
        throw Error(errcodes::session_scope_disabled, "a session-scoped tenant context is not allowed",
                    "tenancy.allow_session_scope is off.",
                    "Enter the tenant in each transaction, or have a superuser turn tenancy.allow_session_scope on "
                    "for connections that are not pooled.");
    std::string text = format_uuid(id);
    {
        FromCode from_code;
        gucs::set(kSetting, text.c_str(), session ? gucs::Scope::session : gucs::Scope::transaction);
    }
    if (!session) g_entered_in_transaction = true;
    limits::apply(id, session);
}

bool entered_in_transaction() { return g_entered_in_transaction; }
void transaction_ended() { g_entered_in_transaction = false; }

void leave() {
    require_preloaded();
    FromCode from_code;
    // SET (not SET LOCAL): a session-scoped context ends too. Like SET, it
    // is undone when its transaction rolls back.
    gucs::set(kSetting, "", gucs::Scope::session);
}

const Uuid* current() { return g_current; }

const Uuid& require() {
    if (g_current == nullptr) {
        require_preloaded();
        throw Error(errcodes::no_tenant_context, "no tenant context: this statement reads a tenant-protected table",
                    "Rows of protected tables are visible only inside a tenant context.",
                    "Call tenancy.enter_token(token) (or tenancy.enter(tenant)) first, in the same transaction.");
    }
    return *g_current;
}

}  // namespace casebook::tenancy::context
