// tenancy: signed tokens (JWT, HS256) that carry a tenant.
//
// Keys live in tenancy.token_keys, which no application role can read;
// each backend keeps a copy, reloaded after a statement trigger on that
// table invalidated it (so a rotated key takes effect at the next call in
// every session). Reading the table runs as its owner (core/run_as.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "uuid_text.hpp"

namespace casebook::tenancy::tokens {

// From _PG_init: the settings tenancy.token_claim and tenancy.token_leeway
// and the relcache callback.
void install();

// The tenant of a valid token: KB403 (invalid), KB404 (expired) or KB405
// (no key configured) otherwise. now: seconds since the Unix epoch.
Uuid verify(std::string_view token, int64_t now);
// A token for tenant that expires ttl_seconds from now, signed with the
// newest key.
std::string issue(const Uuid& tenant, int64_t now, int64_t ttl_seconds);

// Bumps the cache generation (the statement trigger's effect, in this
// backend at once).
void invalidate();

}  // namespace casebook::tenancy::tokens
