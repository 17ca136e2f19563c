// georoute: the residency guard's hooks (guard.cpp): enforce_home_region in
// the executor, the publisher check of subscriptions in ProcessUtility, and
// the region-change row trigger.
#pragma once

namespace casebook::georoute::guard {

// From _PG_init: defines georoute.enforce_home_region and installs the
// hooks. local_region_var is georoute.local_region's variable.
void install(char** local_region_var);
// Whether the library was loaded from shared_preload_libraries (the hooks
// are then in every session).
bool preloaded();

}  // namespace casebook::georoute::guard
