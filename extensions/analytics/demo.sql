-- analytics demo: case study 2's dashboard on its own events table. Each
-- workflow writes one row to casebook_demo.scoreboard: whether it held, and
-- the invariant checked.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.score(workflow text, ok boolean, invariant text, detail text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO casebook_demo.scoreboard (extension, workflow, ok, invariant, detail)
    VALUES ('analytics', workflow, coalesce(ok, false), invariant, detail)
$$;

CREATE EXTENSION IF NOT EXISTS hll;
CREATE EXTENSION IF NOT EXISTS tdigest;
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
CREATE EXTENSION IF NOT EXISTS analytics;
DROP SCHEMA IF EXISTS analytics_demo CASCADE;
CREATE SCHEMA analytics_demo;
CREATE TEMP VIEW today AS SELECT date_trunc('day', now(), 'UTC') AS d;

-- The case study's events table, made and tracked; a rollup of event types
-- with distinct users, the amount summed and the duration's percentiles.
SELECT analytics.create_events_table('analytics_demo.events', '1 day', '90 days') IS NOT NULL AS tracked;
-- No refresh job for this one (refresh_schedule => NULL): the demo counts
-- what each refresh() folds, and pg_cron would fold some of it first.
SELECT analytics.create_rollup('demo_traffic', 'analytics_demo.events', '{event_type}', 'user_id',
                               sums => '{amount}', percentiles => '{duration_ms}', refresh_schedule => NULL) AS rollup;
-- The textbook's hourly table, fed by its own rollup statement.
CREATE TABLE analytics_demo.event_stats_hourly (
    hour timestamptz NOT NULL, event_type varchar(50) NOT NULL, count bigint DEFAULT 0,
    unique_users bigint DEFAULT 0, user_hll hll DEFAULT hll_empty(), PRIMARY KEY (hour, event_type));
CREATE FUNCTION pg_temp.textbook_rollup(last_hour timestamptz, current_hour timestamptz) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO analytics_demo.event_stats_hourly (hour, event_type, count, unique_users, user_hll)
    SELECT date_trunc('hour', event_time), event_type, COUNT(*), COUNT(DISTINCT user_id),
           hll_add_agg(hll_hash_bigint(user_id))
      FROM analytics_demo.events
     WHERE event_time >= last_hour AND event_time < current_hour
     GROUP BY 1, 2
    ON CONFLICT (hour, event_type) DO UPDATE SET
        count = event_stats_hourly.count + EXCLUDED.count,
        unique_users = EXCLUDED.unique_users,
        user_hll = hll_union(event_stats_hourly.user_hll, EXCLUDED.user_hll)
$$;

-- A week of traffic: 50,000 events, 2,000 users.
INSERT INTO analytics_demo.events (event_time, event_type, user_id, properties)
SELECT (SELECT d FROM today) - interval '7 days' + (g % 10080) * interval '1 minute',
       (ARRAY['page_view', 'click', 'signup', 'purchase'])[1 + g % 4], (g * 7919) % 2000,
       jsonb_build_object('amount', CASE WHEN g % 4 = 3 THEN g % 200 END, 'duration_ms', (g * 37) % 3000)
  FROM generate_series(1, 50000) g;

-- 1. Both roll up yesterday's 10:00 hour. Then an event of that hour arrives
--    late, and a second batch of the hour's events comes in: the textbook's
--    window never sees the late one, and its upsert overwrites the hour's
--    unique users with the second batch's; refresh() counts both, merged.
SELECT pg_temp.textbook_rollup((SELECT d FROM today) - interval '1 day' + interval '10 hours',
                               (SELECT d FROM today) - interval '1 day' + interval '11 hours');
SELECT analytics.refresh('demo_traffic') > 0 AS folded;
INSERT INTO analytics_demo.events (event_time, event_type, user_id)
SELECT (SELECT d FROM today) - interval '1 day' + interval '10 hours 30 minutes', 'click', 100000 + g
  FROM generate_series(1, 40) g;
-- The textbook job moves on to the next hour; running the same hour again
-- would double its count.
SELECT pg_temp.textbook_rollup((SELECT d FROM today) - interval '1 day' + interval '11 hours',
                               (SELECT d FROM today) - interval '1 day' + interval '12 hours');
SELECT analytics.refresh('demo_traffic') AS folded_late \gset
SELECT (SELECT count FROM analytics_demo.event_stats_hourly
         WHERE hour = (SELECT d FROM today) - interval '1 day' + interval '10 hours' AND event_type = 'click') AS textbook_clicks,
       (SELECT events FROM analytics.series('demo_traffic', (SELECT d FROM today) - interval '1 day' + interval '10 hours',
                                            (SELECT d FROM today) - interval '1 day' + interval '11 hours', 'hour',
                                            '{"event_type": "click"}')) AS casebook_clicks,
       (SELECT count(*) FROM analytics_demo.events
         WHERE event_time >= (SELECT d FROM today) - interval '1 day' + interval '10 hours'
           AND event_time < (SELECT d FROM today) - interval '1 day' + interval '11 hours' AND event_type = 'click') AS exact_clicks \gset
SELECT pg_temp.score('late events: the textbook window loses them, refresh() folds them',
    :textbook_clicks < :exact_clicks AND :casebook_clicks = :exact_clicks AND :folded_late = 40,
    'an event of an hour already rolled up is counted by the next refresh(), exactly once; the textbook''s hourly row stays short',
    format('exact %s clicks, textbook %s, analytics %s (%s folded late)', :exact_clicks, :textbook_clicks,
           :casebook_clicks, :folded_late));

-- 2. The dashboard query of the case study (7 days, daily, per type, unique
--    users), through series(): the same counts as exact SQL over the raw
--    rows, unique users within the HLL's error.
CREATE TEMP TABLE exact_days AS
SELECT date_trunc('day', event_time, 'UTC') AS day, event_type, count(*) AS events, count(DISTINCT user_id) AS uniques
  FROM analytics_demo.events WHERE event_time >= (SELECT d FROM today) - interval '7 days' GROUP BY 1, 2;
SELECT count(*) AS groups, count(*) FILTER (WHERE s.events = e.events) AS exact_events,
       max(abs(s.uniques - e.uniques)::float8 / e.uniques) AS worst_unique_error
  FROM analytics.series('demo_traffic', (SELECT d FROM today) - interval '7 days', (SELECT d FROM today), 'day') s
  JOIN exact_days e ON e.day = s.bucket_start AND e.event_type = s.dimensions ->> 'event_type' \gset
SELECT pg_temp.score('the 7-day dashboard from rollups',
    :groups = 28 AND :exact_events = 28 AND :worst_unique_error < 0.05,
    'series(..., ''day''): every day and event type, event counts equal to COUNT(*) over the raw rows, unique users within 5 % (HLL, log2m 12)',
    format('%s of %s groups exact, worst unique-user error %s %%', :exact_events, :groups, round((:worst_unique_error * 100)::numeric, 2)));

-- 3. Real time: an event committed a moment ago is in the dashboard before
--    any refresh, and counted once after it.
INSERT INTO analytics_demo.events (event_time, event_type, user_id, properties)
VALUES (now(), 'purchase', 424242, '{"amount": 99}');
SELECT sum(events) AS before_refresh FROM analytics.series('demo_traffic', now() - interval '1 hour', now() + interval '1 hour',
                                                          'hour', '{"event_type": "purchase"}') \gset
SELECT analytics.refresh('demo_traffic') AS folded_now \gset
SELECT sum(events) AS after_refresh FROM analytics.series('demo_traffic', now() - interval '1 hour', now() + interval '1 hour',
                                                         'hour', '{"event_type": "purchase"}') \gset
SELECT pg_temp.score('series() is real time',
    :before_refresh = :after_refresh AND :folded_now = 1,
    'series() adds the rows not yet folded (read in the same snapshot as the rollups): the same answer before and after refresh()',
    format('%s purchases this hour before the refresh, %s after, %s folded', :before_refresh, :after_refresh, :folded_now));

-- 4. Bad input is refused with a documented SQLSTATE.
CREATE FUNCTION pg_temp.fails_with(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT pg_temp.fails_with($$SELECT * FROM analytics.series('demo_traffic', now(), now() - interval '1 day')$$) AS bad_range,
       pg_temp.fails_with($$SELECT * FROM analytics.series('demo_traffic', now() - interval '1 day', now(), 'minute')$$) AS bad_bucket,
       pg_temp.fails_with($$SELECT analytics.refresh('no_such_rollup')$$) AS bad_name \gset
SELECT pg_temp.score('bad input is refused',
    :'bad_range' = 'KB509' AND :'bad_bucket' = 'KB508' AND :'bad_name' = 'KB505',
    'from after to: KB509; a bucket finer than the hourly level: KB508; an unknown rollup: KB505',
    format('range %s, bucket %s, name %s', :'bad_range', :'bad_bucket', :'bad_name'));

-- 5. The pg_cron jobs: create_rollup() schedules the rollup's refresh every
--    minute and track() the table's daily upkeep, as the calling role; the
--    status view shows them; drop_rollup() and untrack() remove them.
SELECT analytics.create_rollup('demo_by_minute', 'analytics_demo.events', '{event_type}') AS rollup;
SELECT refresh_job, refresh_schedule, refresh_active, maintain_job, maintain_schedule
  FROM analytics.status WHERE name = 'demo_by_minute' \gset
SELECT count(*) AS jobs_before FROM cron.job
 WHERE command IN ('SELECT analytics.refresh(''demo_by_minute'')',
                   format('SELECT analytics.maintain(%s::regclass)', 'analytics_demo.events'::regclass::oid)) \gset
SELECT analytics.drop_rollup('demo_by_minute');
SELECT analytics.untrack('analytics_demo.events');
SELECT count(*) AS jobs_after FROM cron.job WHERE jobname LIKE 'analytics-%' AND username = current_user \gset
SELECT pg_temp.score('refresh and upkeep run on pg_cron',
    :jobs_before = 2 AND :'refresh_schedule' = '* * * * *' AND :'refresh_active' = 't' AND :jobs_after = 0,
    'create_rollup() schedules refresh() every minute, track() maintain() daily; the status view shows both; drop_rollup() and untrack() remove them',
    format('%s (%s) and %s (%s) scheduled, %s left after untrack()', :'refresh_job', :'refresh_schedule',
           :'maintain_job', :'maintain_schedule', :jobs_after));


DROP SCHEMA analytics_demo CASCADE;
