// tenancy: the statement hook and the transaction callback.
//  * RESET tenancy.tenant_id and SET ... TO DEFAULT are refused (KB402):
//    they take the reset value without the setting's check hook.
//  * DECLARE ... WITH HOLD is refused while a transaction-scoped context is
//    in force (KB410): a held cursor's rows are read at COMMIT, under the
//    context, and stay readable by whoever uses the connection next. A
//    holdable cursor declared earlier in a transaction that then entered a
//    tenant is closed at COMMIT, with a warning.
#pragma once

namespace casebook::tenancy::statement_guard {

// From _PG_init.
void install();

}  // namespace casebook::tenancy::statement_guard
