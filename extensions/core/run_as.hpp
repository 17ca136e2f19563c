// casebook core: running the extension's own SQL as another role.
//
// An extension's code that runs outside a SECURITY DEFINER function (a
// hook, a callback, a C function that application roles call) but must read
// or write the extension's private tables does it as the tables' owner:
//  * SetUserIdAndSecContext(owner, SECURITY_LOCAL_USERID_CHANGE |
//    SECURITY_RESTRICTED_OPERATION): no SET ROLE, no temporary objects;
//  * at a new GUC nest level with search_path = pg_catalog, pg_temp, so
//    that neither the caller's schemas nor its settings reach the SQL;
//  * everything put back when the callable returns or throws. A PostgreSQL
//    error inside aborts the (sub)transaction, which restores the same.
#pragma once

#include <exception>
#include <type_traits>

#include "pg_boundary.hpp"

namespace casebook::pg {

struct RoleSwitch {
    Oid saved_user;
    int saved_context;
    int nest;
};

// Plain C parts (run under a guard by as_role).
void switch_role(Oid role, RoleSwitch* s);
void restore_role(const RoleSwitch* s);

// The owner of relation `relname` in schema `nspname`; InvalidOid when
// either is missing (the extension was dropped in this transaction).
Oid relation_owner(const char* nspname, const char* relname);

template <typename F>
auto as_role(Oid role, F&& fn) -> std::invoke_result_t<F&> {
    RoleSwitch s{};
    RoleSwitch* sp = &s;
    guard([sp, role] { switch_role(role, sp); });
    using R = std::invoke_result_t<F&>;
    try {
        if constexpr (std::is_void_v<R>) {
            fn();
            guard([sp] { restore_role(sp); });
        } else {
            R r = fn();
            guard([sp] { restore_role(sp); });
            return r;
        }
    } catch (...) {
        // A C++ error the caller may handle: put the role back first. After
        // a PostgreSQL error the abort would do it as well.
        guard([sp] { restore_role(sp); });
        throw;
    }
}

}  // namespace casebook::pg
