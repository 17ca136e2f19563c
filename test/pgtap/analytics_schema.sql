-- analytics: schema shape and privileges. The registry tables and the
-- status view, row security on the registry, which functions run as their
-- owner (event triggers only) and which pin search_path, the event triggers,
-- and attacks of a plain role on another role's tracked table, rollup and
-- jobs (each attempted, then checked to have failed). Everything runs in one
-- transaction and rolls back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET LOCAL client_min_messages = warning;
DROP EXTENSION IF EXISTS analytics CASCADE;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
CREATE EXTENSION analytics CASCADE;   -- hll, tdigest
RESET client_min_messages;

SELECT plan(32);

-------------------------------------------------------------------------------
-- Shape
-------------------------------------------------------------------------------
SELECT is((SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'analytics'), '0.2.0',
          'analytics is installed at version 0.2.0');
SELECT results_eq(
    $$SELECT r.extname::text COLLATE "default" FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.objid
        JOIN pg_catalog.pg_extension r ON r.oid = d.refobjid
       WHERE d.classid = 'pg_catalog.pg_extension'::regclass AND e.extname = 'analytics' AND d.deptype = 'n'
       ORDER BY 1$$,
    ARRAY['hll', 'tdigest'], 'analytics requires hll and tdigest (pg_partman and pg_cron are found at run time)');
SELECT tables_are('analytics', ARRAY['tracked', 'rollups', 'cron_jobs'],
                  'the registry: tracked tables, rollups, and the pg_cron jobs scheduled');
SELECT views_are('analytics', ARRAY['status'], 'one view: status');
SELECT columns_are('analytics', 'tracked',
    ARRAY['source', 'time_column', 'batch_sequence', 'partition_interval', 'retention', 'partman_parent', 'owner', 'tracked_at'],
    'tracked has its columns');
SELECT columns_are('analytics', 'rollups',
    ARRAY['name', 'source', 'dimensions', 'distinct_column', 'sums', 'percentiles', 'hll_log2m', 'hourly', 'daily',
          'watermark', 'refreshed_at', 'events_folded', 'owner', 'created_at', 'fold_sql'],
    'rollups has its columns');
SELECT columns_are('analytics', 'status',
    ARRAY['name', 'source', 'watermark', 'batches_waiting', 'refreshed_at', 'lag', 'events_folded', 'strays',
          'refresh_job', 'refresh_schedule', 'refresh_active', 'refresh_last_run', 'refresh_last_status',
          'maintain_job', 'maintain_schedule', 'maintain_active', 'maintain_last_run', 'maintain_last_status'],
    'status shows the fold, the lag, the strays and both jobs');
SELECT fk_ok('analytics', 'rollups', 'source', 'analytics', 'tracked', 'source', 'a rollup belongs to a tracked table');
SELECT results_eq(
    $$SELECT c.relname::text COLLATE "default" FROM pg_catalog.pg_class c
       WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind = 'r' AND c.relrowsecurity ORDER BY 1$$,
    ARRAY['cron_jobs', 'rollups', 'tracked'], 'row security is on for the three registry tables');
SELECT results_eq(
    $$SELECT (tablename::text || ' ' || policyname::text || ' ' || cmd) COLLATE "default" FROM pg_catalog.pg_policies
       WHERE schemaname = 'analytics' ORDER BY 1$$,
    ARRAY['cron_jobs own_jobs ALL', 'rollups own_rollups ALL', 'rollups readers SELECT',
          'tracked own_tables ALL', 'tracked readers SELECT'],
    'owners change their rows; readers of a rollup''s tables only read');

-------------------------------------------------------------------------------
-- Functions and event triggers
-------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT p.proname::text COLLATE "default" FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'analytics'::regnamespace AND p.prosecdef ORDER BY 1$$,
    ARRAY['_cron_park', '_cron_restore', '_on_alter_table', '_on_sql_drop'],
    'only the event trigger functions run as their owner');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'analytics'::regnamespace AND p.prosecdef AND p.prorettype <> 'event_trigger'::regtype$$,
    'and each of them is an event trigger function (not callable from SQL)');
SELECT results_eq(
    $$SELECT p.proname::text COLLATE "default" FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'analytics'::regnamespace AND p.prolang <> (SELECT oid FROM pg_catalog.pg_language WHERE lanname = 'c')
         AND (p.proconfig IS NULL OR NOT 'search_path=pg_catalog, pg_temp' = ANY (p.proconfig))
       ORDER BY 1$$,
    ARRAY['_index_settled_partitions', '_partman', 'create_events_table', 'maintain', 'track', 'untrack'],
    'every SQL function pins search_path, but the six that call pg_partman (it resets search_path at session level; they qualify every name)');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'analytics'::regnamespace AND p.prosecdef
         AND NOT 'search_path=pg_catalog, pg_temp' = ANY (coalesce(p.proconfig, '{}'))$$,
    'the SECURITY DEFINER functions pin search_path');
SELECT results_eq(
    $$SELECT (evtname::text || ' ' || evtevent::text || ' ' || coalesce(array_to_string(evttags, ','), '-') || ' ' || evtenabled::text) COLLATE "default"
        FROM pg_catalog.pg_event_trigger WHERE evtname LIKE 'analytics%' ORDER BY 1$$,
    ARRAY['analytics_alter_table ddl_command_end ALTER TABLE O',
          'analytics_cron_park ddl_command_start DROP EXTENSION,DROP SCHEMA,DROP OWNED A',
          'analytics_cron_restore ddl_command_end DROP EXTENSION,DROP SCHEMA,DROP OWNED A',
          'analytics_sql_drop sql_drop - O'],
    'four event triggers: renames, drops, and the pg_cron jobs on DROP');
SELECT ok(has_table_privilege('public', 'analytics.status', 'SELECT'), 'the status view is readable by every role');

-------------------------------------------------------------------------------
-- Attacks of a plain role on another role's analytics
-------------------------------------------------------------------------------
CREATE SCHEMA tap_victim;
SELECT analytics.create_events_table('tap_victim.events') IS NOT NULL AS tracked \gset
SELECT analytics.create_rollup('tap_victim_r', 'tap_victim.events', '{event_type}', 'user_id') IS NOT NULL AS made \gset
INSERT INTO tap_victim.events (event_time, event_type, user_id) VALUES (now(), 'click', 1);
SELECT analytics.refresh('tap_victim_r') AS folded \gset
CREATE TEMP TABLE victim_before AS
SELECT (SELECT row_to_json(r)::text FROM analytics.rollups r WHERE name = 'tap_victim_r') AS rollup,
       (SELECT row_to_json(p)::text FROM partman.part_config p WHERE parent_table = 'tap_victim.events') AS partman,
       (SELECT count(*) FROM cron.job WHERE jobname LIKE 'analytics-%') AS jobs;

SELECT current_user AS victim \gset
CREATE ROLE tap_an_attacker;
CREATE SCHEMA tap_attacker AUTHORIZATION tap_an_attacker;
GRANT USAGE ON SCHEMA cron TO tap_an_attacker;
SET ROLE tap_an_attacker;
CREATE TABLE tap_attacker.ev (event_time timestamptz NOT NULL) PARTITION BY RANGE (event_time);
CREATE SEQUENCE tap_attacker.s;

SELECT throws_ok($$SELECT analytics.refresh('tap_victim_r')$$, 'KB505', NULL,
                 'refresh() of another role''s rollup: unknown to it (KB505)');
SELECT throws_ok($$SELECT * FROM analytics.series('tap_victim_r', now() - interval '1 day', now())$$, 'KB505', NULL,
                 'series() of it without SELECT on its tables: KB505');
SELECT throws_ok($$SELECT analytics.create_rollup('tap_steal', 'tap_victim.events', '{event_type}')$$, '42501', NULL,
                 'a rollup over another role''s table in a schema it may not use: refused (42501)');
SELECT throws_ok($$INSERT INTO analytics.rollups (name, source, dimensions, sums, percentiles, hll_log2m, hourly, daily)
                   VALUES ('tap_forged', 'tap_victim.events', '{}', '{}', '{}', 12, 'tap_attacker.ev', 'tap_attacker.ev')$$,
                 '42501', NULL, 'a forged rollup row over another role''s table: refused by row security');
SELECT throws_ok(format($$INSERT INTO analytics.cron_jobs (jobid, jobname, username)
                          SELECT jobid, jobname, %L FROM (VALUES (1::bigint, 'analytics-refresh tap_victim_r')) v(jobid, jobname)$$,
                        current_user::text || '_not'),
                 '42501', NULL, 'recording a job under another role''s name: refused by row security');
SELECT is(analytics._unschedule_job('analytics-refresh tap_victim_r', :'victim'), false,
          'the unschedule helper finds no job of another role''s to remove');
-- A registry row of its own table that claims the victim's pg_partman
-- configuration, then a rename that would make the rename trigger move it.
INSERT INTO analytics.tracked (source, time_column, batch_sequence, partition_interval, partman_parent)
VALUES ('tap_attacker.ev', 'event_time', 'tap_attacker.s', '1 day', 'tap_victim.events');
ALTER TABLE tap_attacker.ev RENAME TO ev2;
SELECT lives_ok($$SELECT analytics._partman('SELECT 1')$$, 'the pg_partman helper runs as the caller');
SELECT throws_ok($$SELECT analytics._partman('ALTER ROLE tap_an_attacker SUPERUSER')$$, '42501', NULL,
                 'and gives it nothing it did not have');
RESET ROLE;

-- The attacker's own rollup, its registry row (fold_sql included) and its
-- rollup table are its to write: a forged fold statement and a trigger on
-- its hourly table, waiting for a superuser to refresh or maintain.
GRANT ALL ON SCHEMA partman TO tap_an_attacker;
GRANT ALL ON ALL TABLES IN SCHEMA partman TO tap_an_attacker;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO tap_an_attacker;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO tap_an_attacker;
SET ROLE tap_an_attacker;
SELECT analytics.create_events_table('tap_attacker.ev3', maintain_schedule => NULL) IS NOT NULL AS tracked3 \gset
SELECT analytics.create_rollup('tap_evil_sql', 'tap_attacker.ev3', '{event_type}', refresh_schedule => NULL) IS NOT NULL AS m1 \gset
SELECT analytics.create_rollup('tap_evil_trg', 'tap_attacker.ev3', '{event_type}', refresh_schedule => NULL) IS NOT NULL AS m2 \gset
INSERT INTO tap_attacker.ev3 (event_time, event_type, user_id) VALUES (now(), 'x', 1);
UPDATE analytics.rollups SET fold_sql = 'SELECT count(*)::bigint FROM pg_catalog.pg_authid' WHERE name = 'tap_evil_sql';
CREATE FUNCTION tap_attacker.escalate() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    ALTER ROLE tap_an_attacker SUPERUSER;
    RETURN NEW;
END
$f$;
CREATE TRIGGER escalate BEFORE INSERT ON tap_attacker.tap_evil_trg_hourly FOR EACH ROW EXECUTE FUNCTION tap_attacker.escalate();
RESET ROLE;
SELECT throws_ok($$SELECT analytics.refresh('tap_evil_sql')$$, '42501', NULL,
                 'a superuser''s refresh() runs a forged fold statement with the owner''s rights only (pg_authid refused)');
SELECT throws_ok($$SELECT analytics.refresh('tap_evil_trg')$$, '42501', NULL,
                 'a superuser''s refresh() fires the owner''s trigger with the owner''s rights only (ALTER ROLE refused)');
SELECT throws_ok($$SELECT * FROM analytics.maintain('tap_attacker.ev3')$$, '42501', NULL,
                 'and so does a superuser''s maintain()');
-- series() runs as its caller: a registry row pointing at a view (whose
-- function would run as the caller) is refused.
SET ROLE tap_an_attacker;
CREATE FUNCTION tap_attacker.peek() RETURNS bigint LANGUAGE plpgsql AS $f$
BEGIN
    ALTER ROLE tap_an_attacker SUPERUSER;
    RETURN 1;
END
$f$;
CREATE VIEW tap_attacker.fake_daily AS
SELECT bucket, event_type, events + tap_attacker.peek() AS events FROM tap_attacker.tap_evil_sql_daily;
UPDATE analytics.rollups SET daily = 'tap_attacker.fake_daily' WHERE name = 'tap_evil_sql';
RESET ROLE;
SELECT throws_ok($$SELECT * FROM analytics.series('tap_evil_sql', now() - interval '2 days', now(), 'day')$$, 'KB511', NULL,
                 'series() by a superuser of a rollup whose row names a view: refused (KB511)');
SELECT is((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'tap_an_attacker'), false,
          'the attacker did not become superuser');

SELECT results_eq(
    $$SELECT (SELECT row_to_json(r)::text FROM analytics.rollups r WHERE name = 'tap_victim_r'),
             (SELECT row_to_json(p)::text FROM partman.part_config p WHERE parent_table = 'tap_victim.events'),
             (SELECT count(*) FROM cron.job WHERE jobname LIKE 'analytics-%')$$,
    'SELECT rollup, partman, jobs FROM victim_before',
    'after every attack the victim''s rollup row, pg_partman configuration and jobs are as they were');
SELECT is((SELECT count(*) FROM partman.part_config WHERE parent_table = 'tap_attacker.ev2'), 0::bigint,
          'no pg_partman configuration was moved to the attacker''s table');
SELECT is((SELECT count(*) FROM analytics.rollups WHERE name = 'tap_forged'), 0::bigint, 'no forged rollup');

SELECT * FROM finish();
ROLLBACK;
