// georoute: the residency guard's native parts (guard.hpp).
//
//  * georoute.enforce_home_region: every foreign scan of a plan that reads
//    rows of a partition of a distributed table is refused (KB611): before
//    the executor starts (no connection to the other region is opened),
//    except under an Append that prunes at executor start (a generic
//    plan's region = $1), whose surviving scans are checked right after. A scan whose remote query
//    computes aggregates (postgres_fdw's aggregate pushdown) returns no
//    rows of the table and is allowed; so are direct modifications (rows
//    written in their home cluster).
//  * georoute._region_change(): a BEFORE UPDATE row trigger that refuses a
//    new region of another jurisdiction than the old one (KB612).
//  * CREATE SUBSCRIPTION and ALTER SUBSCRIPTION (CONNECTION, SET/ADD
//    PUBLICATION, REFRESH PUBLICATION): before the command runs, the
//    publisher is asked which tables its publications carry, with which
//    row filter (pg_publication_tables); a table that is distributed here,
//    or a partition of one, must come with the filter `(column =
//    '<this cluster's region>'::text)`, else the command is refused (KB608)
//    and nothing was made (no slot on the publisher).
#include "georoute/guard.hpp"

#include <string>
#include <vector>

#include "errcodes.hpp"
#include "gucs.hpp"
#include "hooks.hpp"
#include "pg_boundary.hpp"
#include "georoute/registry.hpp"
#include "georoute/remote.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_subscription.h"
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

namespace casebook::georoute::guard {

namespace errcodes = casebook::errcodes;
namespace gucs = casebook::pg::gucs;
namespace remote = casebook::georoute::remote;

namespace {

struct StartTag;
using Start = pg::hooks::Chain<StartTag, ExecutorStart_hook, standard_ExecutorStart>;
struct UtilityTag;
using Utility = pg::hooks::Chain<UtilityTag, ProcessUtility_hook, standard_ProcessUtility>;

bool g_enforce_home_region = false;
bool g_preloaded = false;
char** g_local_region_var = nullptr;

std::string local_region() {
    if (g_local_region_var == nullptr || *g_local_region_var == nullptr) return {};
    return *g_local_region_var;
}

// ---------------------------------------------------------------------------
// enforce_home_region
// ---------------------------------------------------------------------------

// The relations a foreign scan reads rows of (none for an aggregate pushed
// down, or a direct modification). Plain C: the tree walker is C.
struct ScanList {
    List* relids;
    List* rtable;
};

void collect_foreign_scan(ForeignScan* fs, Relation current, ScanList* scans) {
    bool aggregated = fs->fdw_scan_tlist != NIL && contain_agg_clause(reinterpret_cast<Node*>(fs->fdw_scan_tlist));
    if (fs->operation != CMD_SELECT || aggregated) return;
    if (fs->scan.scanrelid > 0) {
        if (current != nullptr)
            scans->relids = lappend_oid(scans->relids, RelationGetRelid(current));
        else
            scans->relids = lappend_oid(scans->relids, rt_fetch(fs->scan.scanrelid, scans->rtable)->relid);
        return;
    }
    int x = -1;
    while ((x = bms_next_member(fs->fs_relids, x)) >= 0) {
        RangeTblEntry* rte = rt_fetch(x, scans->rtable);
        if (rte->rtekind == RTE_RELATION) scans->relids = lappend_oid(scans->relids, rte->relid);
    }
}

// Before the executor starts (no remote connection opened yet): the foreign
// scans of the plan that will certainly run. The children of an Append or
// MergeAppend that prunes at run time (a generic plan's region = $1) are
// left to the check after start, when pruning has been done.
void collect_plan(Plan* plan, ScanList* scans) {
    if (plan == nullptr) return;
    ListCell* lc;
    switch (nodeTag(plan)) {
        case T_ForeignScan:
            collect_foreign_scan(reinterpret_cast<ForeignScan*>(plan), nullptr, scans);
            break;
        case T_Append: {
            auto* a = reinterpret_cast<Append*>(plan);
            if (a->part_prune_info == nullptr) foreach (lc, a->appendplans) collect_plan(static_cast<Plan*>(lfirst(lc)), scans);
            break;
        }
        case T_MergeAppend: {
            auto* m = reinterpret_cast<MergeAppend*>(plan);
            if (m->part_prune_info == nullptr) foreach (lc, m->mergeplans) collect_plan(static_cast<Plan*>(lfirst(lc)), scans);
            break;
        }
        case T_SubqueryScan:
            collect_plan(reinterpret_cast<SubqueryScan*>(plan)->subplan, scans);
            break;
        case T_CustomScan:
            foreach (lc, reinterpret_cast<CustomScan*>(plan)->custom_plans) collect_plan(static_cast<Plan*>(lfirst(lc)), scans);
            break;
        case T_BitmapAnd:
            foreach (lc, reinterpret_cast<BitmapAnd*>(plan)->bitmapplans) collect_plan(static_cast<Plan*>(lfirst(lc)), scans);
            break;
        case T_BitmapOr:
            foreach (lc, reinterpret_cast<BitmapOr*>(plan)->bitmapplans) collect_plan(static_cast<Plan*>(lfirst(lc)), scans);
            break;
        default:
            break;
    }
    collect_plan(plan->lefttree, scans);
    collect_plan(plan->righttree, scans);
}

// After the executor started: what survived pruning.
extern "C" bool georoute_collect_scans(PlanState* ps, void* context) {
    if (ps == nullptr) return false;
    auto* scans = static_cast<ScanList*>(context);
    if (IsA(ps, ForeignScanState))
        collect_foreign_scan(reinterpret_cast<ForeignScan*>(ps->plan), reinterpret_cast<ScanState*>(ps)->ss_currentRelation,
                             scans);
    // The walker's C declaration takes bool (*)(): through void (*)(), the
    // generic function pointer, to keep the types honest.
    return planstate_tree_walker(ps, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(georoute_collect_scans)),
                                 context);
}

void check_home_region(List* relids) {
    ListCell* lc;
    foreach (lc, relids) {
        Oid rel = lfirst_oid(lc);
        Oid parent = pg::guard([rel] { return get_rel_relispartition(rel) ? get_partition_parent(rel, true) : InvalidOid; });
        if (!OidIsValid(parent) || !registry::distributed_column(parent)) continue;
        std::string server = pg::guard([rel] { return GetForeignServer(GetForeignTable(rel)->serverid)->servername; });
        std::string part = pg::guard([rel] { return get_rel_name(rel); });
        std::string table = pg::guard([parent] { return get_rel_name(parent); });
        auto region = registry::region_of_server(server);
        std::string local = local_region();
        throw Error(errcodes::home_region_read,
                    "georoute.enforce_home_region: this query reads rows of \"" + table + "\" stored in region " +
                        region.value_or("(server " + server + ")") + " (partition \"" + part + "\")",
                    "This cluster is region " + (local.empty() ? std::string("(unset)") : local) +
                        ": with enforce_home_region on, it reads only its own region's rows of distributed tables "
                        "(aggregates computed in the other region are allowed).",
                    "Add a predicate on the region column that selects this region, or run the query in that "
                    "region's cluster (georoute.route()).");
    }
}

extern "C" void georoute_executor_start(QueryDesc* query, int eflags) {
    bool enforce = g_enforce_home_region && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0;
    if (enforce) {
        ScanList before{NIL, query->plannedstmt->rtable};
        collect_plan(query->plannedstmt->planTree, &before);
        ListCell* lc;
        foreach (lc, query->plannedstmt->subplans) collect_plan(static_cast<Plan*>(lfirst(lc)), &before);
        if (before.relids != NIL) pg::entry([&before] { check_home_region(before.relids); });
    }
    Start::next(query, eflags);
    if (!enforce || query->planstate == nullptr) return;
    ScanList after{NIL, query->plannedstmt->rtable};
    georoute_collect_scans(query->planstate, &after);
    if (after.relids != NIL) pg::entry([&after] { check_home_region(after.relids); });
}

// ---------------------------------------------------------------------------
// Subscriptions: the publisher's row filters, checked before the command
// ---------------------------------------------------------------------------

struct Published {
    std::string schema;
    std::string table;
    std::optional<std::string> filter;
};

// Asks the publisher (libpq, as the server's OS user, connect_timeout 10 s
// unless the connection string says otherwise).
std::vector<Published> published_tables(const std::string& conninfo, const std::vector<std::string>& publications) {
    PGconn* conn = remote::connect(
        conninfo, "georoute residency check", errcodes::residency_violation,
        "residency: cannot ask the publisher which rows this subscription would copy",
        "A subscription in a cluster with distributed tables is checked against the publisher's row filters before "
        "it is made; make the publisher reachable, or create it WITH (connect = false) (it is checked at REFRESH "
        "PUBLICATION).");
    std::string array = "{";
    for (size_t i = 0; i < publications.size(); ++i) {
        if (i) array += ",";
        array += "\"";
        for (char c : publications[i]) {
            if (c == '"' || c == '\\') array += '\\';
            array += c;
        }
        array += "\"";
    }
    array += "}";
    const char* params[] = {array.c_str()};
    PGresult* res = PQexecParams(conn,
                                 "SELECT schemaname::text, tablename::text, rowfilter FROM "
                                 "pg_catalog.pg_publication_tables WHERE pubname = ANY ($1::text[])",
                                 1, nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        std::string why = remote::trimmed(PQerrorMessage(conn));
        PQclear(res);
        PQfinish(conn);
        throw Error(errcodes::residency_violation, "residency: cannot read the publisher's published tables",
                    why, "The publisher must be PostgreSQL 15 or later (row filters).");
    }
    std::vector<Published> out;
    for (int i = 0; i < PQntuples(res); ++i)
        out.push_back({PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                       PQgetisnull(res, i, 2) ? std::nullopt : std::optional<std::string>(PQgetvalue(res, i, 2))});
    PQclear(res);
    PQfinish(conn);
    return out;
}

// The distributed table a local relation belongs to (itself or its parent).
Oid distributed_of(Oid rel) {
    if (!OidIsValid(rel)) return InvalidOid;
    if (registry::distributed_column(rel)) return rel;
    Oid parent = pg::guard([rel] { return get_rel_relispartition(rel) ? get_partition_parent(rel, true) : InvalidOid; });
    if (OidIsValid(parent) && registry::distributed_column(parent)) return parent;
    return InvalidOid;
}

void check_subscription(const std::string& subname, const std::string& conninfo,
                        const std::vector<std::string>& publications) {
    // Nothing to protect in a database without distributed tables (or
    // without georoute): no connection to the publisher is made.
    if (publications.empty() || !registry::any_distributed()) return;
    auto tables = published_tables(conninfo, publications);
    std::string local = local_region();
    for (const auto& t : tables) {
        const char* schema = t.schema.c_str();
        const char* name = t.table.c_str();
        Oid rel = pg::guard([schema, name] {
            Oid nsp = get_namespace_oid(schema, true);
            return OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
        });
        Oid dist = distributed_of(rel);
        if (!OidIsValid(dist)) continue;
        std::string column = *registry::distributed_column(dist);
        std::string wanted;
        if (!local.empty()) {
            const char* col = column.c_str();
            wanted = pg::guard([col] { return quote_identifier(col); });
            wanted = "(" + wanted + " = '" + local + "'::text)";
        }
        if (local.empty() || !t.filter || *t.filter != wanted)
            throw Error(errcodes::residency_violation,
                        "residency: subscription \"" + subname + "\" would copy rows of distributed table " + t.schema +
                            "." + t.table + " into this cluster " +
                            (t.filter ? "with the row filter " + *t.filter : std::string("without a row filter")),
                        "This cluster is region " + (local.empty() ? std::string("(unset)") : local) +
                            ": it stores only its own region's rows of a distributed table.",
                        local.empty() ? std::string("Set georoute.local_region.")
                                      : "Publish it WHERE (" + column + " = '" + local + "') only.");
    }
}

std::vector<std::string> names_of(List* list) {
    std::vector<std::string> out;
    ListCell* lc;
    foreach (lc, list) out.emplace_back(strVal(lfirst(lc)));
    return out;
}

bool option_false(List* options, const char* name) {
    ListCell* lc;
    foreach (lc, options) {
        auto* d = static_cast<DefElem*>(lfirst(lc));
        if (strcmp(d->defname, name) == 0) return !pg::guard([d] { return defGetBoolean(d); });
    }
    return false;
}

void check_subscription_command(Node* stmt) {
    if (IsA(stmt, CreateSubscriptionStmt)) {
        auto* c = reinterpret_cast<CreateSubscriptionStmt*>(stmt);
        if (option_false(c->options, "connect")) return;  // no tables until REFRESH PUBLICATION
        check_subscription(c->subname, c->conninfo, names_of(c->publication));
        return;
    }
    if (!IsA(stmt, AlterSubscriptionStmt)) return;
    auto* a = reinterpret_cast<AlterSubscriptionStmt*>(stmt);
    if (a->kind != ALTER_SUBSCRIPTION_CONNECTION && a->kind != ALTER_SUBSCRIPTION_SET_PUBLICATION &&
        a->kind != ALTER_SUBSCRIPTION_ADD_PUBLICATION && a->kind != ALTER_SUBSCRIPTION_REFRESH)
        return;
    const char* subname = a->subname;
    std::string conninfo;
    std::vector<std::string> pubs;
    bool found = pg::guard([&] {
        Oid subid = get_subscription_oid(subname, true);
        if (!OidIsValid(subid)) return false;
        Subscription* sub = GetSubscription(subid, false);
        conninfo = sub->conninfo;
        ListCell* lc;
        foreach (lc, sub->publications) pubs.emplace_back(strVal(lfirst(lc)));
        return true;
    });
    if (!found) return;  // PostgreSQL reports it
    if (a->kind == ALTER_SUBSCRIPTION_CONNECTION) conninfo = a->conninfo;
    if (a->kind == ALTER_SUBSCRIPTION_SET_PUBLICATION) pubs = names_of(a->publication);
    if (a->kind == ALTER_SUBSCRIPTION_ADD_PUBLICATION)
        for (auto& p : names_of(a->publication)) pubs.push_back(p);
    check_subscription(subname, conninfo, pubs);
}

extern "C" void georoute_utility(PlannedStmt* pstmt, const char* query, bool read_only_tree,
                                 ProcessUtilityContext ctx, ParamListInfo params, QueryEnvironment* env,
                                 DestReceiver* dest, QueryCompletion* qc) {
    Node* stmt = pstmt->utilityStmt;
    if (IsA(stmt, CreateSubscriptionStmt) || IsA(stmt, AlterSubscriptionStmt))
        pg::entry([stmt] { check_subscription_command(stmt); });
    Utility::next(pstmt, query, read_only_tree, ctx, params, env, dest, qc);
}

}  // namespace

void install(char** local_region_var) {
    g_local_region_var = local_region_var;
    g_preloaded = process_shared_preload_libraries_in_progress;
    gucs::define(gucs::Bool{.name = "georoute.enforce_home_region",
                            .short_desc = "Refuse queries that read rows of distributed tables from other regions.",
                            .long_desc = "A scan of another region's partition that survives pruning raises KB611; "
                                         "aggregates computed in the other region are allowed.",
                            .var = &g_enforce_home_region,
                            .boot = false});
    Start::install(georoute_executor_start);
    Utility::install(georoute_utility);
}

bool preloaded() { return g_preloaded; }

}  // namespace casebook::georoute::guard

// georoute._region_change(): BEFORE UPDATE FOR EACH ROW on a distributed
// table, argument: the region column. Refuses a new region of another
// jurisdiction (KB612); a region that is not registered is left to the
// partitions (no partition accepts it: 23514).
CASEBOOK_FUNCTION(georoute_region_change) {
    namespace registry = casebook::georoute::registry;
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw casebook::Error(casebook::errcodes::casebook_error, "georoute._region_change() is a trigger function");
    auto* trig = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_BY_UPDATE(trig->tg_event) || !TRIGGER_FIRED_FOR_ROW(trig->tg_event) ||
        trig->tg_trigger->tgnargs != 1)
        throw casebook::Error(casebook::errcodes::casebook_error,
                              "georoute._region_change() runs BEFORE UPDATE FOR EACH ROW with one argument");
    TupleDesc desc = RelationGetDescr(trig->tg_relation);
    int att = casebook::pg::guard([trig, desc] {
        int a = SPI_fnumber(desc, trig->tg_trigger->tgargs[0]);
        if (a <= 0) elog(ERROR, "georoute._region_change(): no column \"%s\"", trig->tg_trigger->tgargs[0]);
        return a;
    });
    const char* b = casebook::pg::guard([trig, desc, att] { return SPI_getvalue(trig->tg_trigtuple, desc, att); });
    const char* a = casebook::pg::guard([trig, desc, att] { return SPI_getvalue(trig->tg_newtuple, desc, att); });
    if (b != nullptr && a != nullptr && strcmp(a, b) != 0) {
        std::string before = b, after = a;
        auto jb = registry::jurisdiction_of(before);
        auto ja = registry::jurisdiction_of(after);
        if (jb && ja && *jb != *ja)
            throw casebook::Error(casebook::errcodes::region_change_across_jurisdictions,
                                  "residency: a row cannot move from region " + before + " (" + *jb +
                                      ") to region " + after + " (" + *ja + ")",
                                  "Changing a row's region to another jurisdiction would store it there.",
                                  "Regions of one jurisdiction may trade rows; across jurisdictions, write a new row "
                                  "in the other region (with the consent that requires) and delete this one.");
    }
    return PointerGetDatum(trig->tg_newtuple);
}
