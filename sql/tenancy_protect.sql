-- tenancy: protect() and unprotect(), partitions present and future, the
-- event triggers (registered schemas, DDL that would weaken a guard), and
-- the guard's effect on reads, writes and plans.
\i sql/include/try.psql
\i sql/include/try_ddl.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS tenancy CASCADE;
DROP SCHEMA IF EXISTS saas CASCADE;
DROP ROLE IF EXISTS tenancy_owner;
DROP ROLE IF EXISTS tenancy_app;
CREATE EXTENSION tenancy;
RESET client_min_messages;
CREATE ROLE tenancy_owner;
CREATE ROLE tenancy_trusted_app;
GRANT USAGE ON SCHEMA tenancy TO tenancy_trusted_app;
GRANT EXECUTE ON FUNCTION tenancy.enter(uuid, boolean) TO tenancy_trusted_app;
CREATE SCHEMA saas AUTHORIZATION tenancy_owner;
GRANT USAGE ON SCHEMA saas TO tenancy_trusted_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tenancy_owner IN SCHEMA saas
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tenancy_trusted_app;
ALTER DEFAULT PRIVILEGES FOR ROLE tenancy_owner IN SCHEMA saas
    GRANT USAGE ON SEQUENCES TO tenancy_trusted_app;
-- What the registry holds.
CREATE FUNCTION pg_temp.registry() RETURNS TABLE (relid text, tenant_column name, root text) LANGUAGE sql AS $$
    SELECT relid::text, tenant_column, root::text FROM tenancy.protected_tables ORDER BY 1
$$;
-- A relation's row security and policies, in one line.
CREATE FUNCTION pg_temp.guards(rel regclass) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s rls=%s force=%s policies=%s', c.oid::regclass, c.relrowsecurity, c.relforcerowsecurity,
                  coalesce((SELECT string_agg(p.polname || CASE WHEN p.polpermissive THEN '' ELSE '(restrictive)' END, ','
                                              ORDER BY p.polname) FROM pg_policy p WHERE p.polrelid = c.oid), '-'))
    FROM pg_class c WHERE c.oid = rel
$$;

-------------------------------------------------------------------------------
-- The case study's schema, owned by an ordinary role
-------------------------------------------------------------------------------
SET ROLE tenancy_owner;
CREATE TABLE saas.tenants (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE saas.users (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES saas.tenants (id),
    email text NOT NULL,
    UNIQUE (tenant_id, email));
CREATE TABLE saas.tasks (
    id bigserial,
    tenant_id uuid NOT NULL,
    title text NOT NULL,
    PRIMARY KEY (tenant_id, id)) PARTITION BY HASH (tenant_id);
CREATE TABLE saas.tasks_0 PARTITION OF saas.tasks FOR VALUES WITH (MODULUS 2, REMAINDER 0);
INSERT INTO saas.tenants VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'acme'), ('bbbbbbbb-0000-4000-8000-000000000002', 'globex');
SELECT tenancy.protect('saas.users');
SELECT tenancy.protect('saas.tasks');
SELECT * FROM pg_temp.registry();
SELECT pg_temp.guards('saas.users');
SELECT pg_temp.guards('saas.tasks_0');
-- A partition created later is protected by the event trigger; so is one
-- attached later.
CREATE TABLE saas.tasks_1 PARTITION OF saas.tasks FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE saas.tasks_3 (LIKE saas.tasks INCLUDING ALL);
SELECT pg_temp.guards('saas.tasks_3') AS before_attach;
ALTER TABLE saas.tasks ATTACH PARTITION saas.tasks_3 FOR VALUES WITH (MODULUS 4, REMAINDER 3);
SELECT pg_temp.guards('saas.tasks_1'), pg_temp.guards('saas.tasks_3');
SELECT * FROM pg_temp.registry();
RESET ROLE;

-------------------------------------------------------------------------------
-- Reads and writes through the guard
-------------------------------------------------------------------------------
SET ROLE tenancy_trusted_app;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
INSERT INTO saas.users (tenant_id, email) VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'ann@acme');
INSERT INTO saas.tasks (tenant_id, title) SELECT 'aaaaaaaa-0000-4000-8000-000000000001', 'a' || g FROM generate_series(1, 20) g;
-- WITH CHECK: another tenant's row is refused, and so is moving a row there.
SELECT pg_temp.try($$INSERT INTO saas.tasks (tenant_id, title) VALUES ('bbbbbbbb-0000-4000-8000-000000000002', 'x') RETURNING id$$) AS insert_other;
SELECT pg_temp.try($$UPDATE saas.tasks SET tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002' WHERE title = 'a1' RETURNING id$$) AS move_to_other;
COMMIT;
BEGIN;
SELECT tenancy.enter('bbbbbbbb-0000-4000-8000-000000000002');
INSERT INTO saas.users (tenant_id, email) VALUES ('bbbbbbbb-0000-4000-8000-000000000002', 'bob@globex');
INSERT INTO saas.tasks (tenant_id, title) SELECT 'bbbbbbbb-0000-4000-8000-000000000002', 'b' || g FROM generate_series(1, 5) g;
SELECT count(*) AS b_tasks, count(*) FILTER (WHERE title LIKE 'a%') AS a_tasks_seen FROM saas.tasks;
-- UPDATE and DELETE reach only this tenant's rows.
WITH u AS (UPDATE saas.tasks SET title = title || '!' RETURNING tenant_id) SELECT count(*), count(DISTINCT tenant_id) FROM u;
-- Direct partition access is guarded too.
SELECT count(*) AS in_partitions FROM (SELECT 1 FROM saas.tasks_0 UNION ALL SELECT 1 FROM saas.tasks_1 UNION ALL SELECT 1 FROM saas.tasks_3) p;
COMMIT;
RESET ROLE;
-- The owner is subject to the guard too (FORCE ROW LEVEL SECURITY).
SET ROLE tenancy_owner;
SELECT pg_temp.try($$SELECT count(*) FROM saas.tasks$$) AS owner_without_context;
RESET ROLE;
SELECT count(*) AS superuser_sees_all FROM saas.tasks;

-------------------------------------------------------------------------------
-- Plans: the guard is an index condition on a parameter, like "tenant_id = $1"
-------------------------------------------------------------------------------
SET ROLE tenancy_trusted_app;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
EXPLAIN (COSTS OFF) SELECT email FROM saas.users WHERE email = 'ann@acme';
SET LOCAL enable_seqscan = off;
SELECT count(*) AS index_scan FROM saas.tasks;
SET LOCAL enable_seqscan = on;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT count(*) AS seq_scan FROM saas.tasks;
COMMIT;
RESET ROLE;

-------------------------------------------------------------------------------
-- DDL that would weaken a guard is refused (KB407)
-------------------------------------------------------------------------------
SET ROLE tenancy_owner;
SELECT pg_temp.try_ddl($$ALTER TABLE saas.users DISABLE ROW LEVEL SECURITY$$) AS disable;
SELECT pg_temp.try_ddl($$ALTER TABLE saas.users NO FORCE ROW LEVEL SECURITY$$) AS no_force;
SELECT pg_temp.try_ddl($$ALTER TABLE saas.tasks_0 NO FORCE ROW LEVEL SECURITY$$) AS no_force_partition;
SELECT pg_temp.try_ddl($$DROP POLICY tenancy_guard ON saas.users$$) AS drop_guard;
SELECT pg_temp.try_ddl($$ALTER POLICY tenancy_guard ON saas.users USING (true)$$) AS loosen_guard;
SELECT pg_temp.try_ddl($$ALTER POLICY tenancy_guard ON saas.users TO tenancy_owner$$) AS narrow_guard_roles;
SELECT pg_temp.try_ddl($$ALTER TABLE saas.users RENAME COLUMN tenant_id TO org_id$$) AS rename_column;
SELECT pg_temp.try_ddl($$ALTER TABLE saas.users DROP COLUMN tenant_id$$) AS drop_column;
SELECT pg_temp.try_ddl($$ALTER TABLE saas.users DROP COLUMN tenant_id CASCADE$$) AS drop_column_cascade;
SELECT pg_temp.try_ddl($$ALTER TABLE saas.users ALTER COLUMN tenant_id TYPE text$$) AS retype_column;
SELECT pg_temp.guards('saas.users') AS unchanged;
-- Changes that keep the guard are fine: a column, an index, a policy of the owner's.
ALTER TABLE saas.users ADD COLUMN role text NOT NULL DEFAULT 'member';
CREATE INDEX ON saas.users (tenant_id, role);
CREATE POLICY only_members ON saas.users AS RESTRICTIVE USING (role <> 'banned');
SELECT pg_temp.guards('saas.users');
RESET ROLE;

-------------------------------------------------------------------------------
-- Argument errors
-------------------------------------------------------------------------------
SET ROLE tenancy_owner;
CREATE TABLE saas.no_tenant (id int);
CREATE TABLE saas.text_tenant (id int, tenant_id text);
CREATE VIEW saas.a_view AS SELECT 1 AS tenant_id;
CREATE SEQUENCE saas.a_seq;
SELECT pg_temp.try($$SELECT tenancy.protect('saas.no_tenant')$$) AS missing_column;
SELECT pg_temp.try($$SELECT tenancy.protect('saas.no_tenant', 'id')$$) AS not_uuid;
SELECT pg_temp.try($$SELECT tenancy.protect('saas.text_tenant')$$) AS text_column;
SELECT pg_temp.try($$SELECT tenancy.protect('saas.a_view')$$) AS a_view;
SELECT pg_temp.try($$SELECT tenancy.protect('saas.a_seq')$$) AS a_sequence;
SELECT pg_temp.try($$SELECT tenancy.protect(NULL)$$) AS null_table;
SELECT pg_temp.try($$SELECT tenancy.protect('saas.users', NULL)$$) AS null_column;
SELECT pg_temp.try($$SELECT tenancy.protect('saas.tasks_0', 'id')$$) AS other_column_below;
SELECT pg_temp.try($$SELECT tenancy.unprotect('saas.no_tenant')$$) AS not_protected;
SELECT pg_temp.try($$SELECT tenancy.unprotect('saas.tasks_0')$$) AS partition_alone;
RESET ROLE;
-- Only the owner protects or unprotects a table.
SET ROLE tenancy_trusted_app;
SELECT pg_temp.try($$SELECT tenancy.unprotect('saas.users')$$) AS not_owner_unprotect;
SELECT pg_temp.try($$SELECT tenancy.protect('saas.no_tenant', 'id')$$) AS not_owner_protect;
RESET ROLE;
-- Protecting again is harmless.
SET ROLE tenancy_owner;
SELECT tenancy.protect('saas.users');
SELECT pg_temp.guards('saas.users');
RESET ROLE;

-------------------------------------------------------------------------------
-- Registered schemas: new tables with the tenant column are protected or refused
-------------------------------------------------------------------------------
SET ROLE tenancy_owner;
SELECT pg_temp.try($$SELECT tenancy.register_schema('saas')$$) AS owner_cannot_register;
RESET ROLE;
SELECT tenancy.register_schema('saas');
SET ROLE tenancy_owner;
CREATE TABLE saas.projects (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, name text);
SELECT pg_temp.guards('saas.projects');
CREATE TABLE saas.comments AS SELECT 1::bigint AS id, NULL::uuid AS tenant_id;
SELECT pg_temp.guards('saas.comments');
ALTER TABLE saas.no_tenant ADD COLUMN tenant_id uuid;
SELECT pg_temp.guards('saas.no_tenant') AS column_added;
CREATE TABLE saas.settings (key text PRIMARY KEY);
SELECT pg_temp.guards('saas.settings') AS no_tenant_column;
RESET ROLE;
SELECT tenancy.register_schema('saas', on_new_table => 'refuse');
SET ROLE tenancy_owner;
SELECT pg_temp.try_ddl($$CREATE TABLE saas.invoices (id int, tenant_id uuid)$$) AS refused;
SELECT to_regclass('saas.invoices') IS NULL AS not_created;
RESET ROLE;
SELECT pg_temp.try($$SELECT tenancy.register_schema('saas', on_new_table => 'maybe')$$) AS bad_mode;
SELECT tenancy.unregister_schema('saas');

-------------------------------------------------------------------------------
-- unprotect() puts back what was there; DROP forgets
-------------------------------------------------------------------------------
SET ROLE tenancy_owner;
CREATE TABLE saas.legacy (id int, tenant_id uuid, owner_name text);
ALTER TABLE saas.legacy ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_owner ON saas.legacy USING (owner_name = current_user);
SELECT tenancy.protect('saas.legacy');
-- Its own permissive policy stays the one that grants rows: no tenancy_rows.
SELECT pg_temp.guards('saas.legacy');
SELECT tenancy.unprotect('saas.legacy');
SELECT pg_temp.guards('saas.legacy') AS restored;
SELECT tenancy.unprotect('saas.tasks');
SELECT pg_temp.guards('saas.tasks'), pg_temp.guards('saas.tasks_3');
DROP TABLE saas.projects;
DROP TABLE saas.comments;
RESET ROLE;
SELECT * FROM pg_temp.registry();

-- The extension cannot be dropped from under its guards without CASCADE,
-- and CASCADE leaves the tables closed (forced row security, no policy).
SELECT pg_temp.try_ddl($$DROP EXTENSION tenancy$$) AS drop_extension;
SET client_min_messages = warning;
DROP EXTENSION tenancy CASCADE;
RESET client_min_messages;
SELECT pg_temp.guards('saas.users') AS closed_after_cascade;
SET ROLE tenancy_trusted_app;
SELECT count(*) AS rows_visible_none FROM saas.users;
RESET ROLE;
CREATE EXTENSION tenancy;
SET client_min_messages = warning;
DROP SCHEMA saas CASCADE;
RESET client_min_messages;
SELECT count(*) AS registry_after_drop_schema FROM tenancy.protected_tables;
DROP OWNED BY tenancy_trusted_app;
DROP ROLE tenancy_trusted_app;
DROP ROLE tenancy_owner;
