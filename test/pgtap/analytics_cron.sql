-- analytics and pg_cron: track() schedules the table's daily upkeep
-- (maintain()) and create_rollup() the rollup's refresh (every minute by
-- default), both as the calling role, which here is a plain role with the
-- documented grants (USAGE on schema cron, pg_partman's objects). The jobs
-- are recorded in analytics.cron_jobs, shown in analytics.status, and
-- removed by drop_rollup(), untrack(), DROP TABLE of what they refresh and
-- DROP EXTENSION; a job of the role's own that analytics did not make is
-- never taken over nor removed. An invalid schedule changes nothing.
-- Runs in the database where pg_cron lives (cron.database_name);
-- everything rolls back, so no job ever reaches the scheduler.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS pg_cron;
SET LOCAL client_min_messages = warning;
DROP EXTENSION IF EXISTS analytics CASCADE;
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
CREATE EXTENSION analytics CASCADE;   -- hll, tdigest
RESET client_min_messages;

SELECT plan(32);

-- The role: its own schema, pg_cron, and pg_partman as its documentation
-- sets up a non-superuser.
CREATE ROLE tap_an_owner;
CREATE SCHEMA tap_an AUTHORIZATION tap_an_owner;
GRANT USAGE ON SCHEMA cron TO tap_an_owner;
GRANT ALL ON SCHEMA partman TO tap_an_owner;
GRANT ALL ON ALL TABLES IN SCHEMA partman TO tap_an_owner;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO tap_an_owner;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO tap_an_owner;

CREATE TEMP VIEW an_jobs AS
SELECT jobid, jobname::text COLLATE "default" AS jobname, schedule::text COLLATE "default" AS schedule,
       command, username::text COLLATE "default" AS username, active
  FROM cron.job WHERE jobname LIKE 'analytics-%';
GRANT SELECT ON an_jobs TO tap_an_owner;

SET ROLE tap_an_owner;
-- A job of the role's own under the name a rollup's job would take.
SELECT cron.schedule('analytics-refresh tap_taken', '*/7 * * * *', 'SELECT 7') AS own_job \gset

-------------------------------------------------------------------------------
-- track() and create_rollup() schedule, as the calling role
-------------------------------------------------------------------------------
SELECT analytics.create_events_table('tap_an.events') IS NOT NULL AS tracked \gset
SELECT results_eq(
    $$SELECT jobname, schedule, command, username, active FROM an_jobs WHERE jobname LIKE 'analytics-maintain %'$$,
    format($$VALUES ('analytics-maintain %s', '30 3 * * *', 'SELECT analytics.maintain(%s::regclass)', 'tap_an_owner', true)$$,
           'tap_an.events'::regclass::oid, 'tap_an.events'::regclass::oid),
    'track() schedules maintain() of the table daily, as the role that tracks it (the job names the table by oid)');

SELECT analytics.create_rollup('tap_r1', 'tap_an.events', '{event_type}', 'user_id');
SELECT analytics.create_rollup('tap_r2', 'tap_an.events', '{event_type}', refresh_schedule => '*/5 * * * *');
SELECT analytics.create_rollup('tap_r3', 'tap_an.events', '{event_type}', refresh_schedule => NULL);
SELECT results_eq(
    $$SELECT jobname, schedule, command, username FROM an_jobs WHERE jobname LIKE 'analytics-refresh tap_r%' ORDER BY 1$$,
    $$VALUES ('analytics-refresh tap_r1', '* * * * *', 'SELECT analytics.refresh(''tap_r1'')', 'tap_an_owner'),
             ('analytics-refresh tap_r2', '*/5 * * * *', 'SELECT analytics.refresh(''tap_r2'')', 'tap_an_owner')$$,
    'create_rollup() schedules refresh() every minute by default, on the schedule given, none for NULL');
SELECT results_eq(
    'SELECT jobname, username FROM analytics.cron_jobs ORDER BY 1',
    $$VALUES ('analytics-maintain ' || 'tap_an.events'::regclass::oid, 'tap_an_owner'::text),
             ('analytics-refresh tap_r1', 'tap_an_owner'), ('analytics-refresh tap_r2', 'tap_an_owner')$$,
    'the three jobs are recorded as the extension''s (the role''s own job is not)');

-- An invalid schedule: pg_cron's 22023, and nothing made.
SELECT throws_ok($$SELECT analytics.create_rollup('tap_r4', 'tap_an.events', '{event_type}', refresh_schedule => 'every minute')$$,
                 '22023', 'invalid schedule: every minute', 'an invalid schedule is refused (22023)');
SELECT ok(NOT EXISTS (SELECT FROM analytics.rollups WHERE name = 'tap_r4') AND to_regclass('tap_an.tap_r4_hourly') IS NULL
          AND NOT EXISTS (SELECT FROM an_jobs WHERE jobname = 'analytics-refresh tap_r4'),
          'and nothing was made: no rollup, no table, no job');

-- The name is taken by the role's own job: the rollup is made, the job is
-- left as it was and not recorded.
SELECT analytics.create_rollup('tap_taken', 'tap_an.events', '{event_type}');
SELECT results_eq(
    $$SELECT jobid, schedule, command FROM an_jobs WHERE jobname = 'analytics-refresh tap_taken'$$,
    format($$VALUES (%s::bigint, '*/7 * * * *', 'SELECT 7')$$, :own_job),
    'a job of the role''s own under the name is left as it was');
SELECT ok(EXISTS (SELECT FROM analytics.rollups WHERE name = 'tap_taken')
          AND NOT EXISTS (SELECT FROM analytics.cron_jobs WHERE jobname = 'analytics-refresh tap_taken'),
          'the rollup is made, the job is not taken for the extension''s');

-------------------------------------------------------------------------------
-- The status view
-------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT name, refresh_job, refresh_schedule, refresh_active, maintain_job, maintain_schedule, maintain_active
        FROM analytics.status WHERE name IN ('tap_r1', 'tap_r3') ORDER BY name$$,
    format($$VALUES ('tap_r1', 'analytics-refresh tap_r1', '* * * * *', true, 'analytics-maintain %1$s', '30 3 * * *', true),
                    ('tap_r3', NULL, NULL, NULL, 'analytics-maintain %1$s', '30 3 * * *', true)$$,
           'tap_an.events'::regclass::oid),
    'analytics.status shows each rollup''s refresh job and its table''s upkeep job');
RESET ROLE;
INSERT INTO cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
SELECT jobid, 1000000, 0, current_database(), username, command, 'failed', 'ERROR: lock timeout',
       '2026-01-02 03:04:05+00', '2026-01-02 03:04:06+00'
  FROM cron.job WHERE jobname = 'analytics-refresh tap_r1';
INSERT INTO cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
SELECT jobid, 1000001, 0, current_database(), username, command, 'succeeded', 'SELECT 1',
       '2026-01-02 03:05:05+00', '2026-01-02 03:05:06+00'
  FROM cron.job WHERE jobname = 'analytics-refresh tap_r1';
SET ROLE tap_an_owner;
SELECT results_eq(
    $$SELECT refresh_last_run, refresh_last_status FROM analytics.status WHERE name = 'tap_r1'$$,
    $$VALUES ('2026-01-02 03:05:05+00'::timestamptz, 'succeeded'::text)$$,
    'and the last run of the job, with its status');

-- Paused through pg_cron (cron.alter_job is a superuser's): shown inactive.
RESET ROLE;
SELECT cron.alter_job(jobid, active => false) IS NULL AS paused FROM an_jobs WHERE jobname = 'analytics-refresh tap_r2' \gset
SET ROLE tap_an_owner;
SELECT is((SELECT refresh_active FROM analytics.status WHERE name = 'tap_r2'), false,
          'a job paused with cron.alter_job() shows as inactive');

-------------------------------------------------------------------------------
-- Without pg_cron rights: the rollup is made, without a job, and a NOTICE
-- says why
-------------------------------------------------------------------------------
RESET ROLE;
REVOKE USAGE ON SCHEMA cron FROM tap_an_owner;
SET ROLE tap_an_owner;
SELECT analytics.create_rollup('tap_nocron', 'tap_an.events', '{event_type}');
SELECT ok(EXISTS (SELECT FROM analytics.rollups WHERE name = 'tap_nocron')
          AND NOT EXISTS (SELECT FROM analytics.cron_jobs WHERE jobname = 'analytics-refresh tap_nocron'),
          'a role that may not use pg_cron gets its rollup, without a job');
SELECT is((SELECT refresh_job FROM analytics.status WHERE name = 'tap_r1'), NULL,
          'and it sees no job state in the status view (the job still runs)');
RESET ROLE;
GRANT USAGE ON SCHEMA cron TO tap_an_owner;
SET ROLE tap_an_owner;

-------------------------------------------------------------------------------
-- Removed with what they refresh
-------------------------------------------------------------------------------
SELECT analytics.drop_rollup('tap_r2');
SELECT is_empty($$SELECT FROM an_jobs WHERE jobname = 'analytics-refresh tap_r2'$$, 'drop_rollup() removes the rollup''s job');
SELECT is_empty($$SELECT FROM analytics.cron_jobs WHERE jobname = 'analytics-refresh tap_r2'$$, 'and its record');

DROP TABLE tap_an.tap_r1_hourly;
SELECT is_empty($$SELECT FROM an_jobs WHERE jobname = 'analytics-refresh tap_r1'$$,
                'DROP TABLE of a rollup''s table removes the rollup''s job');

SELECT analytics.create_events_table('tap_an.events2') IS NOT NULL AS tracked2 \gset
SELECT analytics.create_rollup('tap_r7', 'tap_an.events2', '{event_type}');
SELECT is((SELECT count(*) FROM an_jobs WHERE jobname IN ('analytics-refresh tap_r7', 'analytics-maintain ' || 'tap_an.events2'::regclass::oid)),
          2::bigint, 'a second table and its rollup: two more jobs');
SELECT 'tap_an.events2'::regclass::oid AS events2_oid \gset
DROP TABLE tap_an.events2;
SELECT is_empty(format($$SELECT FROM an_jobs WHERE jobname IN ('analytics-refresh tap_r7', 'analytics-maintain %s')$$, :events2_oid),
                'DROP TABLE of a tracked table removes its upkeep job and its rollups'' jobs');
SELECT is_empty(format($$SELECT FROM analytics.cron_jobs WHERE jobname IN ('analytics-refresh tap_r7', 'analytics-maintain %s')$$, :events2_oid),
                'and their records');

-- A rename keeps the upkeep job working: it names the table by oid.
ALTER TABLE tap_an.events RENAME TO renamed_events;
SELECT is((SELECT command FROM an_jobs WHERE jobname LIKE 'analytics-maintain %')::text,
          format('SELECT analytics.maintain(%s::regclass)', 'tap_an.renamed_events'::regclass::oid),
          'the upkeep job still names the renamed table');
SELECT results_eq($$SELECT parent_table FROM partman.part_config WHERE parent_table LIKE 'tap_an.%'$$,
                  ARRAY['tap_an.renamed_events'::text], 'pg_partman''s configuration follows the rename');
SELECT lives_ok(format('SELECT * FROM analytics.maintain(%s::regclass)', 'tap_an.renamed_events'::regclass::oid),
                'and its command runs');

SELECT analytics.untrack('tap_an.renamed_events');
SELECT results_eq('SELECT jobid FROM an_jobs', ARRAY[:own_job::bigint],
                  'untrack() removes the table''s jobs and its rollups''; the role''s own job stays');
SELECT is_empty('SELECT FROM analytics.cron_jobs', 'no job is recorded any more');

-------------------------------------------------------------------------------
-- Another role cannot remove them
-------------------------------------------------------------------------------
SELECT analytics.create_events_table('tap_an.events3') IS NOT NULL AS tracked3 \gset
SELECT analytics.create_rollup('tap_r8', 'tap_an.events3', '{event_type}');
RESET ROLE;
CREATE ROLE tap_an_other;
GRANT USAGE ON SCHEMA cron TO tap_an_other;
SET ROLE tap_an_other;
SELECT throws_ok($$SELECT analytics.drop_rollup('tap_r8')$$, 'KB505', NULL,
                 'another role cannot drop the rollup (it does not see it)');
SELECT is_empty('SELECT FROM analytics.cron_jobs', 'nor see the extension''s record of the jobs');
SELECT is(analytics._unschedule_job('analytics-refresh tap_r8', 'tap_an_owner'), false,
          'the helper finds nothing to remove for another role');
RESET ROLE;
-- A superuser refreshes the role's rollup: the fold runs as the owner, and
-- the superuser is itself again afterwards.
INSERT INTO tap_an.events3 (event_time, event_type, user_id) VALUES (now(), 'x', 1);
SELECT analytics.refresh('tap_r8') AS folded_r8 \gset
SELECT is(:folded_r8::bigint, 1::bigint, 'a superuser''s refresh() of the role''s rollup folds its row');
SELECT is(current_user::text, session_user::text,
          'and the switch to the owner''s role ends with refresh()');
SELECT is((SELECT pg_catalog.pg_get_userbyid(c.relowner)::text FROM pg_catalog.pg_class c
            WHERE c.oid = 'tap_an.tap_r8_hourly'::regclass), 'tap_an_owner',
          'the rollup table stays the owner''s');
SELECT is((SELECT count(*) FROM cron.job WHERE jobname IN ('analytics-refresh tap_r8', 'analytics-maintain ' || 'tap_an.events3'::regclass::oid)),
          2::bigint, 'both jobs are still scheduled');

-------------------------------------------------------------------------------
-- DROP EXTENSION removes every job the extension scheduled, of every role,
-- and nothing else
-------------------------------------------------------------------------------
SAVEPOINT before_drop;
SET LOCAL client_min_messages = warning;
DROP EXTENSION analytics CASCADE;
RESET client_min_messages;
ROLLBACK TO SAVEPOINT before_drop;
SELECT is((SELECT count(*) FROM analytics.cron_jobs c JOIN cron.job j USING (jobid)), 2::bigint,
          'a DROP EXTENSION rolled back to a savepoint leaves the jobs scheduled');
SET LOCAL client_min_messages = warning;
DROP EXTENSION analytics CASCADE;
RESET client_min_messages;
SELECT results_eq('SELECT jobid FROM an_jobs', ARRAY[:own_job::bigint],
                  'DROP EXTENSION analytics removes the jobs it scheduled for the role; the role''s own job stays');

SELECT * FROM finish();
ROLLBACK;
