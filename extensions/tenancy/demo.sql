-- tenancy demo: case study 4 end to end on its own schema (tenants, users,
-- projects, tasks), with users protected too. Each workflow writes one row
-- to casebook_demo.scoreboard: whether it held, and the invariant checked.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.score(workflow text, ok boolean, invariant text, detail text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO casebook_demo.scoreboard (extension, workflow, ok, invariant, detail)
    VALUES ('tenancy', workflow, coalesce(ok, false), invariant, detail)
$$;
-- The SQLSTATE a statement fails with, or 'ok'.
CREATE FUNCTION pg_temp.fails_with(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

DROP SCHEMA IF EXISTS saas_demo CASCADE;
DROP SCHEMA IF EXISTS textbook_demo CASCADE;
DROP ROLE IF EXISTS tenancy_demo_app;
CREATE ROLE tenancy_demo_app;
CREATE SCHEMA saas_demo;
CREATE SCHEMA textbook_demo;
GRANT USAGE ON SCHEMA saas_demo, textbook_demo TO tenancy_demo_app;

-- 1. The textbook's context is a plain setting: any role switches tenant.
CREATE TABLE textbook_demo.projects (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, name text NOT NULL);
ALTER TABLE textbook_demo.projects ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation_projects ON textbook_demo.projects
    USING (tenant_id = current_setting('app.tenant_id')::uuid);
INSERT INTO textbook_demo.projects (tenant_id, name) VALUES
    ('aaaaaaaa-0000-4000-8000-000000000001', 'acme roadmap'), ('bbbbbbbb-0000-4000-8000-000000000002', 'globex secret');
GRANT SELECT ON textbook_demo.projects TO tenancy_demo_app;
SET ROLE tenancy_demo_app;
SET app.tenant_id = 'aaaaaaaa-0000-4000-8000-000000000001';
SELECT set_config('app.tenant_id', 'bbbbbbbb-0000-4000-8000-000000000002', false) IS NOT NULL AS switched;
SELECT string_agg(name, ',') AS leaked FROM textbook_demo.projects \gset
RESET ROLE;
SELECT pg_temp.score('the textbook context can be switched by anyone',
    :'leaked' = 'globex secret',
    'reproduces the defect: an application role that set app.tenant_id to its tenant calls set_config() and reads another tenant''s rows',
    format('tenant A''s role read %s', :'leaked'));
RESET app.tenant_id;

-- 2. The case study's schema under tenancy: every tenant table protected,
--    users included.
CREATE TABLE saas_demo.tenants (id uuid PRIMARY KEY, name text NOT NULL, plan text NOT NULL DEFAULT 'free');
CREATE TABLE saas_demo.users (
    id bigserial PRIMARY KEY, tenant_id uuid NOT NULL REFERENCES saas_demo.tenants (id),
    email text NOT NULL, role text NOT NULL DEFAULT 'member', UNIQUE (tenant_id, email));
CREATE TABLE saas_demo.projects (
    id bigserial, tenant_id uuid NOT NULL REFERENCES saas_demo.tenants (id), name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, id)) PARTITION BY HASH (tenant_id);
CREATE TABLE saas_demo.projects_p0 PARTITION OF saas_demo.projects FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE saas_demo.tasks (
    id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, project_id bigint NOT NULL, title text NOT NULL,
    status text NOT NULL DEFAULT 'open', assignee_id bigint REFERENCES saas_demo.users (id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES saas_demo.projects (tenant_id, id));
CREATE INDEX ON saas_demo.tasks (tenant_id, project_id);
SELECT tenancy.protect('saas_demo.users') + tenancy.protect('saas_demo.projects') + tenancy.protect('saas_demo.tasks')
    AS protected \gset
-- A partition added afterwards carries the guard from the start.
CREATE TABLE saas_demo.projects_p1 PARTITION OF saas_demo.projects FOR VALUES WITH (MODULUS 2, REMAINDER 1);
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA saas_demo TO tenancy_demo_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA saas_demo TO tenancy_demo_app;
SELECT pg_temp.score('every tenant table protected, partitions present and future',
    (SELECT bool_and(c.relrowsecurity AND c.relforcerowsecurity
                     AND EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenancy_guard'))
       FROM pg_class c WHERE c.relnamespace = 'saas_demo'::regnamespace AND c.relkind IN ('r', 'p')
        AND c.relname <> 'tenants')
    AND (SELECT count(*) FROM tenancy.protected_tables WHERE relid::text LIKE 'saas_demo.%') = 5,
    'users, projects (and both partitions, one created after protect()) and tasks: row security enabled and forced, guard present',
    format('%s relations protected by protect(), 5 in the registry', :protected));

-- 3. Tokens: the application authenticates a tenant per transaction.
SELECT tenancy.add_token_key(convert_to(md5(random()::text) || md5(random()::text), 'UTF8'), 'demo') AS kid \gset
INSERT INTO saas_demo.tenants VALUES
    ('aaaaaaaa-0000-4000-8000-000000000001', 'acme', 'pro'), ('bbbbbbbb-0000-4000-8000-000000000002', 'globex', 'free');
SELECT tenancy.issue_token('aaaaaaaa-0000-4000-8000-000000000001', '10 minutes') AS token_a,
       tenancy.issue_token('bbbbbbbb-0000-4000-8000-000000000002', '10 minutes') AS token_b \gset
SET ROLE tenancy_demo_app;
BEGIN;
SELECT tenancy.enter_token(:'token_a') IS NOT NULL AS entered;
INSERT INTO saas_demo.users (tenant_id, email) VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'ann@acme.test');
INSERT INTO saas_demo.projects (tenant_id, name) SELECT 'aaaaaaaa-0000-4000-8000-000000000001', 'acme ' || g FROM generate_series(1, 30) g;
INSERT INTO saas_demo.tasks (tenant_id, project_id, title)
    SELECT tenant_id, id, 'task of ' || name FROM saas_demo.projects;
COMMIT;
BEGIN;
SELECT tenancy.enter_token(:'token_b') IS NOT NULL AS entered;
INSERT INTO saas_demo.users (tenant_id, email) VALUES ('bbbbbbbb-0000-4000-8000-000000000002', 'bob@globex.test');
INSERT INTO saas_demo.projects (tenant_id, name) SELECT 'bbbbbbbb-0000-4000-8000-000000000002', 'globex ' || g FROM generate_series(1, 3) g;
SELECT count(*) AS b_projects, count(*) FILTER (WHERE name LIKE 'acme%') AS a_seen FROM saas_demo.projects \gset
SELECT count(*) AS b_users FROM saas_demo.users \gset
SELECT pg_temp.fails_with($$INSERT INTO saas_demo.projects (tenant_id, name) VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'planted')$$) AS plant \gset
COMMIT;
RESET ROLE;
SELECT pg_temp.score('a token enters its tenant, and only its rows are reachable',
    :b_projects = 3 AND :a_seen = 0 AND :b_users = 1 AND :'plant' = '42501',
    'under globex''s token: 3 projects, none of acme''s 30, one user; writing a row for acme is refused by WITH CHECK (42501)',
    format('projects seen %s (acme %s), users seen %s, planting acme row -> %s', :b_projects, :a_seen, :b_users, :'plant'));

-- 4. Switching tenant other than by a token is refused; a forged token too.
SET ROLE tenancy_demo_app;
BEGIN;
SELECT tenancy.enter_token(:'token_b') IS NOT NULL AS entered;
SELECT pg_temp.fails_with($$SET tenancy.tenant_id = 'aaaaaaaa-0000-4000-8000-000000000001'$$) AS by_set,
       pg_temp.fails_with($$SELECT set_config('tenancy.tenant_id', 'aaaaaaaa-0000-4000-8000-000000000001', true)$$) AS by_set_config,
       pg_temp.fails_with($$RESET tenancy.tenant_id$$) AS by_reset,
       pg_temp.fails_with($$SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001')$$) AS by_enter,
       pg_temp.fails_with(format('SELECT tenancy.enter_token(%L)',
           split_part(:'token_b', '.', 1) || '.' || split_part(:'token_a', '.', 2) || '.' || split_part(:'token_b', '.', 3))) AS by_forgery
\gset
SELECT tenancy.current()::text AS still FROM (SELECT 1) x \gset
COMMIT;
RESET ROLE;
SELECT pg_temp.score('the context cannot be switched or forged',
    :'by_set' = 'KB402' AND :'by_set_config' = 'KB402' AND :'by_reset' = 'KB402' AND :'by_enter' = '42501'
    AND :'by_forgery' = 'KB403' AND :'still' = 'bbbbbbbb-0000-4000-8000-000000000002',
    'SET, set_config() and RESET of tenancy.tenant_id are KB402; enter() is not granted to the application (42501); globex''s header and signature over acme''s payload is KB403; the context stays globex',
    format('SET %s, set_config %s, RESET %s, enter %s, forged token %s', :'by_set', :'by_set_config', :'by_reset', :'by_enter', :'by_forgery'));

-- 5. Fail closed, and nothing carried to the next transaction (a pooled
--    connection's next client).
SET ROLE tenancy_demo_app;
BEGIN;
SELECT tenancy.enter_token(:'token_a') IS NOT NULL AS entered;
COMMIT;
SELECT pg_temp.fails_with($$SELECT count(*) FROM saas_demo.tasks$$) AS next_transaction \gset
RESET ROLE;
SELECT pg_temp.score('fail closed, and no context survives COMMIT',
    :'next_transaction' = 'KB401',
    'the transaction after a tenant''s COMMIT has no context: reading a protected table raises KB401 (never zero rows, never all rows)',
    format('read after COMMIT -> %s', :'next_transaction'));

-- 6. The guard is an index condition, as a hand-written predicate.
SET ROLE tenancy_demo_app;
BEGIN;
SELECT tenancy.enter_token(:'token_a') IS NOT NULL AS entered;
CREATE TEMP TABLE plan_lines (line text);
DO $$
DECLARE l text;
BEGIN
    FOR l IN EXPLAIN (COSTS OFF) SELECT title FROM saas_demo.tasks WHERE project_id = 7 LOOP
        INSERT INTO plan_lines VALUES (l);
    END LOOP;
END $$;
SELECT string_agg(trim(line), ' | ') AS plan FROM plan_lines \gset
COMMIT;
RESET ROLE;
SELECT pg_temp.score('the guard uses the tenant index',
    :'plan' LIKE '%Index Cond: ((tenant_id = $0) AND (project_id = 7))%',
    'EXPLAIN of a protected read: one index condition on (tenant_id = $0, project_id), the context read once in an InitPlan',
    :'plan');

-- 7. DDL that would weaken a guard is refused.
SELECT pg_temp.fails_with($$ALTER TABLE saas_demo.users NO FORCE ROW LEVEL SECURITY$$) AS no_force,
       pg_temp.fails_with($$DROP POLICY tenancy_guard ON saas_demo.tasks$$) AS drop_guard \gset
SELECT pg_temp.score('guards cannot be weakened by DDL',
    :'no_force' = 'KB407' AND :'drop_guard' = 'KB407',
    'NO FORCE ROW LEVEL SECURITY and DROP POLICY tenancy_guard on protected tables are refused with KB407, even for a superuser',
    format('NO FORCE %s, DROP POLICY %s', :'no_force', :'drop_guard'));

-- 8. The deep-dive's whale moves, online, to a partition of its own, and
--    gets a pgbouncer pool of its own.
CREATE TABLE saas_demo.events (tenant_id uuid NOT NULL, id bigint, kind text NOT NULL, PRIMARY KEY (tenant_id, id))
    PARTITION BY LIST (tenant_id);
CREATE TABLE saas_demo.events_shared PARTITION OF saas_demo.events DEFAULT PARTITION BY HASH (tenant_id);
CREATE TABLE saas_demo.events_h0 PARTITION OF saas_demo.events_shared FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE saas_demo.events_h1 PARTITION OF saas_demo.events_shared FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO saas_demo.events SELECT t::uuid, g, 'click' FROM generate_series(1, 20) g,
    unnest(ARRAY['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002']) t;
INSERT INTO saas_demo.events SELECT 'cccccccc-0000-4000-8000-000000000003', g, 'click' FROM generate_series(1, 5000) g;
SELECT tenancy.protect('saas_demo.events') IS NOT NULL AS protected;
CREATE TEMP TABLE events_before AS
    SELECT tenant_id, count(*) AS n, md5(string_agg(e::text, ',' ORDER BY id)) AS digest FROM saas_demo.events e GROUP BY 1;
CALL tenancy.isolate('cccccccc-0000-4000-8000-000000000003');
SELECT (SELECT count(*) FROM events_before b JOIN (
            SELECT tenant_id, count(*) AS n, md5(string_agg(e::text, ',' ORDER BY id)) AS digest
              FROM saas_demo.events e GROUP BY 1) a USING (tenant_id, n, digest)) AS same_tenants,
       (SELECT string_agg(DISTINCT tableoid::regclass::text, ',') FROM saas_demo.events
         WHERE tenant_id = 'cccccccc-0000-4000-8000-000000000003') AS whale_partition,
       (SELECT count(*) FROM saas_demo.events_shared WHERE tenant_id = 'cccccccc-0000-4000-8000-000000000003') AS left_behind,
       tenancy.pool_for('cccccccc-0000-4000-8000-000000000003') AS whale_pool,
       (SELECT count(*) FROM regexp_matches(tenancy.pgbouncer_config(), ' = host=', 'g')) AS pools \gset
SELECT pg_temp.score('a whale moves to a partition of its own',
    :same_tenants = 3 AND :'whale_partition' = 'saas_demo.events_t_cccccccc0000' AND :left_behind = 0
        AND :'whale_pool' = current_database() || '_t_cccccccc0000' AND :pools = 2,
    'CALL tenancy.isolate(tenant): every row of every tenant unchanged (count and digest), the whale''s 5,000 rows in a LIST partition of their own, none left in the shared ones; pgbouncer_config() gives it a pool of its own',
    format('%s tenants unchanged, whale in %s (%s rows left behind), pool %s, %s pools', :same_tenants,
           :'whale_partition', :left_behind, :'whale_pool', :pools));

SELECT tenancy.drop_token_key(:'kid');
DROP SCHEMA saas_demo CASCADE;
DROP SCHEMA textbook_demo CASCADE;
DROP OWNED BY tenancy_demo_app;
DROP ROLE tenancy_demo_app;
