// tenancy: per-tenant limits (statement_timeout, lock_timeout, work_mem).
//
// tenancy.tenant_limits holds a tenant's own values and its plan;
// tenancy.plan_limits the values of a plan. enter() and enter_token() set
// the effective values (the tenant's, else its plan's) in the context's
// scope. While the context is in force, a statement that starts with one
// of them above the tenant's limit (SET, set_config(), RESET, RESET ALL
// raised it) is refused with KB411: the application cannot raise them.
// Each backend caches the effective limits per tenant, reloaded after a
// change to either table commits.
#pragma once

#include "uuid_text.hpp"

namespace casebook::tenancy::limits {

// From _PG_init.
void install();
// Called by context::enter after the context is set.
void apply(const Uuid& tenant, bool session);
// KB411 when a limit in force was raised. Cheap when none is in force.
void check();
// The statement trigger's effect in this backend.
void invalidate();

}  // namespace casebook::tenancy::limits
