// feed: follower and following counts (see follow_counts.hpp).
#include "follow_counts.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "pg_boundary.hpp"

extern "C" {
#include "access/xact.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
}

namespace casebook::feed::follow_counts {
namespace {

struct Delta {
    int64_t followers = 0;
    int64_t following = 0;
};

// The changes made in one subtransaction; `applied_in` is the
// subtransaction whose UPDATE applied them (InvalidSubTransactionId: not
// applied yet).
struct Level {
    SubTransactionId sub;
    SubTransactionId applied_in;
    std::unordered_map<int64_t, Delta> users;
};

std::vector<Level> g_levels;
bool g_pending = false;   // some level is not applied
bool g_flushing = false;  // the tally's own UPDATE is running
// Statements running around the current point (executor runs and utility
// commands): the tally is applied when a statement ends at depth 0.
int g_depth = 0;
// The library was loaded by a statement whose executor ran without these
// hooks (not preloaded): its transaction applies the tally at its end only.
bool g_unhooked = true;

ExecutorRun_hook_type g_prev_run = nullptr;
ExecutorFinish_hook_type g_prev_finish = nullptr;
ExecutorEnd_hook_type g_prev_end = nullptr;
ProcessUtility_hook_type g_prev_utility = nullptr;

spi::Statement kApply{
    "UPDATE feed.users u SET follower_count = u.follower_count + d.followers,"
    " following_count = u.following_count + d.following"
    " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) d (id, followers, following) WHERE u.id = d.id",
    {INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID}};

void apply(spi::Connection& conn) {
    if (!g_pending || g_flushing) return;
    std::unordered_map<int64_t, Delta> sum;
    for (const Level& l : g_levels)
        if (l.applied_in == InvalidSubTransactionId)
            for (const auto& [user, d] : l.users) {
                Delta& s = sum[user];
                s.followers += d.followers;
                s.following += d.following;
            }
    std::vector<int64_t> ids;
    for (const auto& [user, d] : sum)
        if (d.followers != 0 || d.following != 0) ids.push_back(user);
    std::sort(ids.begin(), ids.end());  // the rows are ours already (follow locked them); a stable order anyway
    std::vector<int64_t> followers, following;
    for (int64_t id : ids) {
        followers.push_back(sum[id].followers);
        following.push_back(sum[id].following);
    }
    if (!ids.empty()) {
        g_flushing = true;
        try {
            conn.execute(kApply, {spi::datum_param(spi::int8_array(ids)), spi::datum_param(spi::int8_array(followers)),
                                  spi::datum_param(spi::int8_array(following))});
        } catch (...) {
            g_flushing = false;
            throw;
        }
        g_flushing = false;
    }
    // Applied at the top level, only the transaction's end can undo them:
    // nothing to keep. Inside a subtransaction, kept to be put back if it
    // rolls back.
    SubTransactionId now = GetCurrentSubTransactionId();
    if (now == TopSubTransactionId) {
        g_levels.clear();
    } else {
        for (Level& l : g_levels)
            if (l.applied_in == InvalidSubTransactionId) l.applied_in = now;
    }
    g_pending = false;
}

void clear() {
    g_levels.clear();
    g_pending = false;
}

// The role and settings the tally's UPDATE runs under, outside feed's own
// functions (the end of a statement, the commit): as the owner of
// feed.users, as a restricted operation, with search_path = pg_catalog,
// pg_temp, whatever the session set (or its caller's own operators and
// functions would run as the owner).
struct AsOwner {
    Oid saved_user;
    int saved_context;
    int nest;
    bool ok;
};

// Plain C under one guard.
void become_owner(AsOwner* a) {
    a->ok = false;
    Oid nsp = get_namespace_oid("feed", true);
    Oid relid = OidIsValid(nsp) ? get_relname_relid("users", nsp) : InvalidOid;
    if (!OidIsValid(relid)) return;  // dropped in this transaction: nothing to count
    HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
    if (!HeapTupleIsValid(tup)) return;
    Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup))->relowner;
    ReleaseSysCache(tup);
    GetUserIdAndSecContext(&a->saved_user, &a->saved_context);
    SetUserIdAndSecContext(owner, a->saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    a->nest = NewGUCNestLevel();
    (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true,
                            0, false);
    // After a statement's end or at the commit no snapshot is active: the
    // UPDATE reads under one taken now.
    PushActiveSnapshot(GetTransactionSnapshot());
    a->ok = true;
}

// An error before this point aborts the (sub)transaction, which restores
// all three.
void restore(AsOwner* a) {
    PopActiveSnapshot();
    AtEOXact_GUC(true, a->nest);
    SetUserIdAndSecContext(a->saved_user, a->saved_context);
}

void apply_now() {
    AsOwner as{};
    AsOwner* ap = &as;
    pg::guard([ap] { become_owner(ap); });
    if (!as.ok) {
        clear();
        return;
    }
    {
        spi::Connection conn;
        apply(conn);
        conn.finish();
    }
    pg::guard([ap] { restore(ap); });
}

extern "C" void feed_counts_on_xact(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
        case XACT_EVENT_PRE_PREPARE:
            if (g_pending) pg::entry([] { apply_now(); });
            break;
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_PREPARE:
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_COMMIT:
        case XACT_EVENT_PARALLEL_ABORT:
            clear();
            g_unhooked = false;
            g_flushing = false;
            break;
        default:
            break;
    }
}

// Subtransaction `sub` rolled back: its changes (and those of the
// subtransactions under it, which have larger ids) are gone; changes of
// its ancestors that an UPDATE inside it applied are pending again.
extern "C" void feed_counts_on_subxact(SubXactEvent event, SubTransactionId sub, SubTransactionId, void*) {
    if (event != SUBXACT_EVENT_ABORT_SUB || g_levels.empty()) return;
    std::erase_if(g_levels, [sub](const Level& l) { return l.sub >= sub; });
    for (Level& l : g_levels)
        if (l.applied_in != InvalidSubTransactionId && l.applied_in >= sub) {
            l.applied_in = InvalidSubTransactionId;
            g_pending = true;
        }
    g_flushing = false;
}

// ---- hooks (plain C frames: PG_TRY with nothing to destroy) ---------------

extern "C" void feed_counts_run(QueryDesc* query, ScanDirection direction, uint64 count, bool execute_once) {
    g_depth++;
    PG_TRY();
    {
        if (g_prev_run)
            g_prev_run(query, direction, count, execute_once);
        else
            standard_ExecutorRun(query, direction, count, execute_once);
    }
    PG_FINALLY();
    {
        g_depth--;
    }
    PG_END_TRY();
}

extern "C" void feed_counts_finish(QueryDesc* query) {
    g_depth++;
    PG_TRY();
    {
        if (g_prev_finish)
            g_prev_finish(query);
        else
            standard_ExecutorFinish(query);
    }
    PG_FINALLY();
    {
        g_depth--;
    }
    PG_END_TRY();
}

extern "C" void feed_counts_utility(PlannedStmt* stmt, const char* query, bool read_only_tree,
                                    ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* env,
                                    DestReceiver* dest, QueryCompletion* qc) {
    g_depth++;
    PG_TRY();
    {
        if (g_prev_utility)
            g_prev_utility(stmt, query, read_only_tree, context, params, env, dest, qc);
        else
            standard_ProcessUtility(stmt, query, read_only_tree, context, params, env, dest, qc);
    }
    PG_FINALLY();
    {
        g_depth--;
    }
    PG_END_TRY();
    // A top-level DO, CALL, EXPLAIN ANALYZE... ended (BEGIN, COMMIT and
    // the like only change the block state: the commit applies the tally).
    if (g_pending && g_depth == 0 && !g_unhooked && !g_flushing && IsTransactionState() &&
        !IsA(stmt->utilityStmt, TransactionStmt))
        pg::entry([] { apply_now(); });
}

extern "C" void feed_counts_end(QueryDesc* query) {
    if (g_prev_end)
        g_prev_end(query);
    else
        standard_ExecutorEnd(query);
    // A top-level statement ended: the next one reads exact counts.
    if (g_pending && g_depth == 0 && !g_unhooked && !g_flushing && IsTransactionState()) pg::entry([] { apply_now(); });
}

}  // namespace

void install() {
    g_unhooked = !process_shared_preload_libraries_in_progress;
    pg::guard([] {
        RegisterXactCallback(feed_counts_on_xact, nullptr);
        RegisterSubXactCallback(feed_counts_on_subxact, nullptr);
    });
    g_prev_run = ExecutorRun_hook;
    ExecutorRun_hook = feed_counts_run;
    g_prev_finish = ExecutorFinish_hook;
    ExecutorFinish_hook = feed_counts_finish;
    g_prev_end = ExecutorEnd_hook;
    ExecutorEnd_hook = feed_counts_end;
    g_prev_utility = ProcessUtility_hook;
    ProcessUtility_hook = feed_counts_utility;
}

void add(int64_t follower, int64_t followee, int64_t delta) {
    SubTransactionId sub = GetCurrentSubTransactionId();
    if (g_levels.empty() || g_levels.back().sub != sub || g_levels.back().applied_in != InvalidSubTransactionId)
        g_levels.push_back(Level{sub, InvalidSubTransactionId, {}});
    std::unordered_map<int64_t, Delta>& users = g_levels.back().users;
    users[followee].followers += delta;
    users[follower].following += delta;
    g_pending = true;
}

void flush(spi::Connection& conn) { apply(conn); }

}  // namespace casebook::feed::follow_counts
