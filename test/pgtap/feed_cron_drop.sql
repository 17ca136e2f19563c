-- feed and pg_cron on DROP (0.2.0): DROP EXTENSION removes the job feed
-- scheduled (feed-dormant), and nothing else; unrelated DROP commands leave
-- it as it was; CREATE EXTENSION again schedules it once; an update from
-- 0.1.0 (which scheduled the job without recording it) hands it over. The
-- implementation is commerce's (test/pgtap/commerce_cron_drop.sql covers
-- every way of dropping and compares the copies). Runs in the database
-- where pg_cron lives; everything rolls back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS pg_cron;
SET LOCAL client_min_messages = warning;
DROP EXTENSION IF EXISTS feed;
RESET client_min_messages;

SELECT plan(10);

CREATE TEMP VIEW dormant_jobs AS
SELECT jobid, jobname::text COLLATE "default" AS jobname, command, database, username, active
  FROM cron.job
 WHERE jobname = 'feed-dormant' OR command = 'SELECT feed.mark_dormant()';

SELECT cron.schedule('tap-own-dormant', '5 * * * *', 'SELECT feed.mark_dormant()') AS own_job \gset

CREATE EXTENSION feed;
SELECT jobid AS job FROM cron.job WHERE jobname = 'feed-dormant' AND database = current_database() \gset
SELECT results_eq(
    'SELECT jobid, jobname FROM feed.cron_jobs',
    $$SELECT jobid, jobname FROM dormant_jobs WHERE jobname = 'feed-dormant'$$,
    'CREATE EXTENSION feed schedules feed-dormant and records it');

SELECT cron.alter_job(:job, active => false);
CREATE TEMP TABLE job_before AS SELECT * FROM cron.job WHERE jobid = :job;
CREATE SCHEMA tap_feed_cron_scratch;
DROP SCHEMA tap_feed_cron_scratch;
DROP EXTENSION IF EXISTS tap_feed_cron_no_such_extension;
SELECT results_eq('SELECT * FROM cron.job WHERE jobid = ' || :job, 'SELECT * FROM job_before',
                  'unrelated DROP SCHEMA and DROP EXTENSION leave the job as it was (id, pause)');

-- CASCADE, with an object of the user's that depends on feed.
CREATE VIEW tap_feed_cron_names AS SELECT username FROM feed.users;
DROP EXTENSION feed CASCADE;
SELECT is_empty('SELECT 1 FROM cron.job WHERE jobid = ' || :job, 'DROP EXTENSION feed CASCADE removes its job');
SELECT ok(to_regclass('tap_feed_cron_names') IS NULL, 'and, as asked, the user''s view on feed.users');
SELECT results_eq('SELECT jobid FROM dormant_jobs', ARRAY[:own_job::bigint],
                  'the user''s job with the same command stays');

CREATE EXTENSION feed;
SELECT results_eq(
    $$SELECT jobname, jobid = $$ || :job || $$, jobid IN (SELECT c.jobid FROM feed.cron_jobs c)
        FROM dormant_jobs WHERE jobid <> $$ || :own_job,
    $$VALUES ('feed-dormant', false, true)$$,
    'CREATE EXTENSION again schedules the job once, and records it');
DROP EXTENSION feed;
SELECT results_eq('SELECT jobid FROM dormant_jobs', ARRAY[:own_job::bigint],
                  'DROP EXTENSION removes it again');

-- Updated from 0.1.0.
CREATE EXTENSION feed VERSION '0.1.0';
SELECT jobid AS job FROM cron.job WHERE jobname = 'feed-dormant' AND database = current_database() \gset
SELECT ok(to_regclass('feed.cron_jobs') IS NULL, '0.1.0 scheduled feed-dormant without recording it');
ALTER EXTENSION feed UPDATE TO '0.2.0';
SELECT results_eq('SELECT jobid FROM feed.cron_jobs', ARRAY[:job::bigint],
                  'ALTER EXTENSION UPDATE records the job 0.1.0 scheduled, not the user''s');
DROP EXTENSION feed;
SELECT results_eq('SELECT jobid FROM dormant_jobs', ARRAY[:own_job::bigint],
                  'DROP EXTENSION of the updated feed removes that job; the user''s stays');

SELECT * FROM finish();
ROLLBACK;
