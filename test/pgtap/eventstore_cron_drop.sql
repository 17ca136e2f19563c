-- eventstore and pg_cron on DROP (0.2.0): eventstore schedules its jobs
-- when they are needed (eventstore-projections with the first async
-- projection, eventstore-partitions from the partition upkeep), records
-- them, and DROP EXTENSION removes them and nothing else; an update from
-- 0.1.0 (which scheduled them without recording them) hands them over. The
-- implementation is commerce's (test/pgtap/commerce_cron_drop.sql covers
-- every way of dropping and compares the copies). The partitions job is
-- scheduled by calling _partitions_upkeep() directly: on the one-table
-- layout it visits no partition and only schedules. Runs in the database
-- where pg_cron lives; everything rolls back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS pg_cron;
SET LOCAL client_min_messages = warning;
DROP EXTENSION IF EXISTS eventstore;
RESET client_min_messages;

SELECT plan(9);

CREATE TEMP VIEW es_jobs AS
SELECT jobid, jobname::text COLLATE "default" AS jobname, command
  FROM cron.job
 WHERE database = current_database()
   AND (jobname LIKE 'eventstore-%' OR command LIKE '%eventstore.%');

SELECT cron.schedule('tap-own-projections', '*/2 * * * *', 'CALL eventstore.run_projections_loop(58)') AS own_job \gset

CREATE EXTENSION eventstore;
SELECT results_eq('SELECT jobid FROM es_jobs', ARRAY[:own_job::bigint],
                  'CREATE EXTENSION eventstore schedules nothing by itself');

SELECT eventstore.create_projection('tap_cron_a', 'tapcron', '{"*": [{"increment": "n", "by": 1}]}', mode => 'async');
SELECT eventstore.create_projection('tap_cron_b', 'tapcron', '{"*": [{"increment": "m", "by": 1}]}', mode => 'async');
SELECT eventstore._partitions_upkeep();
SELECT results_eq(
    $$SELECT j.jobname, j.command, j.jobid IN (SELECT c.jobid FROM eventstore.cron_jobs c)
        FROM es_jobs j WHERE j.jobid <> $$ || :own_job || $$ ORDER BY 1$$,
    $$VALUES ('eventstore-partitions', 'SELECT eventstore.manage_partitions()', true),
             ('eventstore-projections', 'CALL eventstore.run_projections_loop(58)', true)$$,
    'two async projections and the partition upkeep schedule one job each, recorded');

CREATE SCHEMA tap_es_cron_scratch;
DROP SCHEMA tap_es_cron_scratch;
SELECT is((SELECT count(*) FROM es_jobs), 3::bigint, 'an unrelated DROP SCHEMA keeps them');

DROP EXTENSION eventstore;
SELECT results_eq('SELECT jobid FROM es_jobs', ARRAY[:own_job::bigint],
                  'DROP EXTENSION eventstore removes both; the user''s job with the projections command stays');

CREATE EXTENSION eventstore;
SELECT results_eq('SELECT jobid FROM es_jobs', ARRAY[:own_job::bigint],
                  'created again, eventstore schedules nothing until it needs to');
SELECT eventstore.create_projection('tap_cron_a', 'tapcron', '{"*": [{"increment": "n", "by": 1}]}', mode => 'async');
SELECT is((SELECT count(*) FROM es_jobs WHERE jobname = 'eventstore-projections'), 1::bigint,
          'then schedules the projections job once');
DROP EXTENSION eventstore;

-- Updated from 0.1.0.
CREATE EXTENSION eventstore VERSION '0.1.0';
SELECT eventstore.create_projection('tap_cron_a', 'tapcron', '{"*": [{"increment": "n", "by": 1}]}', mode => 'async');
SELECT eventstore._partitions_upkeep();
SELECT is((SELECT count(*) FROM es_jobs WHERE jobid <> :own_job), 2::bigint, '0.1.0 scheduled its two jobs');
ALTER EXTENSION eventstore UPDATE TO '0.2.0';
SELECT results_eq(
    'SELECT jobid FROM eventstore.cron_jobs ORDER BY jobid',
    'SELECT jobid FROM es_jobs WHERE jobid <> ' || :own_job || ' ORDER BY jobid',
    'ALTER EXTENSION UPDATE records both, not the user''s');
DROP EXTENSION eventstore;
SELECT results_eq('SELECT jobid FROM es_jobs', ARRAY[:own_job::bigint],
                  'DROP EXTENSION of the updated eventstore removes them; the user''s stays');

SELECT * FROM finish();
ROLLBACK;
