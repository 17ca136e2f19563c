// feed: the direct timeline write path (see timeline_writer.hpp).
#include "timeline_writer.hpp"

#include "direct_insert.hpp"

extern "C" {
#include "access/table.h"
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

namespace casebook::feed {
namespace {

struct TimelineRows {
    const int64_t* users;
    int count;
    TimestampTz created_at;
    int64_t post;
    int64_t author;
    AttrNumber att[4];  // user_id, created_at, post_id, author_id
};

void fill_row(void* arg, int i, Datum* values, bool* isnull) {
    const auto* r = static_cast<const TimelineRows*>(arg);
    const Datum v[4] = {Int64GetDatum(r->users[i]), TimestampTzGetDatum(r->created_at), Int64GetDatum(r->post),
                        Int64GetDatum(r->author)};
    for (int c = 0; c < 4; c++) {
        values[r->att[c] - 1] = v[c];
        isnull[r->att[c] - 1] = false;
    }
}

// Plain C under one guard.
bool write(TimelineRows* r) {
    Oid relid = get_relname_relid("timelines", get_namespace_oid("feed", false));
    if (!OidIsValid(relid)) return false;  // the SQL path reports it
    Relation rel = table_open(relid, RowExclusiveLock);
    pg::check_insert_allowed(rel);
    static const char* const kColumns[4] = {"user_id", "created_at", "post_id", "author_id"};
    bool direct = !pg::needs_executor(rel) && pg::live_columns(rel) == 4;
    for (int c = 0; direct && c < 4; c++) {
        r->att[c] = get_attnum(relid, kColumns[c]);
        direct = r->att[c] != InvalidAttrNumber;
    }
    if (!direct) {
        table_close(rel, RowExclusiveLock);
        return false;
    }
    TupleConstr* constr = RelationGetDescr(rel)->constr;
    pg::insert_rows(rel, r->count, fill_row, r, constr != nullptr && constr->num_check > 0);
    table_close(rel, NoLock);  // the lock is kept to the end of the transaction
    return true;
}

}  // namespace

bool write_timeline_rows(const std::vector<int64_t>& users, TimestampTz created_at, int64_t post, int64_t author) {
    if (users.empty()) return true;
    TimelineRows rows{users.data(), static_cast<int>(users.size()), created_at, post, author, {}};
    TimelineRows* rp = &rows;
    return pg::guard([rp] { return write(rp); });
}

}  // namespace casebook::feed
