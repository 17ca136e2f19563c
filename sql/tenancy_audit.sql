-- tenancy: audit(). A clean schema has no finding; then each problem is
-- made, one at a time, and shown as the one new finding it causes; its fix
-- (the SQL audit() gives, run as it is where it is SQL) makes it go away.
\i sql/include/try.psql
\i sql/include/try_ddl.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS tenancy CASCADE;
DROP SCHEMA IF EXISTS audit_s CASCADE;
DROP SCHEMA IF EXISTS audit_t CASCADE;
DROP ROLE IF EXISTS audit_app;
DROP ROLE IF EXISTS audit_nobody;
DROP ROLE IF EXISTS audit_owner;
CREATE EXTENSION tenancy;
RESET client_min_messages;
-- The tables' owner cannot log in; the application role can.
CREATE ROLE audit_owner;
CREATE ROLE audit_app LOGIN;
CREATE ROLE audit_nobody;
CREATE SCHEMA audit_s AUTHORIZATION audit_owner;
GRANT USAGE ON SCHEMA audit_s TO audit_app;
ALTER DEFAULT PRIVILEGES FOR ROLE audit_owner IN SCHEMA audit_s
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO audit_app;
-- Runs the fixes audit() gives for one finding (and objects LIKE obj), in
-- its order, as the current role; a fix that is an action, not SQL
-- ("covered by the fix for ..."), is left out.
CREATE FUNCTION pg_temp.apply_fixes(which text, obj text DEFAULT '%') RETURNS TABLE (object text, result text)
LANGUAGE sql AS $$
    SELECT a.object, pg_temp.try_ddl(a.fix) FROM tenancy.audit() a
    WHERE a.finding = which AND a.object LIKE obj AND a.fix NOT LIKE 'covered by %'
$$;

-------------------------------------------------------------------------------
-- A clean schema: nothing to report
-------------------------------------------------------------------------------
SET ROLE audit_owner;
-- Shared tables (no tenant column): the tenants, a lookup table.
CREATE TABLE audit_s.tenants (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE audit_s.countries (code text PRIMARY KEY);
-- Tenant tables: every key leads with the tenant column; a foreign key to a
-- shared lookup table needs none.
CREATE TABLE audit_s.users (
    tenant_id uuid NOT NULL REFERENCES audit_s.tenants (id),
    id bigint NOT NULL,
    email text NOT NULL,
    country text REFERENCES audit_s.countries (code),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email));
CREATE TABLE audit_s.tasks (
    tenant_id uuid NOT NULL,
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    title text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES audit_s.users (tenant_id, id)) PARTITION BY HASH (tenant_id);
CREATE TABLE audit_s.tasks_0 PARTITION OF audit_s.tasks FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE audit_s.tasks_1 PARTITION OF audit_s.tasks FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE audit_s.tasks_2 PARTITION OF audit_s.tasks FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE audit_s.events (tenant_id uuid NOT NULL, at timestamptz NOT NULL, body text) PARTITION BY RANGE (at);
CREATE INDEX events_tenant_at ON audit_s.events (tenant_id, at);
CREATE TABLE audit_s.events_2024 PARTITION OF audit_s.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
-- A table whose own permissive policy grants the rows (no tenancy_rows).
CREATE TABLE audit_s.legacy (tenant_id uuid NOT NULL, owner_name text);
CREATE INDEX ON audit_s.legacy (tenant_id);
ALTER TABLE audit_s.legacy ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_owner ON audit_s.legacy USING (owner_name = current_user);
SELECT tenancy.protect('audit_s.users') AS users, tenancy.protect('audit_s.tasks') AS tasks,
       tenancy.protect('audit_s.events') AS events, tenancy.protect('audit_s.legacy') AS legacy;
-- Not tenant tables: a text tenant_id (protect() takes uuid only).
CREATE TABLE audit_s.imports (tenant_id text, payload text);
-- A view that runs as its caller, a materialized view of shared rows, a
-- SECURITY DEFINER function with its search_path pinned.
CREATE VIEW audit_s.my_tasks WITH (security_invoker = on) AS SELECT id, title FROM audit_s.tasks;
CREATE MATERIALIZED VIEW audit_s.country_list AS SELECT code FROM audit_s.countries;
CREATE FUNCTION audit_s.task_count() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$ SELECT count(*) FROM audit_s.tasks $$;
RESET ROLE;
-- A temporary table with a tenant column is the session's own.
CREATE TEMP TABLE scratch (tenant_id uuid);
SELECT * FROM tenancy.audit();

\x on
-------------------------------------------------------------------------------
-- unprotected_tenant_table
-------------------------------------------------------------------------------
SET ROLE audit_owner;
CREATE TABLE audit_s.invoices (tenant_id uuid NOT NULL, id bigint NOT NULL, PRIMARY KEY (tenant_id, id));
-- org_id is no tenant column name (yet): not reported.
CREATE TABLE audit_s.files (org_id uuid NOT NULL, path text NOT NULL, PRIMARY KEY (org_id, path)) PARTITION BY HASH (org_id);
CREATE TABLE audit_s.files_0 PARTITION OF audit_s.files FOR VALUES WITH (MODULUS 1, REMAINDER 0);
RESET ROLE;
SELECT * FROM tenancy.audit();
-- A schema registered with tenant_column org_id makes org_id a tenant
-- column name: the partitioned table and its partition are reported, the
-- partition's fix being its parent's.
CREATE SCHEMA audit_t;
SELECT tenancy.register_schema('audit_t', tenant_column => 'org_id');
SELECT * FROM tenancy.audit();
-- Any role may call audit(): it reads catalogs only.
SET ROLE audit_nobody;
SELECT finding, object FROM tenancy.audit();
RESET ROLE;
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('unprotected_tenant_table');
RESET ROLE;
SELECT * FROM tenancy.audit();
SELECT tenancy.unregister_schema('audit_t');
DROP SCHEMA audit_t;

-------------------------------------------------------------------------------
-- guard_broken
-------------------------------------------------------------------------------
-- While the event triggers run, weakening a guard is refused (KB407) ...
SET ROLE audit_owner;
SELECT pg_temp.try_ddl($$ALTER TABLE audit_s.users NO FORCE ROW LEVEL SECURITY$$) AS no_force;
RESET ROLE;
-- ... but a superuser can switch them off first.
ALTER EVENT TRIGGER tenancy_ddl_command_end DISABLE;
ALTER TABLE audit_s.users NO FORCE ROW LEVEL SECURITY;
ALTER POLICY tenancy_guard ON audit_s.tasks_0 USING (true);
ALTER EVENT TRIGGER tenancy_ddl_command_end ENABLE;
SELECT * FROM tenancy.audit();
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('guard_broken');
RESET ROLE;
SELECT * FROM tenancy.audit();

-------------------------------------------------------------------------------
-- unguarded_partition: created while the event trigger was off (any depth)
-------------------------------------------------------------------------------
ALTER EVENT TRIGGER tenancy_ddl_command_end DISABLE;
SET ROLE audit_owner;
CREATE TABLE audit_s.tasks_3 PARTITION OF audit_s.tasks FOR VALUES WITH (MODULUS 4, REMAINDER 3)
    PARTITION BY RANGE (id);
CREATE TABLE audit_s.tasks_3a PARTITION OF audit_s.tasks_3 FOR VALUES FROM (MINVALUE) TO (MAXVALUE);
RESET ROLE;
ALTER EVENT TRIGGER tenancy_ddl_command_end ENABLE;
SELECT * FROM tenancy.audit();
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('unguarded_partition');
RESET ROLE;
SELECT * FROM tenancy.audit();

-------------------------------------------------------------------------------
-- foreign_partition
-------------------------------------------------------------------------------
CREATE FOREIGN DATA WRAPPER audit_fdw;
CREATE SERVER audit_srv FOREIGN DATA WRAPPER audit_fdw;
CREATE FOREIGN TABLE audit_s.events_archive PARTITION OF audit_s.events
    FOR VALUES FROM ('2000-01-01') TO ('2024-01-01') SERVER audit_srv;
SELECT * FROM tenancy.audit();
SELECT * FROM pg_temp.apply_fixes('foreign_partition');
SELECT * FROM tenancy.audit();
DROP FOREIGN TABLE audit_s.events_archive;
DROP SERVER audit_srv;
DROP FOREIGN DATA WRAPPER audit_fdw;

-------------------------------------------------------------------------------
-- materialized_view_over_protected
-------------------------------------------------------------------------------
SET ROLE audit_owner;
CREATE MATERIALIZED VIEW audit_s.tasks_per_tenant AS
    SELECT tenant_id, count(*) AS n FROM audit_s.tasks GROUP BY tenant_id WITH NO DATA;
RESET ROLE;
SELECT * FROM tenancy.audit();
-- The fix replaces it with a view that runs as its caller.
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('materialized_view_over_protected');
RESET ROLE;
SELECT relkind, reloptions FROM pg_class WHERE oid = 'audit_s.tasks_per_tenant'::regclass;
SELECT * FROM tenancy.audit();

-------------------------------------------------------------------------------
-- view_without_security_invoker: on the table, and on a view of it
-------------------------------------------------------------------------------
SET ROLE audit_owner;
CREATE VIEW audit_s.open_tasks AS SELECT id, title FROM audit_s.tasks WHERE title NOT LIKE 'done%';
CREATE VIEW audit_s.my_task_titles AS SELECT title FROM audit_s.my_tasks;
RESET ROLE;
SELECT * FROM tenancy.audit();
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('view_without_security_invoker');
RESET ROLE;
SELECT * FROM tenancy.audit();

-------------------------------------------------------------------------------
-- security_definer_without_search_path (a function and a procedure)
-------------------------------------------------------------------------------
SET ROLE audit_owner;
CREATE FUNCTION audit_s.open_task_count() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
    AS $$ SELECT count(*) FROM audit_s.open_tasks $$;
CREATE PROCEDURE audit_s.touch(n int) LANGUAGE sql SECURITY DEFINER AS $$ SELECT n $$;
RESET ROLE;
SELECT * FROM tenancy.audit();
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('security_definer_without_search_path');
RESET ROLE;
SELECT proname, proconfig FROM pg_proc WHERE proname IN ('open_task_count', 'touch') ORDER BY 1;
SELECT * FROM tenancy.audit();

-------------------------------------------------------------------------------
-- privileged_application_role
-------------------------------------------------------------------------------
ALTER ROLE audit_app BYPASSRLS;
SELECT * FROM tenancy.audit();
-- More reasons make one row, not several.
GRANT pg_read_all_data TO audit_app;
GRANT audit_owner TO audit_app;
SELECT * FROM tenancy.audit();
SELECT * FROM pg_temp.apply_fixes('privileged_application_role');
SELECT * FROM tenancy.audit();
-- A superuser: that one reason says it all.
ALTER ROLE audit_app SUPERUSER;
SELECT * FROM tenancy.audit();
SELECT * FROM pg_temp.apply_fixes('privileged_application_role');
-- A role that cannot log in is not an application role.
ALTER ROLE audit_nobody BYPASSRLS;
GRANT SELECT ON audit_s.users TO audit_nobody;
SELECT * FROM tenancy.audit();
REVOKE SELECT ON audit_s.users FROM audit_nobody;
ALTER ROLE audit_nobody NOBYPASSRLS;

-------------------------------------------------------------------------------
-- truncate_privilege
-------------------------------------------------------------------------------
SET ROLE audit_owner;
GRANT TRUNCATE ON audit_s.users TO audit_app, audit_nobody;
GRANT TRUNCATE ON audit_s.tasks TO PUBLIC;
RESET ROLE;
SELECT * FROM tenancy.audit();
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('truncate_privilege');
RESET ROLE;
SELECT * FROM tenancy.audit();

-------------------------------------------------------------------------------
-- key_without_tenant_column: unique constraint, unique index, foreign keys
-------------------------------------------------------------------------------
-- A key of a partitioned table is reported once, on the table: its
-- partitions' copies cannot be changed alone.
SET ROLE audit_owner;
ALTER TABLE audit_s.users ADD COLUMN handle text, ADD CONSTRAINT users_handle_key UNIQUE (handle);
ALTER TABLE audit_s.events ADD CONSTRAINT events_at_key UNIQUE (at);
RESET ROLE;
SELECT * FROM tenancy.audit();
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('key_without_tenant_column');
RESET ROLE;
SELECT * FROM tenancy.audit();
-- (events keeps events_tenant_at as its only index led by tenant_id.)
SET ROLE audit_owner;
ALTER TABLE audit_s.events DROP CONSTRAINT events_at_key;
RESET ROLE;
-- A unique index on an expression.
SET ROLE audit_owner;
CREATE UNIQUE INDEX users_email_lower ON audit_s.users (lower(email));
RESET ROLE;
SELECT * FROM tenancy.audit();
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('key_without_tenant_column');
RESET ROLE;
SELECT pg_get_indexdef('audit_s.users_email_lower'::regclass) AS recreated;
SELECT * FROM tenancy.audit();
-- Foreign keys that reach another tenant's rows: from a protected table,
-- and from a table without a tenant column. (The key they need, users (id),
-- is itself a finding.)
SET ROLE audit_owner;
ALTER TABLE audit_s.users ADD CONSTRAINT users_id_key UNIQUE (id);
CREATE TABLE audit_s.comments (
    tenant_id uuid NOT NULL,
    id bigint NOT NULL,
    user_id bigint NOT NULL REFERENCES audit_s.users (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, id));
SELECT tenancy.protect('audit_s.comments');
CREATE TABLE audit_s.logins (user_id bigint REFERENCES audit_s.users (id), at timestamptz);
RESET ROLE;
SELECT * FROM tenancy.audit();
-- The foreign key's fix is for a superuser: as the table's owner, the
-- check of the existing rows would be a query under the forced guard,
-- which tenancy refuses (KB414).
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('key_without_tenant_column', '%comments');
RESET ROLE;
SELECT * FROM pg_temp.apply_fixes('key_without_tenant_column', '%comments');
SELECT pg_get_constraintdef(oid) AS comments_fk FROM pg_constraint WHERE conrelid = 'audit_s.comments'::regclass AND contype = 'f';
SET ROLE audit_owner;
DROP TABLE audit_s.logins;
ALTER TABLE audit_s.users DROP CONSTRAINT users_id_key;
RESET ROLE;
SELECT * FROM tenancy.audit();

-------------------------------------------------------------------------------
-- tenant_column_not_leading
-------------------------------------------------------------------------------
-- An index on another column, or a partial one, does not count.
SET ROLE audit_owner;
CREATE TABLE audit_s.notes (tenant_id uuid NOT NULL, body text);
CREATE INDEX ON audit_s.notes (body, tenant_id);
CREATE INDEX ON audit_s.notes (tenant_id) WHERE body IS NOT NULL;
SELECT tenancy.protect('audit_s.notes');
RESET ROLE;
SELECT * FROM tenancy.audit();
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('tenant_column_not_leading');
RESET ROLE;
SELECT * FROM tenancy.audit();
-- A partitioned table and its partition: the parent's index is created on
-- every partition.
SET ROLE audit_owner;
DROP INDEX audit_s.events_tenant_at;
RESET ROLE;
SELECT * FROM tenancy.audit();
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('tenant_column_not_leading');
RESET ROLE;
SELECT * FROM tenancy.audit();

-------------------------------------------------------------------------------
-- permissive_policy_shadowed
-------------------------------------------------------------------------------
SET ROLE audit_owner;
CREATE POLICY reporting ON audit_s.users FOR SELECT TO audit_app, audit_nobody USING (email LIKE '%@example.com');
RESET ROLE;
SELECT * FROM tenancy.audit();
SET ROLE audit_owner;
SELECT * FROM pg_temp.apply_fixes('permissive_policy_shadowed');
RESET ROLE;
SELECT polname, polpermissive, polroles::regrole[], pg_get_expr(polqual, polrelid) AS using
FROM pg_policy WHERE polrelid = 'audit_s.users'::regclass ORDER BY polname;
SELECT * FROM tenancy.audit();
\x off

-------------------------------------------------------------------------------
-- Clean up
-------------------------------------------------------------------------------
SET client_min_messages = warning;
DROP SCHEMA audit_s CASCADE;
DROP EXTENSION tenancy;
RESET client_min_messages;
DROP OWNED BY audit_app, audit_nobody, audit_owner;
DROP ROLE audit_app;
DROP ROLE audit_nobody;
DROP ROLE audit_owner;
