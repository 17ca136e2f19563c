// casebook core: running the extension's own SQL as another role (run_as.hpp).
#include "run_as.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace casebook::pg {

void switch_role(Oid role, RoleSwitch* s) {
    GetUserIdAndSecContext(&s->saved_user, &s->saved_context);
    SetUserIdAndSecContext(role, s->saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    s->nest = NewGUCNestLevel();
    (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                            false);
}

void restore_role(const RoleSwitch* s) {
    AtEOXact_GUC(true, s->nest);
    SetUserIdAndSecContext(s->saved_user, s->saved_context);
}

Oid relation_owner(const char* nspname, const char* relname) {
    return guard([&]() -> Oid {
        Oid nsp = get_namespace_oid(nspname, true);
        if (!OidIsValid(nsp)) return InvalidOid;
        Oid relid = get_relname_relid(relname, nsp);
        if (!OidIsValid(relid)) return InvalidOid;
        HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
        if (!HeapTupleIsValid(tup)) return InvalidOid;
        Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup))->relowner;
        ReleaseSysCache(tup);
        return owner;
    });
}

}  // namespace casebook::pg
