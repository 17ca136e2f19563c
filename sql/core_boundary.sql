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
DROP EXTENSION casebook_selftest;
