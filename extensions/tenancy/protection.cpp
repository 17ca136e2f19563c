// tenancy: protected tables (protection.hpp).
#include "tenancy/protection.hpp"

#include <optional>
#include <vector>

#include "errcodes.hpp"
#include "run_as.hpp"
#include "spi.hpp"
#include "tenancy/context.hpp"

extern "C" {
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
}

namespace casebook::tenancy::protection {

namespace errcodes = casebook::errcodes;
namespace spi = casebook::spi;

namespace {

int g_busy = 0;
struct Busy {
    Busy() { ++g_busy; }
    ~Busy() { --g_busy; }
    Busy(const Busy&) = delete;
    Busy& operator=(const Busy&) = delete;
};

struct Relation {
    Oid relid;
    char relkind;
    std::string name;  // schema-qualified, quoted
    bool rls;
    bool force;
    bool own_permissive;  // a permissive policy that is not tenancy_rows
    bool has_guard;
    bool has_rows;
};

spi::Statement kTree{
    "WITH RECURSIVE t(relid) AS ("
    "  SELECT $1::pg_catalog.oid"
    "  UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN t ON i.inhparent OPERATOR(pg_catalog.=) t.relid)"
    " SELECT c.oid, c.relkind::pg_catalog.text,"
    "        pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)"
    "          pg_catalog.quote_ident(c.relname),"
    "        c.relrowsecurity, c.relforcerowsecurity,"
    "        EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid"
    "                AND p.polpermissive AND p.polname OPERATOR(pg_catalog.<>) 'tenancy_rows'),"
    "        EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid"
    "                AND p.polname OPERATOR(pg_catalog.=) 'tenancy_guard'),"
    "        EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid"
    "                AND p.polname OPERATOR(pg_catalog.=) 'tenancy_rows')"
    " FROM t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.relid"
    " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
    " ORDER BY c.oid",
    {OIDOID}};

spi::Statement kRegistered{
    "SELECT p.tenant_column::pg_catalog.text, p.root::pg_catalog.oid FROM tenancy.protected_tables p"
    " WHERE p.relid::pg_catalog.oid OPERATOR(pg_catalog.=) $1",
    {OIDOID}};

// The nearest registered ancestor (a partition or child added below a
// protected table).
spi::Statement kAncestor{
    "WITH RECURSIVE a(relid, depth) AS ("
    "  SELECT i.inhparent, 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid OPERATOR(pg_catalog.=) $1"
    "  UNION ALL SELECT i.inhparent, a.depth OPERATOR(pg_catalog.+) 1 FROM pg_catalog.pg_inherits i"
    "    JOIN a ON i.inhrelid OPERATOR(pg_catalog.=) a.relid)"
    " SELECT p.tenant_column::pg_catalog.text, p.root::pg_catalog.oid"
    " FROM a JOIN tenancy.protected_tables p ON p.relid::pg_catalog.oid OPERATOR(pg_catalog.=) a.relid"
    " ORDER BY a.depth LIMIT 1",
    {OIDOID}};

spi::Statement kGuardQual{
    "SELECT pg_catalog.pg_get_expr(p.polqual, p.polrelid) FROM pg_catalog.pg_policy p"
    " WHERE p.polrelid OPERATOR(pg_catalog.=) $1 AND p.polname OPERATOR(pg_catalog.=) 'tenancy_guard'",
    {OIDOID}};

spi::Statement kOurPolicies{
    "SELECT p.polname::pg_catalog.text FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) $1"
    " AND p.polname OPERATOR(pg_catalog.=) ANY ('{tenancy_guard,tenancy_rows}'::pg_catalog.name[]) ORDER BY 1",
    {OIDOID}};

spi::Statement kRegister{
    "INSERT INTO tenancy.protected_tables AS p (relid, tenant_column, root, guard_qual, rls_before, force_before)"
    " VALUES ($1::pg_catalog.regclass, $2::pg_catalog.name, $3::pg_catalog.regclass, $4, $5, $6)"
    " ON CONFLICT (relid) DO UPDATE SET tenant_column = EXCLUDED.tenant_column, root = EXCLUDED.root,"
    "   guard_qual = EXCLUDED.guard_qual",
    {OIDOID, TEXTOID, OIDOID, TEXTOID, BOOLOID, BOOLOID}};

spi::Statement kUnregister{
    "DELETE FROM tenancy.protected_tables p WHERE p.root::pg_catalog.oid OPERATOR(pg_catalog.=) $1"
    " RETURNING p.relid::pg_catalog.oid, p.rls_before, p.force_before",
    {OIDOID}};

spi::Statement kForgetDropped{
    "DELETE FROM tenancy.protected_tables p WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class c"
    "  WHERE c.oid OPERATOR(pg_catalog.=) p.relid::pg_catalog.oid)",
    {}};

spi::Statement kForgetSchemas{
    "DELETE FROM tenancy.schemas s WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n"
    "  WHERE n.oid OPERATOR(pg_catalog.=) s.schema_name::pg_catalog.oid)",
    {}};

Oid registry_owner() {
    Oid owner = pg::relation_owner("tenancy", "protected_tables");
    if (!OidIsValid(owner))
        throw Error(errcodes::extension_not_ready, "tenancy.protected_tables is missing",
                    "The extension is not installed in this database, or is being dropped.");
    return owner;
}

std::string relation_name(Oid relid) {
    const char* s = pg::guard([relid]() -> const char* {
        char* rel = get_rel_name(relid);
        char* nsp = get_namespace_name(get_rel_namespace(relid));
        if (rel == nullptr || nsp == nullptr) return nullptr;
        return quote_qualified_identifier(nsp, rel);
    });
    if (s == nullptr) throw Error(SqlState("42P01"), "relation with OID " + std::to_string(relid) + " does not exist");
    return s;
}

void require_owner(Oid relid, const std::string& name) {
    bool owner = pg::guard([relid] { return pg_class_ownercheck(relid, GetUserId()); });
    if (!owner) throw Error(errcodes::insufficient_privilege, "must be owner of table " + name);
}

std::string quoted(const std::string& ident) {
    const char* s = ident.c_str();
    return pg::guard([s] { return quote_identifier(s); });
}

std::vector<Relation> tree(spi::Connection& conn, Oid relid) {
    spi::Rows rows = conn.execute(kTree, {spi::datum_param(ObjectIdGetDatum(relid))});
    std::vector<Relation> out;
    for (uint64_t i = 0; i < rows.size(); ++i) {
        std::string kind = rows.text(i, 2).value_or("");
        out.push_back(Relation{DatumGetObjectId(*rows.datum(i, 1)), kind.empty() ? '\0' : kind[0],
                               rows.text(i, 3).value_or(""), rows.boolean(i, 4).value_or(false),
                               rows.boolean(i, 5).value_or(false), rows.boolean(i, 6).value_or(false),
                               rows.boolean(i, 7).value_or(false), rows.boolean(i, 8).value_or(false)});
    }
    return out;
}

struct Registration {
    std::string column;
    Oid root;
};

std::optional<Registration> lookup(spi::Connection& conn, spi::Statement& stmt, Oid relid) {
    spi::Rows rows = conn.execute(stmt, {spi::datum_param(ObjectIdGetDatum(relid))});
    if (rows.empty()) return std::nullopt;
    return Registration{rows.text(0, 1).value_or(""), DatumGetObjectId(*rows.datum(0, 2))};
}

}  // namespace

bool busy() { return g_busy > 0; }

int64_t protect(Oid relid, const std::string& column) {
    context::require_preloaded();
    std::string name = relation_name(relid);
    char kind = pg::guard([relid] { return get_rel_relkind(relid); });
    if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
        throw Error(errcodes::not_protectable, name + " is not a table",
                    "Only ordinary and partitioned tables carry row security.");
    require_owner(relid, name);
    const char* col = column.c_str();
    AttrNumber attnum = pg::guard([relid, col] { return get_attnum(relid, col); });
    if (attnum == InvalidAttrNumber)
        throw Error(errcodes::not_protectable, "table " + name + " has no column \"" + column + "\"",
                    "", "Name the tenant column: tenancy.protect('" + name + "', 'column_name').");
    Oid type = pg::guard([relid, attnum] { return get_atttype(relid, attnum); });
    if (type != UUIDOID)
        throw Error(errcodes::not_protectable, "column \"" + column + "\" of " + name + " is not of type uuid",
                    "Tenant ids are UUIDs: the guard compares the column with tenancy.tenant().");

    spi::Connection conn;
    Oid root = relid;
    if (auto mine = lookup(conn, kRegistered, relid)) {
        if (mine->column != column)
            throw Error(errcodes::not_protectable,
                        name + " is already protected by its column \"" + mine->column + "\"",
                        "", "Call tenancy.unprotect() first to change the tenant column.");
        root = mine->root;
    } else if (auto parent = lookup(conn, kAncestor, relid)) {
        if (parent->column != column)
            throw Error(errcodes::not_protectable,
                        name + " is below a table protected by its column \"" + parent->column + "\"");
        root = parent->root;
    }

    std::vector<Relation> rels = tree(conn, relid);
    std::string col_sql = quoted(column);
    std::string guard_expr = "(" + col_sql + " OPERATOR(pg_catalog.=) (SELECT tenancy.tenant()))";
    Oid owner = registry_owner();
    int64_t n = 0;
    Busy busy;
    for (const Relation& r : rels) {
        if (r.relkind != RELKIND_RELATION && r.relkind != RELKIND_PARTITIONED_TABLE)
            continue;  // a foreign partition carries no row security: tenancy.audit() reports it
        if (r.relid != relid) require_owner(r.relid, r.name);
        conn.utility("ALTER TABLE " + r.name + " ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY");
        if (r.has_guard) conn.utility("DROP POLICY tenancy_guard ON " + r.name);
        conn.utility("CREATE POLICY tenancy_guard ON " + r.name + " AS RESTRICTIVE FOR ALL TO PUBLIC USING " +
                     guard_expr + " WITH CHECK " + guard_expr);
        if (!r.own_permissive) {
            if (r.has_rows) conn.utility("DROP POLICY tenancy_rows ON " + r.name);
            conn.utility("CREATE POLICY tenancy_rows ON " + r.name +
                         " AS PERMISSIVE FOR ALL TO PUBLIC USING (tenancy._rows()) WITH CHECK (tenancy._rows())");
        }
        // Not read-only: the policy just created must be visible.
        spi::Rows q = conn.execute(kGuardQual, {spi::datum_param(ObjectIdGetDatum(r.relid))});
        if (q.size() != 1) throw Error(errcodes::internal_error, "tenancy: the guard just created on " + r.name + " is not in pg_policy");
        std::string qual = q.text(0, 1).value_or("");
        // A relation already registered keeps the state it had before the
        // first protect(), which unprotect() puts back.
        pg::as_role(owner, [&] {
            conn.execute(kRegister, {spi::datum_param(ObjectIdGetDatum(r.relid)), spi::text_param(column),
                                     spi::datum_param(ObjectIdGetDatum(root)), spi::text_param(qual),
                                     spi::datum_param(BoolGetDatum(r.rls)), spi::datum_param(BoolGetDatum(r.force))});
        });
        ++n;
    }
    conn.finish();
    return n;
}

int64_t unprotect(Oid relid) {
    context::require_preloaded();
    std::string name = relation_name(relid);
    require_owner(relid, name);
    spi::Connection conn;
    auto mine = lookup(conn, kRegistered, relid);
    if (!mine) throw Error(errcodes::not_protectable, name + " is not protected");
    if (mine->root != relid)
        throw Error(errcodes::not_protectable, name + " is protected through " + relation_name(mine->root),
                    "Its rows are reachable through that table: protection is removed from the whole tree at once.",
                    "Call tenancy.unprotect('" + relation_name(mine->root) + "').");
    Oid owner = registry_owner();
    struct Before {
        Oid relid;
        bool rls;
        bool force;
    };
    std::vector<Before> before;
    Busy busy;
    pg::as_role(owner, [&] {
        spi::Rows rows = conn.execute(kUnregister, {spi::datum_param(ObjectIdGetDatum(relid))});
        for (uint64_t i = 0; i < rows.size(); ++i)
            before.push_back(Before{DatumGetObjectId(*rows.datum(i, 1)), rows.boolean(i, 2).value_or(false),
                                    rows.boolean(i, 3).value_or(false)});
    });
    for (const Before& b : before) {
        std::string rel = relation_name(b.relid);
        require_owner(b.relid, rel);
        spi::Rows policies = conn.execute(kOurPolicies, {spi::datum_param(ObjectIdGetDatum(b.relid))});
        std::vector<std::string> names;
        for (uint64_t i = 0; i < policies.size(); ++i) names.push_back(policies.text(i, 1).value_or(""));
        for (const std::string& policy : names) conn.utility("DROP POLICY " + policy + " ON " + rel);
        conn.utility("ALTER TABLE " + rel + (b.rls ? " ENABLE" : " DISABLE") + " ROW LEVEL SECURITY, " +
                     (b.force ? "FORCE" : "NO FORCE") + " ROW LEVEL SECURITY");
    }
    conn.finish();
    return static_cast<int64_t>(before.size());
}

int64_t forget_dropped() {
    Oid owner = pg::relation_owner("tenancy", "protected_tables");
    if (!OidIsValid(owner)) return 0;  // the extension itself is being dropped
    spi::Connection conn;
    int64_t n = pg::as_role(owner, [&] {
        conn.execute(kForgetSchemas, {});
        spi::Rows rows = conn.execute(kForgetDropped, {});
        return static_cast<int64_t>(rows.size());
    });
    conn.finish();
    return n;
}

}  // namespace casebook::tenancy::protection
