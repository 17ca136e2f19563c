-- commerce and pg_cron on DROP (0.2.0): DROP EXTENSION removes the job the
-- extension scheduled (commerce-expire), and nothing else: a user's job with
-- the same command, or of the same name for another user and database,
-- stays. Unrelated DROP commands leave the job exactly as it was. Covered:
-- DROP EXTENSION (also inside a rolled-back savepoint and under
-- session_replication_role = replica), DROP EXTENSION ltree CASCADE, DROP
-- SCHEMA ... CASCADE of ltree's schema, DROP OWNED BY the owner, an owner
-- that lost superuser (with and without rights on pg_cron), pg_cron dropped
-- and installed after the extension, a same-named job of the user's own
-- before CREATE EXTENSION, and an update from 0.1.0, which scheduled the job
-- without recording it. The four extensions with jobs share one implementation: its
-- copies are compared last. Runs in the database where pg_cron lives
-- (cron.database_name); everything rolls back, so no job ever reaches the
-- scheduler.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS pg_cron;
SET LOCAL client_min_messages = warning;
DROP EXTENSION IF EXISTS commerce;
DROP EXTENSION IF EXISTS feed;
DROP EXTENSION IF EXISTS eventstore;
DROP EXTENSION IF EXISTS analytics CASCADE;
RESET client_min_messages;

SELECT plan(37);

-- The jobs of commerce's name or command, of every database and user.
\set expire_jobs 'CREATE TEMP VIEW expire_jobs AS SELECT jobid, jobname::text COLLATE "default" AS jobname, command, database, username, active FROM cron.job WHERE jobname = ''commerce-expire'' OR command = ''SELECT commerce.expire()'''
:expire_jobs;

-- Jobs that are not commerce's: the same command under the user's own name,
-- and commerce's name for another user in another database.
CREATE ROLE tap_cron_other LOGIN;
SELECT cron.schedule('tap-own-expire', '*/5 * * * *', 'SELECT commerce.expire()') AS own_job \gset
SELECT cron.schedule_in_database('commerce-expire', '* * * * *', 'SELECT commerce.expire()', 'postgres',
                                 'tap_cron_other') AS other_job \gset

-- ltree in a schema of its own, so that dropping that schema is possible.
CREATE SCHEMA tap_cron_ltree;
CREATE EXTENSION ltree SCHEMA tap_cron_ltree;

-------------------------------------------------------------------------------
-- CREATE EXTENSION schedules one job and records it
-------------------------------------------------------------------------------
CREATE EXTENSION commerce;
SELECT jobid AS job FROM cron.job WHERE jobname = 'commerce-expire' AND database = current_database() \gset
SELECT results_eq(
    $$SELECT jobname, command, username, active FROM expire_jobs
       WHERE database = current_database() AND jobid <> $$ || :own_job,
    $$VALUES ('commerce-expire', 'SELECT commerce.expire()', current_user::text COLLATE "default", true)$$,
    'CREATE EXTENSION commerce schedules one job commerce-expire in this database');
SELECT results_eq(
    'SELECT jobid, jobname, username FROM commerce.cron_jobs',
    $$VALUES ($$ || :job || $$::bigint, 'commerce-expire', current_user::text COLLATE "default")$$,
    'the job is recorded as the extension''s');

-------------------------------------------------------------------------------
-- Unrelated DROP commands leave it as it was (id, schedule, pause)
-------------------------------------------------------------------------------
SELECT cron.alter_job(:job, schedule => '*/2 * * * *', active => false);
CREATE TEMP TABLE job_before AS SELECT * FROM cron.job WHERE jobid = :job;
CREATE SCHEMA tap_cron_scratch;
DROP SCHEMA tap_cron_scratch;
DROP SCHEMA IF EXISTS tap_cron_no_such_schema;
DROP EXTENSION IF EXISTS tap_cron_no_such_extension;
CREATE ROLE tap_cron_nobody;
DROP OWNED BY tap_cron_nobody;
SELECT results_eq(
    'SELECT * FROM cron.job WHERE jobid = ' || :job,
    'SELECT * FROM job_before',
    'DROP SCHEMA, DROP EXTENSION and DROP OWNED that do not drop commerce leave its job as it was');
SELECT is_empty('SELECT 1 FROM commerce.cron_jobs WHERE parked IS NOT NULL',
                'and nothing stays parked');

SAVEPOINT before_drop;
DROP EXTENSION commerce;
ROLLBACK TO SAVEPOINT before_drop;
SELECT results_eq(
    'SELECT * FROM cron.job WHERE jobid = ' || :job,
    'SELECT * FROM job_before',
    'a DROP EXTENSION rolled back to a savepoint leaves the job as it was');

-------------------------------------------------------------------------------
-- DROP EXTENSION removes it, and only it
-------------------------------------------------------------------------------
DROP EXTENSION commerce;
SELECT is_empty('SELECT 1 FROM cron.job WHERE jobid = ' || :job, 'DROP EXTENSION commerce removes its job');
SELECT results_eq(
    'SELECT jobid, jobname, database, username FROM expire_jobs ORDER BY jobid',
    $$VALUES ($$ || :own_job || $$::bigint, 'tap-own-expire', current_database()::text COLLATE "default", current_user::text COLLATE "default"),
             ($$ || :other_job || $$, 'commerce-expire', 'postgres', 'tap_cron_other')$$,
    'the user''s job with the same command, and commerce-expire of another user and database, stay');

CREATE EXTENSION commerce;
SELECT results_eq(
    $$SELECT jobname, jobid = $$ || :job || $$, jobid IN (SELECT c.jobid FROM commerce.cron_jobs c)
        FROM expire_jobs WHERE database = current_database() AND jobid <> $$ || :own_job,
    $$VALUES ('commerce-expire', false, true)$$,
    'CREATE EXTENSION again schedules the job once more, once, and records it');
SELECT is((SELECT count(*) FROM cron.job WHERE command = 'SELECT commerce.expire()' AND database = current_database()),
          2::bigint, 'two jobs run commerce.expire() here: the user''s and the new one');

SET LOCAL session_replication_role = replica;
DROP EXTENSION commerce;
RESET session_replication_role;
SELECT is_empty($$SELECT 1 FROM expire_jobs WHERE jobname = 'commerce-expire' AND database = current_database()$$,
                'under session_replication_role = replica too, DROP EXTENSION removes the job');

-------------------------------------------------------------------------------
-- Dropped through what it depends on
-------------------------------------------------------------------------------
CREATE EXTENSION commerce;
DROP EXTENSION ltree CASCADE;
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'commerce'),
          'DROP EXTENSION ltree CASCADE drops commerce');
SELECT is_empty($$SELECT 1 FROM expire_jobs WHERE jobname = 'commerce-expire' AND database = current_database()$$,
                'and its job');

CREATE EXTENSION ltree SCHEMA tap_cron_ltree;
CREATE EXTENSION commerce;
DROP SCHEMA tap_cron_ltree CASCADE;
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'commerce'),
          'DROP SCHEMA ... CASCADE of ltree''s schema drops commerce');
SELECT is_empty($$SELECT 1 FROM expire_jobs WHERE jobname = 'commerce-expire' AND database = current_database()$$,
                'and its job');
SELECT results_eq(
    'SELECT jobid FROM expire_jobs ORDER BY jobid',
    ARRAY[:own_job, :other_job]::bigint[],
    'the two other jobs are still there');

-------------------------------------------------------------------------------
-- Another owner: DROP OWNED, and an owner that is no longer superuser
-------------------------------------------------------------------------------
CREATE SCHEMA tap_cron_ltree;
CREATE EXTENSION ltree SCHEMA tap_cron_ltree;
CREATE ROLE tap_cron_owner SUPERUSER LOGIN;  -- (pg_cron runs jobs only as roles that can log in)
SET ROLE tap_cron_owner;
CREATE EXTENSION commerce;
RESET ROLE;
SELECT results_eq(
    $$SELECT username, jobid IN (SELECT c.jobid FROM commerce.cron_jobs c) FROM expire_jobs
       WHERE jobname = 'commerce-expire' AND database = current_database()$$,
    $$VALUES ('tap_cron_owner', true)$$,
    'installed by another role, commerce-expire runs as that role');
DROP OWNED BY tap_cron_owner;
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'commerce'),
          'DROP OWNED BY the owner drops commerce');
SELECT is_empty($$SELECT 1 FROM expire_jobs WHERE jobname = 'commerce-expire' AND database = current_database()$$,
                'and its job');

-- The owner loses superuser: it may not write cron.job, but with USAGE on
-- schema cron it may unschedule its own jobs and schedule them again.
SET ROLE tap_cron_owner;
CREATE EXTENSION commerce;
RESET ROLE;
ALTER ROLE tap_cron_owner NOSUPERUSER;
GRANT USAGE ON SCHEMA cron TO tap_cron_owner;
SELECT jobid AS job FROM cron.job WHERE jobname = 'commerce-expire' AND database = current_database() \gset
DROP SCHEMA IF EXISTS tap_cron_no_such_schema;
SELECT results_eq(
    $$SELECT jobname, schedule, command, username, active, jobid IN (SELECT c.jobid FROM commerce.cron_jobs c)
        FROM cron.job WHERE database = current_database() AND jobname = 'commerce-expire'$$,
    $$VALUES ('commerce-expire'::name, '* * * * *', 'SELECT commerce.expire()', 'tap_cron_owner', true, true)$$,
    'owner without superuser: an unrelated DROP schedules the job again, as it was, recorded');
SELECT isnt((SELECT jobid FROM cron.job WHERE database = current_database() AND jobname = 'commerce-expire'),
            :job::bigint, 'under a new job id (pg_cron gives it no other way)');
SELECT cron.alter_job(jobid, active => false) FROM cron.job
 WHERE database = current_database() AND jobname = 'commerce-expire';
GRANT EXECUTE ON FUNCTION cron.alter_job(bigint, text, text, text, text, boolean) TO tap_cron_owner;
DROP SCHEMA IF EXISTS tap_cron_no_such_schema;
SELECT results_eq(
    $$SELECT active FROM cron.job WHERE database = current_database() AND jobname = 'commerce-expire'$$,
    ARRAY[false],
    'a paused job comes back paused when the owner may call cron.alter_job');
REVOKE EXECUTE ON FUNCTION cron.alter_job(bigint, text, text, text, text, boolean) FROM tap_cron_owner;
SET client_min_messages = error;
DROP SCHEMA IF EXISTS tap_cron_no_such_schema;
RESET client_min_messages;
SELECT results_eq(
    $$SELECT active FROM cron.job WHERE database = current_database() AND jobname = 'commerce-expire'$$,
    ARRAY[true],
    'and active again (with a warning) when it may not');
SET ROLE tap_cron_owner;
DROP EXTENSION commerce;
RESET ROLE;
SELECT is_empty($$SELECT 1 FROM expire_jobs WHERE jobname = 'commerce-expire' AND database = current_database()$$,
                'DROP EXTENSION by the owner without superuser removes the job');

-- Without USAGE on schema cron the owner can do nothing with its jobs (by
-- hand neither): DROP commands go on, and the job is left alone.
ALTER ROLE tap_cron_owner SUPERUSER;
SET ROLE tap_cron_owner;
CREATE EXTENSION commerce;
RESET ROLE;
ALTER ROLE tap_cron_owner NOSUPERUSER;
REVOKE USAGE ON SCHEMA cron FROM tap_cron_owner;
SELECT jobid AS job FROM cron.job WHERE jobname = 'commerce-expire' AND database = current_database() \gset
SELECT lives_ok('DROP SCHEMA IF EXISTS tap_cron_no_such_schema',
                'owner without rights on pg_cron: an unrelated DROP SCHEMA still works');
SET ROLE tap_cron_owner;
SELECT lives_ok('DROP EXTENSION commerce', 'and so does DROP EXTENSION commerce');
RESET ROLE;
SELECT results_eq(
    $$SELECT jobid FROM expire_jobs WHERE jobname = 'commerce-expire' AND database = current_database()$$,
    ARRAY[:job::bigint],
    'the job stays (documented: grant USAGE on schema cron, or unschedule it as a superuser)');
SELECT cron.unschedule(:job);

-------------------------------------------------------------------------------
-- Without pg_cron, and pg_cron installed after the extension
-------------------------------------------------------------------------------
CREATE EXTENSION commerce;
DROP VIEW expire_jobs;
DROP EXTENSION pg_cron;
SELECT is_empty('SELECT 1 FROM commerce.cron_jobs',
                'dropping pg_cron forgets the jobs: a re-created pg_cron hands out their ids again');
SELECT lives_ok('DROP EXTENSION commerce', 'DROP EXTENSION commerce without pg_cron');
CREATE EXTENSION commerce;
SELECT is_empty('SELECT 1 FROM commerce.cron_jobs', 'created without pg_cron, commerce records no job');
CREATE EXTENSION pg_cron;
:expire_jobs;
SELECT cron.schedule('commerce-expire', '* * * * *', 'SELECT commerce.expire()') AS hand_job \gset
DROP EXTENSION commerce;
SELECT results_eq(
    $$SELECT jobid FROM cron.job WHERE jobname = 'commerce-expire'$$,
    ARRAY[:hand_job::bigint],
    'pg_cron installed after commerce: the job scheduled by hand stays after DROP EXTENSION');
CREATE EXTENSION commerce;
SELECT results_eq(
    $$SELECT (SELECT array_agg(jobid) FROM cron.job WHERE jobname = 'commerce-expire'),
             (SELECT count(*) FROM commerce.cron_jobs)$$,
    $$VALUES (ARRAY[$$ || :hand_job || $$::bigint], 0::bigint)$$,
    'CREATE EXTENSION leaves a job of the user''s own named commerce-expire alone and records nothing');
DROP EXTENSION commerce;
SELECT results_eq(
    $$SELECT jobid FROM cron.job WHERE jobname = 'commerce-expire'$$,
    ARRAY[:hand_job::bigint],
    'and DROP EXTENSION leaves it too');
-- (pg_cron's unschedule keeps the first cron.job it opened in this session)
DELETE FROM cron.job WHERE jobid = :hand_job;

-------------------------------------------------------------------------------
-- Updated from 0.1.0: the job 0.1.0 scheduled becomes the extension's
-------------------------------------------------------------------------------
SELECT cron.schedule('tap-own-expire', '*/5 * * * *', 'SELECT commerce.expire()') AS own_job \gset
CREATE EXTENSION commerce VERSION '0.1.0';
SELECT jobid AS job FROM cron.job WHERE jobname = 'commerce-expire' \gset
ALTER EXTENSION commerce UPDATE TO '0.2.0';
SELECT results_eq(
    'SELECT jobid FROM commerce.cron_jobs',
    ARRAY[:job::bigint],
    'ALTER EXTENSION UPDATE records the job 0.1.0 scheduled (not the user''s with the same command)');
DROP EXTENSION commerce;
SELECT results_eq(
    'SELECT jobid FROM expire_jobs ORDER BY jobid',
    ARRAY[:own_job::bigint],
    'DROP EXTENSION of the updated commerce removes that job; the user''s stays');

-------------------------------------------------------------------------------
-- One implementation, four copies
-------------------------------------------------------------------------------
CREATE EXTENSION commerce;
CREATE EXTENSION feed;
CREATE EXTENSION eventstore;
CREATE EXTENSION analytics CASCADE;
SELECT is_empty(
    $$SELECT p.proname
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_proc q ON q.proname = p.proname
       WHERE p.pronamespace = 'commerce'::regnamespace AND p.proname IN ('_cron_schedule', '_cron_park', '_cron_restore')
         AND q.pronamespace IN ('feed'::regnamespace, 'eventstore'::regnamespace, 'analytics'::regnamespace)
         AND replace(q.prosrc, q.pronamespace::regnamespace::text, 'commerce') IS DISTINCT FROM p.prosrc$$,
    'feed, eventstore and analytics run the same _cron_schedule, _cron_park and _cron_restore as commerce');
SELECT is((SELECT count(*) FROM pg_catalog.pg_proc
            WHERE proname IN ('_cron_schedule', '_cron_park', '_cron_restore')
              AND pronamespace IN ('commerce'::regnamespace, 'feed'::regnamespace, 'eventstore'::regnamespace,
                                   'analytics'::regnamespace)),
          12::bigint, 'each of the four has the three');
SELECT is((SELECT count(*) FROM pg_catalog.pg_event_trigger
            WHERE evtname IN ('commerce_cron_park', 'feed_cron_park', 'eventstore_cron_park', 'analytics_cron_park')
              AND evtevent = 'ddl_command_start' AND evtenabled = 'A'
              AND evttags = ARRAY['DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED'])
        + (SELECT count(*) FROM pg_catalog.pg_event_trigger
            WHERE evtname IN ('commerce_cron_restore', 'feed_cron_restore', 'eventstore_cron_restore', 'analytics_cron_restore')
              AND evtevent = 'ddl_command_end' AND evtenabled = 'A'
              AND evttags = ARRAY['DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED']),
          8::bigint, 'each has its two event triggers, on the same commands, always enabled');

SELECT * FROM finish();
ROLLBACK;
