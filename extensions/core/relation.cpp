// casebook core: opening relations by cached OID (see relation.hpp).
#include "relation.hpp"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "storage/lmgr.h"
#include "utils/syscache.h"
}

namespace casebook::pg {
namespace {

[[noreturn]] void gone(const char* name) {
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation %s does not exist", name),
                    errdetail("It was dropped while this call waited for it (DROP EXTENSION, DROP TABLE or a reindex)."),
                    errhint("Retry the call; if the extension was dropped, create it again.")));
    pg_unreachable();
}

}  // namespace

Relation open_table(Oid relid, LOCKMODE lockmode, const char* name) {
    Relation rel = try_table_open(relid, lockmode);
    if (rel == nullptr) gone(name);
    return rel;
}

Relation open_index(Oid relid, LOCKMODE lockmode, const char* name) {
    // As try_table_open does: the lock first, then the catalog, so that a
    // DROP that committed while we waited is seen.
    LockRelationOid(relid, lockmode);
    if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid))) {
        UnlockRelationOid(relid, lockmode);
        gone(name);
    }
    return index_open(relid, NoLock);
}

}  // namespace casebook::pg
