-- tenancy: isolate() moves one tenant to partitions of its own and
-- unisolate() moves it back: every row of every tenant identical before,
-- between and after (fingerprints), the guard on the new partitions, the
-- foreign keys and indexes intact (amcheck), and the error paths.
-- (Concurrent writers during a move: test/isolation/specs/tenancy_isolate.spec.)
\i sql/include/try.psql
\i sql/include/try_ddl.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS tenancy CASCADE;
DROP SCHEMA IF EXISTS iso CASCADE;
DROP ROLE IF EXISTS iso_app;
CREATE EXTENSION tenancy;
CREATE EXTENSION IF NOT EXISTS amcheck;
RESET client_min_messages;
CREATE ROLE iso_app;
GRANT EXECUTE ON FUNCTION tenancy.enter(uuid, boolean) TO iso_app;
CREATE SCHEMA iso;
GRANT USAGE ON SCHEMA iso TO iso_app;

-- The case study's schema; tenants is not partitioned.
CREATE TABLE iso.tenants (id uuid PRIMARY KEY, name text);
INSERT INTO iso.tenants VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'a'),
    ('bbbbbbbb-0000-4000-8000-000000000002', 'b'), ('ffffffff-0000-4000-8000-00000000000f', 'whale');
SELECT tenancy.protect('iso.tenants', 'id');
-- No protected table is laid out for isolation yet: KB415, with the reasons.
SELECT pg_temp.try_ddl($$CALL tenancy.isolate('ffffffff-0000-4000-8000-00000000000f')$$);

-- users: LIST with a plain DEFAULT; projects and tasks: LIST with a DEFAULT
-- partitioned BY HASH. A DBA added a column, a CHECK and an index to tasks,
-- and it has a generated column.
CREATE TABLE iso.users (tenant_id uuid NOT NULL REFERENCES iso.tenants, id bigint, email text,
                        PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
CREATE TABLE iso.users_shared PARTITION OF iso.users DEFAULT;
CREATE TABLE iso.projects (tenant_id uuid NOT NULL, id bigint, owner_id bigint NOT NULL, name text,
                           PRIMARY KEY (tenant_id, id),
                           FOREIGN KEY (tenant_id, owner_id) REFERENCES iso.users (tenant_id, id))
    PARTITION BY LIST (tenant_id);
CREATE TABLE iso.projects_shared PARTITION OF iso.projects DEFAULT PARTITION BY HASH (tenant_id);
CREATE TABLE iso.tasks (tenant_id uuid NOT NULL, id bigint, project_id bigint NOT NULL, title text,
                        title_len integer GENERATED ALWAYS AS (length(title)) STORED,
                        PRIMARY KEY (tenant_id, id),
                        FOREIGN KEY (tenant_id, project_id) REFERENCES iso.projects (tenant_id, id) ON DELETE CASCADE)
    PARTITION BY LIST (tenant_id);
CREATE TABLE iso.tasks_shared PARTITION OF iso.tasks DEFAULT PARTITION BY HASH (tenant_id);
DO $$
BEGIN
    FOR r IN 0..3 LOOP
        EXECUTE format('CREATE TABLE iso.projects_h%s PARTITION OF iso.projects_shared FOR VALUES WITH (MODULUS 4, REMAINDER %s)', r, r);
        EXECUTE format('CREATE TABLE iso.tasks_h%s PARTITION OF iso.tasks_shared FOR VALUES WITH (MODULUS 4, REMAINDER %s)', r, r);
    END LOOP;
END $$;
ALTER TABLE iso.tasks ADD COLUMN note text DEFAULT 'n', ADD CONSTRAINT tasks_id_positive CHECK (id > 0);
CREATE INDEX tasks_by_project ON iso.tasks (tenant_id, project_id);
INSERT INTO iso.users SELECT t.id, g, 'u' || g || '@' || t.name FROM iso.tenants t, generate_series(1, 5) g;
INSERT INTO iso.projects SELECT t.id, g, 1 + g % 5, 'p' || g FROM iso.tenants t,
    generate_series(1, CASE t.name WHEN 'whale' THEN 200 ELSE 10 END) g;
INSERT INTO iso.tasks (tenant_id, id, project_id, title)
    SELECT p.tenant_id, p.id * 10 + g, p.id, repeat('t', g) FROM iso.projects p, generate_series(1, 5) g;
SELECT tenancy.protect('iso.users') + tenancy.protect('iso.projects') + tenancy.protect('iso.tasks') AS guarded;
GRANT SELECT, INSERT, UPDATE, DELETE ON iso.tenants, iso.users, iso.projects, iso.tasks TO iso_app;

-- Every row of every tenant, per table: count and a digest of the rows.
CREATE FUNCTION pg_temp.fingerprint() RETURNS TABLE (tab text, tenant text, n bigint, digest text)
LANGUAGE sql AS $$
    SELECT 'users', u.tenant_id::text, count(*), md5(string_agg(u::text, ',' ORDER BY u.id)) FROM iso.users u GROUP BY 2
    UNION ALL
    SELECT 'projects', p.tenant_id::text, count(*), md5(string_agg(p::text, ',' ORDER BY p.id)) FROM iso.projects p GROUP BY 2
    UNION ALL
    SELECT 'tasks', t.tenant_id::text, count(*), md5(string_agg(t::text, ',' ORDER BY t.id)) FROM iso.tasks t GROUP BY 2
$$;
CREATE TEMP TABLE before AS SELECT * FROM pg_temp.fingerprint();
SELECT tab, tenant, n FROM before ORDER BY 1, 2;
CREATE TEMP TABLE audit_before AS SELECT finding, object FROM tenancy.audit();
-- Where the whale's rows are: the plain default and one hash partition each.
SELECT 'users' AS tab, tableoid::regclass, count(*) FROM iso.users WHERE tenant_id = 'ffffffff-0000-4000-8000-00000000000f' GROUP BY 2
UNION ALL SELECT 'projects', tableoid::regclass, count(*) FROM iso.projects WHERE tenant_id = 'ffffffff-0000-4000-8000-00000000000f' GROUP BY 2
UNION ALL SELECT 'tasks', tableoid::regclass, count(*) FROM iso.tasks WHERE tenant_id = 'ffffffff-0000-4000-8000-00000000000f' GROUP BY 2
ORDER BY 1;

-- Error paths, each with nothing changed.
SET ROLE iso_app;
SELECT pg_temp.try_ddl($$CALL tenancy.isolate('ffffffff-0000-4000-8000-00000000000f')$$);
RESET ROLE;
SELECT pg_temp.try_ddl($$CALL tenancy.isolate(NULL)$$);
SELECT pg_temp.try_ddl($$CALL tenancy.isolate('ffffffff-0000-4000-8000-00000000000f', attempts => 0)$$);
SELECT pg_temp.try_ddl($$CALL tenancy.unisolate('ffffffff-0000-4000-8000-00000000000f')$$);
BEGIN;
SELECT pg_temp.try_ddl($$CALL tenancy.isolate('ffffffff-0000-4000-8000-00000000000f')$$);
ROLLBACK;
SELECT count(*) AS isolated, (SELECT count(*) FROM tenancy.moves) AS moves FROM tenancy.isolated;

-- A move under way refuses TRUNCATE of the partition holding the tenant's
-- rows (KB418); a failed move is cleaned up by _move_abandon (which
-- isolate() runs first): no table, trigger, constraint or log row left.
SELECT tenancy._move_prepare(t.tenant, t.root, t.tenant_column, t.default_partition, t.leaf) AS copy_table
  FROM (SELECT 'ffffffff-0000-4000-8000-00000000000f'::uuid AS tenant, x.*
          FROM tenancy._isolation_targets('ffffffff-0000-4000-8000-00000000000f') x WHERE x.root = 'iso.tasks'::regclass) t;
SELECT tgname, tgrelid::regclass FROM pg_trigger WHERE tgname LIKE 'tenancy_move_%' AND tgparentid = 0 ORDER BY 1;
UPDATE iso.tasks SET title = 'changed' WHERE tenant_id = 'ffffffff-0000-4000-8000-00000000000f' AND id = 11;
SELECT pk FROM tenancy.move_log ORDER BY seq;
SELECT pg_temp.try_ddl('TRUNCATE iso.tasks');
SELECT tenancy._move_abandon('ffffffff-0000-4000-8000-00000000000f', 'iso.tasks');
UPDATE iso.tasks SET title = repeat('t', 1) WHERE tenant_id = 'ffffffff-0000-4000-8000-00000000000f' AND id = 11;
SELECT (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'tenancy_move_%') AS triggers,
       (SELECT count(*) FROM pg_class WHERE relname LIKE '%\_t\_ffffffff0000') AS tables,
       (SELECT count(*) FROM tenancy.move_log) AS logged, (SELECT count(*) FROM tenancy.moves) AS moves;

-- A reader's transaction holds the tables (in another session): a move that
-- may wait 10 ms per attempt, 3 attempts (sleeping between them), gives up
-- with KB417 and leaves every row where it was; the next move clears what
-- it left.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
SELECT dblink_connect('holder', format('host=%s port=%s dbname=%s user=%s',
           split_part(current_setting('unix_socket_directories'), ',', 1),
           current_setting('port'), current_database(), current_user)) AS connected;
SELECT dblink_exec('holder', 'BEGIN');
SELECT * FROM dblink('holder', 'SELECT count(*) FROM iso.tasks') AS t(n bigint);
\set VERBOSITY sqlstate
CALL tenancy.isolate('ffffffff-0000-4000-8000-00000000000f', lock_timeout => '10ms', attempts => 3);
\set VERBOSITY default
SELECT dblink_exec('holder', 'COMMIT');
SELECT dblink_disconnect('holder');
SELECT b.tab, b.tenant, b.n, a.n IS NOT DISTINCT FROM b.n AND a.digest = b.digest AS same
  FROM before b LEFT JOIN pg_temp.fingerprint() a USING (tab, tenant) ORDER BY 1, 2;

-- The move.
CALL tenancy.isolate('ffffffff-0000-4000-8000-00000000000f');
SELECT tenant, root, partition_name FROM tenancy.isolated ORDER BY root::text;
-- Every row as it was; the whale's rows in its own partitions, none left in
-- the defaults.
SELECT b.tab, b.tenant, b.n, a.n IS NOT DISTINCT FROM b.n AND a.digest = b.digest AS same
  FROM before b LEFT JOIN pg_temp.fingerprint() a USING (tab, tenant) ORDER BY 1, 2;
SELECT 'users' AS tab, tableoid::regclass, count(*) FROM iso.users WHERE tenant_id = 'ffffffff-0000-4000-8000-00000000000f' GROUP BY 2
UNION ALL SELECT 'projects', tableoid::regclass, count(*) FROM iso.projects WHERE tenant_id = 'ffffffff-0000-4000-8000-00000000000f' GROUP BY 2
UNION ALL SELECT 'tasks', tableoid::regclass, count(*) FROM iso.tasks WHERE tenant_id = 'ffffffff-0000-4000-8000-00000000000f' GROUP BY 2
ORDER BY 1;
SELECT c.oid::regclass AS part, pg_get_expr(c.relpartbound, c.oid) AS bound, c.relrowsecurity, c.relforcerowsecurity,
       tenancy._broken(c.oid) AS broken, EXISTS (SELECT FROM tenancy.protected_tables p WHERE p.relid = c.oid) AS registered
  FROM pg_class c WHERE c.relname LIKE '%\_t\_ffffffff0000' ORDER BY 1;
-- Indexes, foreign keys, constraints and triggers of the new partitions.
SELECT indrelid::regclass, indexrelid::regclass FROM pg_index
 WHERE indrelid::regclass::text LIKE '%\_t\_ffffffff0000' ORDER BY 1, 2;
SELECT conrelid::regclass, conname, contype, convalidated FROM pg_constraint
 WHERE conrelid::regclass::text LIKE '%\_t\_ffffffff0000' ORDER BY 1, 2;
SELECT count(*) AS leftover_fences FROM pg_constraint WHERE conname LIKE 'tenancy\_not\_%';
SELECT count(*) AS leftover_triggers FROM pg_trigger WHERE tgname LIKE 'tenancy\_move\_%';
SELECT (SELECT count(*) FROM tenancy.move_log) AS logged, (SELECT count(*) FROM tenancy.moves) AS moves;
-- Every index of the schema passes amcheck.
SELECT count(*) AS indexes_checked FROM (
    SELECT bt_index_check(i.indexrelid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relnamespace = 'iso'::regnamespace AND c.relkind = 'i') x;
-- The audit finds nothing new.
SELECT finding, object FROM tenancy.audit() EXCEPT SELECT * FROM audit_before;
-- Isolating again changes nothing.
CALL tenancy.isolate('ffffffff-0000-4000-8000-00000000000f');

-- The guard on the new partitions: tenant A sees none of the whale's rows,
-- even by name; the whale's queries scan its own partition only.
SET ROLE iso_app;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SELECT count(*) AS a_tasks, count(*) FILTER (WHERE tenant_id <> 'aaaaaaaa-0000-4000-8000-000000000001') AS others FROM iso.tasks;
SELECT pg_temp.try('SELECT count(*) FROM iso.tasks_t_ffffffff0000');
ROLLBACK;
BEGIN;
SELECT tenancy.enter('ffffffff-0000-4000-8000-00000000000f');
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM iso.tasks WHERE id = 11;
-- Writes land in the whale's partition; a cascade goes through it.
INSERT INTO iso.projects VALUES ('ffffffff-0000-4000-8000-00000000000f', 1000, 1, 'new');
INSERT INTO iso.tasks (tenant_id, id, project_id, title) VALUES ('ffffffff-0000-4000-8000-00000000000f', 10001, 1000, 'new');
SELECT tableoid::regclass, id FROM iso.tasks WHERE id = 10001;
DELETE FROM iso.projects WHERE id = 1000;
SELECT count(*) AS cascaded FROM iso.tasks WHERE id = 10001;
-- Another tenant's id through the whale's context is refused.
SELECT pg_temp.try($$INSERT INTO iso.tasks (tenant_id, id, project_id, title) VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 99, 1, 'x') RETURNING 1$$);
COMMIT;
RESET ROLE;

-- Pools: the whale gets a pool of its own.
SELECT tenancy.pool_for('ffffffff-0000-4000-8000-00000000000f') = current_database() || '_t_ffffffff0000' AS whale_pool,
       tenancy.pool_for('aaaaaaaa-0000-4000-8000-000000000001') = current_database() AS shared_pool;
SELECT replace(tenancy.pgbouncer_config('127.0.0.1', 6432, 10, 3), current_database(), 'DB');
SELECT pg_temp.try($$SELECT tenancy.pgbouncer_config(shared_pool_size => 0)$$);

-- Back into the defaults.
CALL tenancy.unisolate('ffffffff-0000-4000-8000-00000000000f');
SELECT b.tab, b.tenant, b.n, a.n IS NOT DISTINCT FROM b.n AND a.digest = b.digest AS same
  FROM before b LEFT JOIN pg_temp.fingerprint() a USING (tab, tenant) ORDER BY 1, 2;
SELECT 'users' AS tab, tableoid::regclass, count(*) FROM iso.users WHERE tenant_id = 'ffffffff-0000-4000-8000-00000000000f' GROUP BY 2
UNION ALL SELECT 'projects', tableoid::regclass, count(*) FROM iso.projects WHERE tenant_id = 'ffffffff-0000-4000-8000-00000000000f' GROUP BY 2
UNION ALL SELECT 'tasks', tableoid::regclass, count(*) FROM iso.tasks WHERE tenant_id = 'ffffffff-0000-4000-8000-00000000000f' GROUP BY 2
ORDER BY 1;
SELECT count(*) AS partitions_left FROM pg_class WHERE relname LIKE '%\_t\_ffffffff0000';
SELECT count(*) AS isolated, (SELECT count(*) FROM tenancy.protected_tables p
                               WHERE p.relid::text LIKE '%\_t\_ffffffff0000') AS still_registered
  FROM tenancy.isolated;
-- The foreign keys dropped for the move are back and validated.
SELECT conrelid::regclass, conname, convalidated FROM pg_constraint
 WHERE contype = 'f' AND connamespace = 'iso'::regnamespace AND conparentid = 0 ORDER BY 1, 2;
SELECT count(*) AS indexes_checked FROM (
    SELECT bt_index_check(i.indexrelid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relnamespace = 'iso'::regnamespace AND c.relkind = 'i') x;
SELECT finding, object FROM tenancy.audit() EXCEPT SELECT * FROM audit_before;
SELECT tenancy.pool_for('ffffffff-0000-4000-8000-00000000000f') = current_database() AS shared_again;

SET client_min_messages = warning;
DROP SCHEMA iso CASCADE;
DROP EXTENSION tenancy CASCADE;
DROP ROLE iso_app;
