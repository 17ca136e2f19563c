// tenancy: the statement hook and the transaction callback (statement_guard.hpp).
#include "tenancy/statement_guard.hpp"

#include <string>
#include <vector>

#include "errcodes.hpp"
#include "hooks.hpp"
#include "pg_boundary.hpp"
#include "tenancy/context.hpp"
#include "tenancy/limits.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/syscache.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/portal.h"
}

namespace casebook::tenancy::statement_guard {

namespace errcodes = casebook::errcodes;

namespace {

struct UtilityTag;
using Utility = pg::hooks::Chain<UtilityTag, ProcessUtility_hook, standard_ProcessUtility>;
struct StartTag;
using Start = pg::hooks::Chain<StartTag, ExecutorStart_hook, standard_ExecutorStart>;

// Holdable cursors declared in the current transaction (names).
std::vector<std::string> g_held;

[[noreturn]] void refuse_reset() {
    throw Error(errcodes::tenant_context_locked,
                "tenancy.tenant_id can only be changed by tenancy.enter(), tenancy.enter_token() or tenancy.leave()",
                "RESET and SET ... TO DEFAULT of the tenant context are refused for every role.",
                "End the context with tenancy.leave(); it also ends by itself at COMMIT or ROLLBACK.");
}

void check_declare(const DeclareCursorStmt* d) {
    if ((d->options & CURSOR_OPT_HOLD) == 0) return;
    if (context::current() != nullptr && context::entered_in_transaction())
        throw Error(errcodes::held_cursor_in_context,
                    std::string("cursor \"") + d->portalname +
                        "\" cannot be declared WITH HOLD inside a transaction-scoped tenant context",
                    "A held cursor's rows are read at COMMIT, under this tenant, and stay readable after the "
                    "context ends: by the next client of a pooled connection too.",
                    "Declare it WITHOUT HOLD and read it before COMMIT.");
}

// PostgreSQL validates a new foreign key (and VALIDATE CONSTRAINT) with one
// query run as the current user when that user owns the tables; under
// forced row security that query sees only the current tenant's rows (or
// none: KB401), so a constraint could be marked valid while another
// tenant's rows violate it. Refused while row security applies to the user
// on either table.
bool rls_applies(Oid relid) {
    return OidIsValid(relid) && pg::guard([relid] { return check_enable_rls(relid, InvalidOid, true); }) == RLS_ENABLED;
}

[[noreturn]] void refuse_fk_validation(Oid fk, Oid pk) {
    Oid rel = rls_applies(fk) ? fk : pk;
    const char* name = pg::guard([rel] { return get_rel_name(rel); });
    throw Error(errcodes::fk_validation_under_guard,
                std::string("a foreign key cannot be validated while row security applies to this role on \"") +
                    (name ? name : "?") + "\"",
                "PostgreSQL checks the existing rows with a query under row security: it would see one tenant's "
                "rows at most, and could mark the key valid while another tenant's rows violate it.",
                "Add the key NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT as a superuser (or a role "
                "with BYPASSRLS).");
}

void check_alter_table(const AlterTableStmt* stmt) {
    if (stmt->relation == nullptr) return;
    RangeVar* rv = stmt->relation;
    Oid relid = pg::guard([rv] { return RangeVarGetRelid(rv, NoLock, true); });
    if (!OidIsValid(relid)) return;
    ListCell* lc;
    foreach (lc, stmt->cmds) {
        auto* cmd = static_cast<AlterTableCmd*>(lfirst(lc));
        Oid pk = InvalidOid;
        bool validates = false;
        if (cmd->subtype == AT_AddConstraint && cmd->def != nullptr && IsA(cmd->def, Constraint)) {
            auto* c = reinterpret_cast<Constraint*>(cmd->def);
            if (c->contype == CONSTR_FOREIGN && !c->skip_validation) {
                validates = true;
                RangeVar* pkrv = c->pktable;
                pk = pg::guard([pkrv] { return RangeVarGetRelid(pkrv, NoLock, true); });
            }
        } else if (cmd->subtype == AT_ValidateConstraint && cmd->name != nullptr) {
            const char* conname = cmd->name;
            pk = pg::guard([relid, conname]() -> Oid {
                Oid con = get_relation_constraint_oid(relid, conname, true);
                if (!OidIsValid(con)) return InvalidOid;
                HeapTuple tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(con));
                if (!HeapTupleIsValid(tup)) return InvalidOid;
                auto* form = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tup));
                Oid referenced = form->contype == CONSTRAINT_FOREIGN ? form->confrelid : InvalidOid;
                ReleaseSysCache(tup);
                return referenced;
            });
            validates = OidIsValid(pk);
        }
        if (validates && (rls_applies(relid) || rls_applies(pk))) refuse_fk_validation(relid, pk);
    }
}

void remember_declare(const DeclareCursorStmt* d) {
    if ((d->options & CURSOR_OPT_HOLD) != 0) g_held.emplace_back(d->portalname);
}

// At PRE_COMMIT, after PostgreSQL materialized the held cursors: those of a
// transaction that entered a tenant are closed.
void close_held_cursors() {
    if (g_held.empty() || !context::entered_in_transaction()) return;
    for (const std::string& name : g_held) {
        const char* n = name.c_str();
        bool closed = pg::guard([n] {
            Portal portal = GetPortalByName(n);
            if (portal == nullptr || portal->status == PORTAL_ACTIVE) return false;
            PortalDrop(portal, false);
            return true;
        });
        if (closed)
            pg::guard([n] {
                ereport(WARNING, (errcode(ERRCODE_WARNING),
                                  errmsg("cursor \"%s\" declared WITH HOLD was closed at COMMIT", n),
                                  errdetail("This transaction entered a tenant context; the cursor's rows must "
                                            "not outlive it.")));
            });
    }
}

extern "C" void tenancy_utility(PlannedStmt* pstmt, const char* query, bool read_only_tree, ProcessUtilityContext ctx,
                                ParamListInfo params, QueryEnvironment* env, DestReceiver* dest,
                                QueryCompletion* qc) {
    Node* stmt = pstmt->utilityStmt;
    if (IsA(stmt, VariableSetStmt)) {
        auto* v = reinterpret_cast<VariableSetStmt*>(stmt);
        if ((v->kind == VAR_RESET || v->kind == VAR_SET_DEFAULT) && v->name != nullptr &&
            pg_strcasecmp(v->name, "tenancy.tenant_id") == 0)
            pg::entry([] { refuse_reset(); });
    } else if (IsA(stmt, DeclareCursorStmt)) {
        auto* d = reinterpret_cast<DeclareCursorStmt*>(stmt);
        pg::entry([d] { check_declare(d); });
    } else if (IsA(stmt, AlterTableStmt)) {
        auto* a = reinterpret_cast<AlterTableStmt*>(stmt);
        pg::entry([a] { check_alter_table(a); });
    }
    // A tenant's limits: SET may lower them again, COMMIT/ROLLBACK end them.
    if (!IsA(stmt, VariableSetStmt) && !IsA(stmt, TransactionStmt)) pg::entry([] { limits::check(); });
    Utility::next(pstmt, query, read_only_tree, ctx, params, env, dest, qc);
    if (IsA(stmt, DeclareCursorStmt)) {
        auto* d = reinterpret_cast<DeclareCursorStmt*>(stmt);
        pg::entry([d] { remember_declare(d); });
    }
}

extern "C" void tenancy_executor_start(QueryDesc* query, int eflags) {
    pg::entry([] { limits::check(); });
    Start::next(query, eflags);
}

extern "C" void tenancy_on_xact(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
            pg::entry([] { close_held_cursors(); }, pg::error_level(event));
            break;
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PREPARE:
        case XACT_EVENT_PARALLEL_COMMIT:
        case XACT_EVENT_PARALLEL_ABORT:
            g_held.clear();
            context::transaction_ended();
            break;
        default:
            break;
    }
}

}  // namespace

void install() {
    Utility::install(tenancy_utility);
    Start::install(tenancy_executor_start);
    pg::guard([] { RegisterXactCallback(tenancy_on_xact, nullptr); });
}

}  // namespace casebook::tenancy::statement_guard
