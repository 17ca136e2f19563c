-- analytics: track(), create_rollup(), refresh() and series() on the case
-- study's events: counts, distinct users (HLL), sums and percentiles
-- (t-digest) against exact SQL over the same rows; late rows; the not yet
-- folded tail; every error path with its SQLSTATE. Times are printed
-- relative to today (UTC) so the output does not depend on the date.
\i sql/include/try.psql
\i sql/include/try_ddl.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS analytics CASCADE;
DROP SCHEMA IF EXISTS an CASCADE;
DROP ROLE IF EXISTS an_other;
DROP ROLE IF EXISTS an_reader;
CREATE EXTENSION IF NOT EXISTS hll;
CREATE EXTENSION IF NOT EXISTS tdigest;
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
CREATE EXTENSION analytics;
RESET client_min_messages;
CREATE SCHEMA an;
SET TimeZone = 'Asia/Kolkata';   -- buckets are UTC whatever the session's zone
SHOW DateStyle;                  -- pg_regress's: analytics calls pg_partman under ISO
CREATE TEMP VIEW today AS SELECT date_trunc('day', now(), 'UTC') AS d;

SELECT analytics.create_events_table('an.events', '1 day', '30 days');
-- pg_partman's create_parent() sets the search_path back at session level:
-- the caller's is kept.
SHOW search_path;
SELECT count(*) > 4 AS partitions_made,
       count(*) FILTER (WHERE pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT') AS default_partition
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'an.events'::regclass;
SELECT source, time_column, partition_interval, retention FROM analytics.tracked;
\d an.events

SELECT analytics.create_rollup('clicks', 'an.events', '{event_type}', 'user_id', '{amount}', '{duration}');
\d an.clicks_hourly

-- 3 days of events: 3 types, 500 users, amount and duration in properties
-- (some events without them, one with a non-numeric amount).
INSERT INTO an.events (event_time, event_type, user_id, properties)
SELECT (SELECT d FROM today) - interval '2 days' + (g % 4320) * interval '1 minute',
       (ARRAY['view', 'click', 'buy'])[1 + g % 3], g % 500,
       CASE WHEN g % 10 = 0 THEN NULL
            WHEN g = 7 THEN '{"amount": "lots", "duration": 5}'
            ELSE jsonb_build_object('amount', g % 100, 'duration', (g * 37) % 1000) END
  FROM generate_series(1, 20000) g;
-- Every one of them in its day's partition (pg_partman made them right).
SELECT analytics._strays('an.events') AS strays_after_load;

CREATE TEMP TABLE exact AS
SELECT date_trunc('day', event_time, 'UTC') - (SELECT d FROM today) AS day, event_type,
       count(*) AS events, count(DISTINCT user_id) AS uniques,
       sum(CASE WHEN jsonb_typeof(properties -> 'amount') = 'number' THEN (properties ->> 'amount')::numeric END) AS amount,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY (properties ->> 'duration')::float8) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY (properties ->> 'duration')::float8) AS p99
  FROM an.events GROUP BY 1, 2;

-- Before any refresh, series() reads the rows as its tail: already exact.
SELECT bucket_start - (SELECT d FROM today) AS day, dimensions ->> 'event_type' AS type, s.events,
       s.events = e.events AS events_exact, abs(s.uniques - e.uniques)::float8 / e.uniques < 0.05 AS uniques_close,
       (s.sums ->> 'amount')::numeric = e.amount AS sums_exact
  FROM analytics.series('clicks', (SELECT d FROM today) - interval '2 days', (SELECT d FROM today) + interval '1 day', 'day') s
  JOIN exact e ON e.day = s.bucket_start - (SELECT d FROM today) AND e.event_type = s.dimensions ->> 'event_type'
 ORDER BY 1, 2;

SELECT analytics.refresh('clicks') AS folded;
SELECT analytics.refresh('clicks') AS folded_again;
SELECT name, watermark > 0 AS has_watermark, batches_waiting, events_folded FROM analytics.status;

-- After it: the same answers, now from the rollups; the daily level is the
-- merge of the hourly one.
SELECT bucket_start - (SELECT d FROM today) AS day, dimensions ->> 'event_type' AS type, s.events,
       s.events = e.events AS events_exact, abs(s.uniques - e.uniques)::float8 / e.uniques < 0.05 AS uniques_close,
       (s.sums ->> 'amount')::numeric = e.amount AS sums_exact,
       abs((s.percentiles #>> '{duration,p50}')::float8 - e.p50) < 20 AS p50_close,
       abs((s.percentiles #>> '{duration,p99}')::float8 - e.p99) < 20 AS p99_close
  FROM analytics.series('clicks', (SELECT d FROM today) - interval '2 days', (SELECT d FROM today) + interval '1 day', 'day') s
  JOIN exact e ON e.day = s.bucket_start - (SELECT d FROM today) AND e.event_type = s.dimensions ->> 'event_type'
 ORDER BY 1, 2;
SELECT (SELECT sum(events) FROM an.clicks_hourly) AS hourly_events, (SELECT sum(events) FROM an.clicks_daily) AS daily_events,
       (SELECT count(*) FROM an.events) AS raw_events;
SELECT count(*) AS hours, sum(events) AS events
  FROM analytics.series('clicks', (SELECT d FROM today) - interval '2 days', (SELECT d FROM today) + interval '1 day', 'hour',
                        '{"event_type": "buy"}');
SELECT sum(events) AS events_by_week
  FROM analytics.series('clicks', (SELECT d FROM today) - interval '2 days', (SELECT d FROM today) + interval '1 day', 'week');

-- A late event (two days old) and a new one: folded once by the next refresh.
INSERT INTO an.events (event_time, event_type, user_id, properties)
VALUES ((SELECT d FROM today) - interval '2 days' + interval '5 minutes', 'buy', 99999, '{"amount": 1000}'),
       (now(), 'buy', 99998, '{"amount": 1}');
SELECT sum(events) AS events_with_tail, sum((sums ->> 'amount')::numeric) AS amount_with_tail
  FROM analytics.series('clicks', (SELECT d FROM today) - interval '2 days', (SELECT d FROM today) + interval '1 day', 'day', '{"event_type": "buy"}');
SELECT analytics.refresh('clicks') AS folded;
SELECT sum(events) AS events_after, sum((sums ->> 'amount')::numeric) AS amount_after
  FROM analytics.series('clicks', (SELECT d FROM today) - interval '2 days', (SELECT d FROM today) + interval '1 day', 'day', '{"event_type": "buy"}');

-- Retention: a partition past the 30 days is dropped by maintain(), after
-- its rows were folded; the rollups keep them. An event older than every
-- partition is a stray in the default partition, reported.
SELECT analytics._partman($$SELECT partman.create_partition_time('an.events',
                                 ARRAY[date_trunc('day', now(), 'UTC') - interval '40 days' + interval '1 hour'])$$);
INSERT INTO an.events (event_time, event_type, user_id) VALUES
    ((SELECT d FROM today) - interval '40 days' + interval '1 hour', 'old', 1),
    ((SELECT d FROM today) - interval '400 days', 'stray', 2);
SELECT tracked_table, events_folded, strays FROM analytics.maintain('an.events');
SELECT count(*) AS old_raw_rows FROM an.events WHERE event_type = 'old';
SELECT dimensions ->> 'event_type' AS type, events
  FROM analytics.series('clicks', (SELECT d FROM today) - interval '40 days', (SELECT d FROM today) - interval '39 days', 'day');
SELECT name, strays FROM analytics.status;

-- Error paths: SQLSTATE and message, nothing changed.
CREATE TABLE an.plain (event_time timestamptz, x int);
SELECT pg_temp.try($$SELECT analytics.track('an.plain')$$);
SELECT pg_temp.try($$SELECT analytics.create_rollup('x', 'an.plain', '{x}')$$);
SELECT pg_temp.try($$SELECT analytics.refresh('nope')$$);
SELECT pg_temp.try($$SELECT count(*) FROM analytics.series('nope', now() - interval '1 day', now())$$);
SELECT pg_temp.try($$SELECT analytics.create_rollup('clicks', 'an.events', '{event_type}')$$);
SELECT pg_temp.try($$SELECT analytics.create_rollup('c2', 'an.events', '{colour}')$$);
SELECT pg_temp.try($$SELECT analytics.create_rollup('c2', 'an.events', '{event_type}', 'visitor')$$);
SELECT pg_temp.try($$SELECT analytics.create_rollup('c2', 'an.events', '{event_type}', sums => '{event_type}')$$);
SELECT pg_temp.try($$SELECT analytics.create_rollup('c2', 'an.events', '{properties}')$$);
SELECT pg_temp.try($$SELECT analytics.create_rollup('c2', 'an.events', '{event_type}', hll_log2m => 3)$$);
SELECT pg_temp.try($$SELECT analytics.create_rollup('c2', 'an.events', '{event_type}', hll_log2m => 18)$$);
SELECT pg_temp.try($$SELECT analytics.create_rollup('C2', 'an.events', '{event_type}')$$);
SELECT pg_temp.try($$SELECT count(*) FROM analytics.series('clicks', now(), now() - interval '1 day')$$);
SELECT pg_temp.try($$SELECT count(*) FROM analytics.series('clicks', NULL, now())$$);
SELECT pg_temp.try($$SELECT count(*) FROM analytics.series('clicks', now() - interval '1 day', now(), 'minute')$$);
SELECT pg_temp.try($$SELECT count(*) FROM analytics.series('clicks', now() - interval '1 day', now(), 'fortnight')$$);
SELECT pg_temp.try($$SELECT count(*) FROM analytics.series('clicks', now() - interval '1 day', now(), 'hour', '{"colour": "red"}')$$);
SELECT pg_temp.try($$SELECT count(*) FROM analytics.series('clicks', now() - interval '1 day', now(), 'hour', '[1]')$$);
SELECT pg_temp.try($$SELECT count(*) FROM analytics.series('clicks', '-infinity', now())$$);
CREATE SEQUENCE an.not_ours;
SELECT pg_temp.try($$SELECT analytics._batch('an.not_ours')$$);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.try($$SELECT analytics.refresh('clicks')$$);
ROLLBACK;
SELECT name FROM analytics.rollups ORDER BY 1;

-- Another role: sees no rollup of ours, cannot refresh it or move its
-- watermark.
CREATE ROLE an_other;
GRANT USAGE ON SCHEMA an TO an_other;
SET ROLE an_other;
SELECT count(*) AS rollups_seen FROM analytics.rollups;
SELECT pg_temp.try($$SELECT analytics.refresh('clicks')$$);
WITH u AS (UPDATE analytics.rollups SET watermark = 0 RETURNING 1) SELECT count(*) AS rows_changed FROM u;
SELECT pg_temp.try($$INSERT INTO analytics.tracked (source, time_column, batch_sequence, partition_interval)
                     VALUES ('an.events', 'event_time', 'an.not_ours', '1 day') RETURNING 1$$);
RESET ROLE;

-- A dashboard role, granted SELECT on the rollup's tables and the events
-- table: reads the series (the owner's answer) and the status; changes
-- nothing, upkeeps nothing.
CREATE ROLE an_reader;
GRANT USAGE ON SCHEMA an TO an_reader;
GRANT SELECT ON an.clicks_hourly, an.clicks_daily, an.events TO an_reader;
CREATE TEMP TABLE owner_series AS
SELECT * FROM analytics.series('clicks', now() - interval '3 days', now() + interval '1 day', 'day');
GRANT SELECT ON owner_series TO an_reader;
SET ROLE an_reader;
SELECT count(*) AS rows, count(*) FILTER (WHERE o IS NOT NULL) AS same_as_owner
  FROM analytics.series('clicks', now() - interval '3 days', now() + interval '1 day', 'day') s
  LEFT JOIN owner_series o USING (bucket_start, dimensions, events, uniques);
SELECT name, strays FROM analytics.status;
SELECT pg_temp.try($$SELECT analytics.refresh('clicks')$$);
SELECT pg_temp.try($$SELECT analytics.drop_rollup('clicks')$$);
SELECT pg_temp.try($$SELECT analytics.untrack('an.events')$$);
SELECT pg_temp.try($$SELECT count(*) FROM analytics.maintain('an.events')$$);
SELECT count(*) AS tables_maintained FROM analytics.maintain();
SELECT pg_temp.try($$SELECT analytics.create_rollup('stolen', 'an.events', '{event_type}')$$);
WITH u AS (UPDATE analytics.rollups SET watermark = 0 RETURNING 1) SELECT count(*) AS rows_changed FROM u;
WITH d AS (DELETE FROM analytics.tracked RETURNING 1) SELECT count(*) AS rows_deleted FROM d;
RESET ROLE;
DROP TABLE owner_series;
SELECT watermark > 0 AS watermark_kept FROM analytics.rollups WHERE name = 'clicks';

SELECT analytics.drop_rollup('clicks');
SELECT to_regclass('an.clicks_hourly') AS hourly_gone;
-- A tracked table dropped: the registry and pg_partman forget it.
SELECT analytics.create_events_table('an.dropped') IS NOT NULL AS tracked;
SELECT analytics.create_rollup('dropped_daily', 'an.dropped', '{event_type}') AS rollup;
DROP TABLE an.dropped;
SELECT (SELECT count(*) FROM analytics.tracked WHERE source::text LIKE '%dropped%') AS tracked_rows,
       (SELECT count(*) FROM analytics.rollups WHERE name = 'dropped_daily') AS rollup_rows,
       (SELECT count(*) FROM partman.part_config WHERE parent_table = 'an.dropped') AS partman_configs;
DROP TABLE an.dropped_daily_hourly, an.dropped_daily_daily;

-- untrack(): pg_partman forgets the table, _batch goes, the rows stay.
SELECT analytics.untrack('an.events');
SELECT count(*) AS partman_configs FROM partman.part_config WHERE parent_table = 'an.events';
SELECT count(*) AS batch_columns FROM pg_attribute WHERE attrelid = 'an.events'::regclass AND attname = '_batch';
SELECT count(*) > 0 AS rows_kept FROM an.events;
SET client_min_messages = warning;
DROP SCHEMA an CASCADE;
DROP EXTENSION analytics CASCADE;
DROP ROLE an_other;
DROP ROLE an_reader;
