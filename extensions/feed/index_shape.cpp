// feed: index shape checks (see index_shape.hpp).
#include "index_shape.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "commands/defrem.h"
#include "utils/syscache.h"
}

namespace casebook::feed {

bool plain_btree(Oid index, Oid heap, int ncols, const AttrNumber* cols, const Oid* types, bool partial) {
    if (!OidIsValid(index)) return false;
    HeapTuple rel = SearchSysCache1(RELOID, ObjectIdGetDatum(index));
    if (!HeapTupleIsValid(rel)) return false;
    bool btree = reinterpret_cast<Form_pg_class>(GETSTRUCT(rel))->relam == BTREE_AM_OID;
    ReleaseSysCache(rel);
    if (!btree) return false;
    HeapTuple tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
    if (!HeapTupleIsValid(tup)) return false;
    auto* ix = reinterpret_cast<Form_pg_index>(GETSTRUCT(tup));
    bool ok = ix->indrelid == heap && ix->indnkeyatts == ncols && ix->indisvalid && ix->indisready &&
              ix->indislive && heap_attisnull(tup, Anum_pg_index_indexprs, nullptr) &&
              heap_attisnull(tup, Anum_pg_index_indpred, nullptr) == !partial;
    if (ok) {
        bool isnull = false;
        Datum classes = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indclass, &isnull);
        Datum options = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indoption, &isnull);
        auto* opclass = reinterpret_cast<oidvector*>(DatumGetPointer(classes));
        auto* indoption = reinterpret_cast<int2vector*>(DatumGetPointer(options));
        for (int k = 0; ok && k < ncols; k++)
            ok = ix->indkey.values[k] == cols[k] && indoption->values[k] == 0 &&
                 opclass->values[k] == GetDefaultOpClass(types[k], BTREE_AM_OID);
    }
    ReleaseSysCache(tup);
    return ok;
}

}  // namespace casebook::feed
