// casebook_selftest: the core layout check seen from SQL (core_layout test).
#include "layout.hpp"
#include "pg_boundary.hpp"

extern "C" {
#include "access/table.h"
}

namespace {

struct Probe {
    Oid relid;
    char* text;
};

void describe_relation(Probe* p) {
    Relation rel = table_open(p->relid, AccessShareLock);
    p->text = casebook::pg::layout::describe(rel);
    table_close(rel, AccessShareLock);
}

}  // namespace

// The description the layout check compares, for any table.
CASEBOOK_FUNCTION(selftest_describe_layout) {
    Probe p{PG_GETARG_OID(0), nullptr};
    Probe* pp = &p;
    casebook::pg::guard([pp] { describe_relation(pp); });
    return PointerGetDatum(casebook::pg::make_text(p.text));
}

// The layouts the extensions' direct paths expect (their tables.hpp), by
// table name; NULL for a name none of them has.
#include "../../extensions/commerce/tables.hpp"
#include "../../extensions/eventstore/tables.hpp"
#include "../../extensions/feed/tables.hpp"

namespace {

struct Expected {
    const char* name;
    const char* layout;
};
const Expected kExpected[] = {
    {"commerce.stock", casebook::commerce::kStockLayout},
    {"commerce.reservations", casebook::commerce::kReservationsLayout},
    {"eventstore.events", casebook::eventstore::kEventsLayout},
    {"eventstore.events partitioned", casebook::eventstore::kPartitionedEventsLayout},
    {"eventstore.events partition", casebook::eventstore::kEventsPartitionLayout},
    {"feed.users", casebook::feed::kUsersLayout},
    {"feed.activity", casebook::feed::kActivityLayout},
    {"feed.follows", casebook::feed::kFollowsLayout},
    {"feed.posts", casebook::feed::kPostsLayout},
    {"feed.timelines", casebook::feed::kTimelinesLayout},
    {"feed.cursor_key", casebook::feed::kCursorKeyLayout},
};

}  // namespace

CASEBOOK_FUNCTION(selftest_expected_layout) {
    text* arg = PG_GETARG_TEXT_PP(0);
    std::string_view name(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
    for (const Expected& e : kExpected)
        if (name == e.name) return PointerGetDatum(casebook::pg::make_text(e.layout));
    PG_RETURN_NULL();
}
