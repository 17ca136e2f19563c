-- The C++/PostgreSQL boundary: a PostgreSQL ERROR raised inside a guarded
-- call while C++ objects are alive reaches the client with its own SQLSTATE,
-- message, detail and hint; every C++ destructor has run; the backend lives.
\i sql/include/try.psql
CREATE EXTENSION casebook_selftest;
SELECT pg_backend_pid() AS pid_before \gset

-- Normal path through a kept SPI plan.
SELECT casebook_selftest.divide(10, 3);

-- A PostgreSQL error in a kept plan, four C++ frames deep: 22012 reaches the
-- client, and no C++ object is left alive.
SELECT casebook_selftest.divide(10, 0);
SELECT casebook_selftest.live_objects();
SELECT pg_temp.try('SELECT casebook_selftest.divide(10, 0)');

-- An error with detail and hint from PL/pgSQL, through SPI: all fields kept.
SELECT pg_temp.try($q$SELECT casebook_selftest.run_sql($s$DO $d$ BEGIN
  RAISE EXCEPTION 'custom failure %', 42 USING ERRCODE = 'KB999',
        DETAIL = 'the detail', HINT = 'the hint'; END $d$$s$)$q$);
SELECT casebook_selftest.live_objects();

-- Nested boundaries: native -> SQL -> native -> error. The context lines
-- appear once each.
SELECT casebook_selftest.run_sql('SELECT casebook_selftest.divide(1, 0)');
SELECT casebook_selftest.live_objects();

-- C++ exceptions become SQL errors with real SQLSTATEs.
SELECT pg_temp.try($$SELECT casebook_selftest.throw('domain')$$);
SELECT pg_temp.try($$SELECT casebook_selftest.throw('standard')$$);
SELECT pg_temp.try($$SELECT casebook_selftest.throw('bad_alloc')$$);
SELECT pg_temp.try($$SELECT casebook_selftest.throw('foreign')$$);
SELECT pg_temp.try($$SELECT casebook_selftest.throw('nonsense')$$);
SELECT casebook_selftest.live_objects();

-- A native loop stops at statement_timeout (57014) and cleans up.
-- (PL/pgSQL cannot catch a cancel, so the error shows as itself.)
SET statement_timeout = '100ms';
SELECT casebook_selftest.spin(30);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET statement_timeout;
SELECT casebook_selftest.live_objects();

-- The error aborted only its transaction: a savepoint rollback resumes.
BEGIN;
SAVEPOINT s;
SELECT casebook_selftest.divide(1, 0);
ROLLBACK TO SAVEPOINT s;
SELECT casebook_selftest.divide(9, 3) AS after_rollback_to_savepoint;
COMMIT;

-- Same backend throughout: nothing crashed.
SELECT pg_backend_pid() = :pid_before AS same_backend, casebook_selftest.live_objects();

-- Nested guards. A guard's callable may run C++ code that throws, a nested
-- guard's PgError included: the exception is caught before it reaches the
-- PG_TRY frame and rethrown unchanged after it (same type, same SQLSTATE).
-- Every level keeps C++ objects alive, in its frame and inside the guarded
-- callable; none is left, and the backend carries on.
SELECT casebook_selftest.nested('ok', 1) AS one_level, casebook_selftest.nested('ok', 2) AS two_levels,
       casebook_selftest.nested('ok', 5) AS five_levels;
-- A PostgreSQL error two guards deep.
SELECT casebook_selftest.nested('pg_error', 2);
SELECT 1 + 1 AS next_statement_runs;
SELECT pg_temp.try($$SELECT casebook_selftest.nested('pg_error', 2)$$);
-- C++ exceptions thrown inside the innermost guard, two and three deep.
SELECT casebook_selftest.nested('domain', 2);
SELECT 2 + 2 AS next_statement_runs;
SELECT pg_temp.try($$SELECT casebook_selftest.nested('domain', 2)$$);
SELECT pg_temp.try($$SELECT casebook_selftest.nested('bad_alloc', 3)$$);
SELECT casebook_selftest.live_objects();
-- What the guard puts back when a C++ exception leaves its callable (caught
-- in C++ here, which is legal: no PostgreSQL error happened): the
-- PostgreSQL error stack, the context callback chain, the memory context.
-- Also when the exception left a hand-written PG_TRY block in the callable.
SELECT casebook_selftest.guard_state('throw');
SELECT casebook_selftest.guard_state('pg_try');
-- The same escape straight in an entry: the wrapper puts the error stack
-- back before it raises.
SELECT pg_temp.try($$SELECT casebook_selftest.escape_pg_try('entry')$$);
SELECT pg_temp.try($$SELECT casebook_selftest.escape_pg_try('guard')$$);
SELECT casebook_selftest.live_objects();

-- The full ErrorData. A constraint violated by an INSERT that runs through
-- SPI inside a guard reaches the client with the same SQLSTATE, message,
-- detail and object names as the INSERT run directly (same_as_direct), and
-- with every context line once: the INSERT's, then its callers'.
CREATE SCHEMA boundary;
CREATE DOMAIN boundary.positive AS integer CONSTRAINT positive_check CHECK (VALUE > 0);
CREATE TABLE boundary.items (
    id integer PRIMARY KEY,
    sku text NOT NULL CONSTRAINT items_sku_key UNIQUE,
    code text,
    qty integer CONSTRAINT qty_positive CHECK (qty > 0),
    size boundary.positive);
CREATE UNIQUE INDEX items_code_idx ON boundary.items (code);
INSERT INTO boundary.items VALUES (1, 'a', 'c1', 1, 1);
CREATE FUNCTION boundary.diag(stmt text) RETURNS TABLE (
    state text, constraint_name text, table_name text, schema_name text, column_name text,
    datatype_name text, message text, detail text, context text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    state := 'ok';
    RETURN NEXT;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, constraint_name = CONSTRAINT_NAME,
        table_name = TABLE_NAME, schema_name = SCHEMA_NAME, column_name = COLUMN_NAME,
        datatype_name = PG_DATATYPE_NAME, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
        context = PG_EXCEPTION_CONTEXT;
    RETURN NEXT;
END
$$;
CREATE TABLE boundary.cases (label text PRIMARY KEY, stmt text NOT NULL);
INSERT INTO boundary.cases VALUES
    ('1 unique constraint', $$INSERT INTO boundary.items VALUES (2, 'a', 'c2', 1, 1)$$),
    ('2 unique index', $$INSERT INTO boundary.items VALUES (2, 'b', 'c1', 1, 1)$$),
    ('3 not null', $$INSERT INTO boundary.items VALUES (2, NULL, 'c2', 1, 1)$$),
    ('4 check', $$INSERT INTO boundary.items VALUES (2, 'b', 'c2', 0, 1)$$),
    ('5 domain check', $$INSERT INTO boundary.items VALUES (2, 'b', 'c2', 1, 0)$$);
\x on
SELECT c.label, d.*
FROM boundary.cases c,
     boundary.diag(format('SELECT casebook_selftest.run_sql(%L)', c.stmt)) d
ORDER BY c.label;
\x off
SELECT c.label,
       (SELECT row(state, constraint_name, table_name, schema_name, column_name, datatype_name, message, detail)
        FROM boundary.diag(format('SELECT casebook_selftest.run_sql(%L)', c.stmt)))
       IS NOT DISTINCT FROM
       (SELECT row(state, constraint_name, table_name, schema_name, column_name, datatype_name, message, detail)
        FROM boundary.diag(c.stmt)) AS same_as_direct
FROM boundary.cases c
ORDER BY c.label;
SELECT count(*) AS rows_written FROM boundary.items;
-- A syntax error in SQL run through SPI inside a guard: the internal query
-- and the position in it reach the client (LINE 1 and QUERY below).
SELECT casebook_selftest.run_sql('SELECT FROM WHERE');
SELECT casebook_selftest.live_objects();

-- The report of an escaped exception is built only on the error path: an
-- SQL function's entry adds a few dozen bytes of stack between its caller
-- and its body (the 8 KB report it used to carry is gone).
SELECT casebook_selftest.entry_stack_bytes() < 1024 AS entry_frame_is_small;

-- Hooks and callbacks through the entry wrapper, in a new session. LOAD runs
-- _PG_init through the wrapper: it installs a stand-in for another module's
-- ExecutorStart hook, then the refusing hook on top of it (chained to the
-- stand-in), a ProcessUtility hook and a transaction callback.
\c
LOAD 'casebook_selftest';
SELECT pg_backend_pid() AS hook_pid \gset
SELECT casebook_selftest.hook_calls();
-- The hook throws a casebook error while casebook_selftest.fail_hook is on:
-- its SQLSTATE, detail and hint reach the client, the session survives, and
-- the chain works again for the next statement (the refusing hook counted
-- the refused statement; the previous hook did not see it).
SET casebook_selftest.fail_hook = on;
SELECT 1 AS refused;
\echo :LAST_ERROR_SQLSTATE
RESET casebook_selftest.fail_hook;
SELECT 1 AS runs_again;
SELECT casebook_selftest.hook_calls();
-- A PostgreSQL error raised below both hooks (the executor's permission
-- check) comes back through their guards unchanged.
CREATE ROLE regress_boundary_reader;
CREATE SCHEMA boundary_private;
CREATE TABLE boundary_private.secrets (id integer);
GRANT USAGE ON SCHEMA boundary_private TO regress_boundary_reader;
SET ROLE regress_boundary_reader;
SELECT * FROM boundary_private.secrets;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP SCHEMA boundary_private CASCADE;
DROP ROLE regress_boundary_reader;
-- An error in a utility statement comes back through the ProcessUtility
-- hook's guard with its position in the statement (LINE 1 below).
CREATE TABLE boundary.broken (x boundary.no_such_type);
SELECT casebook_selftest.hook_calls();

-- A transaction callback through the wrapper, at pg::error_level(event).
-- At PRE_COMMIT the exception is an ERROR: the commit becomes a rollback.
CREATE TABLE boundary.log (id integer);
BEGIN;
SET LOCAL casebook_selftest.fail_xact = 'pre_commit';
INSERT INTO boundary.log VALUES (1);
COMMIT;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows_after_failed_commit FROM boundary.log;
-- At COMMIT (past the point of no return) and at ABORT it is a WARNING: the
-- commit stands, the abort completes. (The abort comes from ROLLBACK, which
-- runs the same abort callbacks as an error does: after an ERROR, the
-- client could see the callback's WARNING before or after the ERROR.)
BEGIN;
SET LOCAL casebook_selftest.fail_xact = 'commit';
INSERT INTO boundary.log VALUES (2);
COMMIT;
BEGIN;
SET LOCAL casebook_selftest.fail_xact = 'abort';
INSERT INTO boundary.log VALUES (3);
ROLLBACK;
SELECT array_agg(id ORDER BY id) AS committed_ids FROM boundary.log;

-- Same backend throughout this session too; no C++ object left alive.
SELECT pg_backend_pid() = :hook_pid AS same_backend, casebook_selftest.live_objects();
DROP SCHEMA boundary CASCADE;
DROP EXTENSION casebook_selftest;
