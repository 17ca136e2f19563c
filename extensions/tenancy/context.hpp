// tenancy: the tenant context of a session.
//
// It lives in the setting tenancy.tenant_id, which only this file changes:
// its check hook refuses every value that does not come from enter() or
// leave() (SET, SET LOCAL, set_config(), a function's SET clause, ALTER
// ROLE/DATABASE ... SET, connection options), whoever asks. RESET ALL and
// DISCARD ALL put back the empty value (no context), as leave() does.
// The parsed id is the setting's "extra", so reading it costs a pointer.
#pragma once

#include "uuid_text.hpp"

namespace casebook::tenancy::context {

// From _PG_init.
void define_settings();
// KB001 unless the library was loaded by shared_preload_libraries.
void require_preloaded();
bool preloaded();

// Transaction scope (default): SET LOCAL semantics: ends at COMMIT or
// ROLLBACK, and at ROLLBACK TO a savepoint taken before it. Session scope
// (tenancy.allow_session_scope must be on, KB409 otherwise): SET semantics.
void enter(const Uuid& id, bool session);
void leave();

// Whether enter() or enter_token() set a transaction-scoped context in the
// current transaction (cleared by transaction_ended()).
bool entered_in_transaction();
void transaction_ended();

// nullptr without a context.
const Uuid* current();
// The context, or KB401 (no tenant context) with a hint.
const Uuid& require();

}  // namespace casebook::tenancy::context
