-- tenancy: attacks on the guard. Each is an attempt by an application role
-- followed by a check that it saw nothing of another tenant.
\i sql/include/try.psql
\i sql/include/try_ddl.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS tenancy CASCADE;
DROP SCHEMA IF EXISTS att CASCADE;
DROP ROLE IF EXISTS att_app;
DROP ROLE IF EXISTS att_owner;
CREATE EXTENSION tenancy;
RESET client_min_messages;
CREATE ROLE att_owner;
CREATE ROLE att_app;
GRANT EXECUTE ON FUNCTION tenancy.enter(uuid, boolean) TO att_app, att_owner;
CREATE SCHEMA att AUTHORIZATION att_owner;
GRANT USAGE, CREATE ON SCHEMA att TO att_app;
SET ROLE att_owner;
CREATE TABLE att.projects (id bigint, tenant_id uuid NOT NULL, name text NOT NULL, PRIMARY KEY (tenant_id, id));
CREATE TABLE att.tasks (
    id bigint, tenant_id uuid NOT NULL, project_id bigint NOT NULL, title text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES att.projects (tenant_id, id)) PARTITION BY HASH (tenant_id);
CREATE TABLE att.tasks_0 PARTITION OF att.tasks FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE att.tasks_1 PARTITION OF att.tasks FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE att.users (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, email text NOT NULL, UNIQUE (tenant_id, email));
-- A: numeric titles; B: secrets.
INSERT INTO att.projects VALUES (1, 'aaaaaaaa-0000-4000-8000-000000000001', 'a-project'),
                                (2, 'bbbbbbbb-0000-4000-8000-000000000002', 'b-project');
INSERT INTO att.tasks SELECT g, 'aaaaaaaa-0000-4000-8000-000000000001', 1, g::text FROM generate_series(1, 50) g;
INSERT INTO att.tasks SELECT 100 + g, 'bbbbbbbb-0000-4000-8000-000000000002', 2, 'b-secret-' || g FROM generate_series(1, 50) g;
INSERT INTO att.users VALUES (1, 'aaaaaaaa-0000-4000-8000-000000000001', 'ann@example.com'),
                             (2, 'bbbbbbbb-0000-4000-8000-000000000002', 'bob@example.com');
SELECT tenancy.protect('att.projects') + tenancy.protect('att.tasks') + tenancy.protect('att.users') AS protected;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA att TO att_app;
ANALYZE att.projects, att.tasks, att.users;
RESET ROLE;

-------------------------------------------------------------------------------
-- A non-leakproof function or cast in WHERE never sees another tenant's row
-------------------------------------------------------------------------------
SET ROLE att_app;
CREATE FUNCTION att.peek(t text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    RAISE NOTICE 'peek saw %', t;
    RETURN true;
END $$;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
-- B's titles are not integers: a cast evaluated on B's rows would raise
-- with B's title in the message.
SELECT count(*) AS cast_over_a_only FROM att.tasks WHERE title::int > 0;
SET LOCAL client_min_messages = notice;
SELECT count(*) AS peeked FROM att.tasks WHERE att.peek(title) AND id > 48;
COMMIT;

-------------------------------------------------------------------------------
-- PREPARE under A, EXECUTE under B (custom and generic plans)
-------------------------------------------------------------------------------
PREPARE titles AS SELECT string_agg(DISTINCT tenant_id::text, ',') AS tenants, count(*) FROM att.tasks;
PREPARE one(bigint) AS SELECT title FROM att.tasks WHERE id = $1;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
EXECUTE titles;
EXECUTE one(1); EXECUTE one(1); EXECUTE one(1); EXECUTE one(1); EXECUTE one(1); EXECUTE one(1);
COMMIT;
BEGIN;
SELECT tenancy.enter('bbbbbbbb-0000-4000-8000-000000000002');
EXECUTE titles;
EXECUTE one(1);
EXECUTE one(101);
COMMIT;
SELECT pg_temp.try($$EXECUTE titles$$) AS without_context;
DEALLOCATE titles;
DEALLOCATE one;

-------------------------------------------------------------------------------
-- WITH HOLD cursors cannot carry a tenant's rows past its transaction
-------------------------------------------------------------------------------
BEGIN;
SELECT tenancy.enter('bbbbbbbb-0000-4000-8000-000000000002');
SELECT pg_temp.try_ddl($$DECLARE held CURSOR WITH HOLD FOR SELECT title FROM att.tasks$$) AS declared_in_context;
DECLARE plain_cursor CURSOR FOR SELECT title FROM att.tasks ORDER BY id;
FETCH 1 FROM plain_cursor;
COMMIT;
-- Declared before enter() in the same transaction: closed at COMMIT.
BEGIN;
DECLARE held_early CURSOR WITH HOLD FOR SELECT title FROM att.tasks ORDER BY id;
SELECT tenancy.enter('bbbbbbbb-0000-4000-8000-000000000002');
FETCH 1 FROM held_early;
COMMIT;
SELECT pg_temp.try_ddl($$FETCH ALL FROM held_early$$) AS next_transaction;
-- Declared and committed without a context: materializing it fails closed.
BEGIN;
DECLARE held_none CURSOR WITH HOLD FOR SELECT title FROM att.tasks;
COMMIT;
SELECT pg_temp.try_ddl($$FETCH ALL FROM held_none$$) AS not_held;
-- A WITH HOLD cursor over no protected table is untouched.
BEGIN;
DECLARE harmless CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 3) g;
COMMIT;
FETCH ALL FROM harmless;
CLOSE harmless;

-------------------------------------------------------------------------------
-- COPY
-------------------------------------------------------------------------------
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
COPY (SELECT title FROM att.tasks WHERE id > 48 ORDER BY id) TO STDOUT;
COPY att.projects TO STDOUT;
SAVEPOINT s;
COPY att.projects FROM STDIN;
3	bbbbbbbb-0000-4000-8000-000000000002	planted
\.
ROLLBACK TO s;
COMMIT;
COPY att.projects TO STDOUT;

-------------------------------------------------------------------------------
-- Unique and foreign-key probing tell nothing about another tenant
-------------------------------------------------------------------------------
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
-- bob@example.com exists in B: for A it is just a new user.
SELECT pg_temp.try($$INSERT INTO att.users VALUES (3, 'aaaaaaaa-0000-4000-8000-000000000001', 'bob@example.com') RETURNING email$$) AS same_email_as_b;
-- Project 2 exists (B's) and project 99 does not: A gets the same error for both.
SELECT pg_temp.try($$INSERT INTO att.tasks VALUES (900, 'aaaaaaaa-0000-4000-8000-000000000001', 2, 'x') RETURNING id$$) AS b_project;
SELECT pg_temp.try($$INSERT INTO att.tasks VALUES (901, 'aaaaaaaa-0000-4000-8000-000000000001', 99, 'x') RETURNING id$$) AS no_project;
-- Primary key (tenant_id, id): B's task ids are free for A.
SELECT pg_temp.try($$INSERT INTO att.tasks VALUES (101, 'aaaaaaaa-0000-4000-8000-000000000001', 1, 'x') RETURNING id$$) AS b_task_id;
ROLLBACK;

-------------------------------------------------------------------------------
-- A foreign key added by the owner is not validated under the guard (it
-- would see one tenant's rows and could pass with another's violating it)
-------------------------------------------------------------------------------
RESET ROLE;
INSERT INTO att.users VALUES (9, 'bbbbbbbb-0000-4000-8000-000000000002', 'orphan@example.com');
SET ROLE att_owner;
CREATE TABLE att.logins (tenant_id uuid NOT NULL, user_id bigint NOT NULL);
SELECT tenancy.protect('att.logins');
RESET ROLE;
INSERT INTO att.logins VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 1), ('bbbbbbbb-0000-4000-8000-000000000002', 77);
SET ROLE att_owner;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SELECT pg_temp.try_ddl($$ALTER TABLE att.logins ADD FOREIGN KEY (user_id) REFERENCES att.users (id)$$) AS fk_in_context;
ROLLBACK;
SELECT pg_temp.try_ddl($$ALTER TABLE att.logins ADD CONSTRAINT logins_user FOREIGN KEY (user_id) REFERENCES att.users (id) NOT VALID$$) AS fk_not_valid;
SELECT pg_temp.try_ddl($$ALTER TABLE att.logins VALIDATE CONSTRAINT logins_user$$) AS validate_as_owner;
RESET ROLE;
-- A superuser's validation sees every row, and finds B's dangling login.
SELECT pg_temp.try_ddl($$ALTER TABLE att.logins VALIDATE CONSTRAINT logins_user$$) AS validate_as_superuser;
SELECT convalidated FROM pg_constraint WHERE conname = 'logins_user';
SET ROLE att_app;

-------------------------------------------------------------------------------
-- Statistics of protected tables are hidden from application roles
-------------------------------------------------------------------------------
SELECT count(*) AS pg_stats_rows_for_app FROM pg_stats WHERE schemaname = 'att';
RESET ROLE;
SELECT count(*) > 0 AS pg_stats_rows_for_superuser FROM pg_stats WHERE schemaname = 'att';

-------------------------------------------------------------------------------
-- SECURITY DEFINER functions run the guard with the caller's context
-------------------------------------------------------------------------------
SET ROLE att_owner;
CREATE FUNCTION att.count_tasks() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS 'SELECT count(*) FROM att.tasks';
-- A definer function cannot switch the context either.
CREATE FUNCTION att.switch_to_b() RETURNS text LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT set_config('tenancy.tenant_id', 'bbbbbbbb-0000-4000-8000-000000000002', true) $$;
GRANT EXECUTE ON FUNCTION att.count_tasks(), att.switch_to_b() TO att_app;
RESET ROLE;
SET ROLE att_app;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SELECT att.count_tasks() AS owner_function_sees_a_only;
SELECT pg_temp.try($$SELECT att.switch_to_b()$$) AS definer_switch;
SELECT tenancy.current() AS still_a;
COMMIT;
SELECT pg_temp.try($$SELECT att.count_tasks()$$) AS definer_without_context;

-------------------------------------------------------------------------------
-- Parallel workers get the leader's context
-------------------------------------------------------------------------------
BEGIN;
SELECT tenancy.enter('bbbbbbbb-0000-4000-8000-000000000002');
SET LOCAL force_parallel_mode = on;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM att.tasks;
SELECT count(*) AS parallel_b, count(*) FILTER (WHERE title NOT LIKE 'b-secret-%') AS not_b FROM att.tasks;
COMMIT;
RESET ROLE;

SET client_min_messages = warning;
DROP SCHEMA att CASCADE;
RESET client_min_messages;
REVOKE ALL ON FUNCTION tenancy.enter(uuid, boolean) FROM att_app, att_owner;
DROP ROLE att_app;
DROP ROLE att_owner;
