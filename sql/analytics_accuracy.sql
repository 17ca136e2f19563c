-- analytics: how close the estimates are. HLL unique counts against exact
-- COUNT(DISTINCT) per day and event type, at three precisions (the error
-- printed, and checked against 3 standard errors, 1.04 / sqrt(2^log2m));
-- t-digest percentiles against exact percentile_cont (error in % of the
-- value range). Fixed data: the estimates are deterministic.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS acc CASCADE;
CREATE EXTENSION IF NOT EXISTS hll;
CREATE EXTENSION IF NOT EXISTS tdigest;
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
CREATE EXTENSION IF NOT EXISTS analytics;
RESET client_min_messages;
CREATE SCHEMA acc;
CREATE TEMP VIEW today AS SELECT date_trunc('day', now(), 'UTC') AS d;
SELECT analytics.create_events_table('acc.events', '1 day', '30 days') IS NOT NULL AS tracked;
-- 3 days x 4 types; users drawn from 1..200,000 (many repeats).
INSERT INTO acc.events (event_time, event_type, user_id, properties)
SELECT (SELECT d FROM today) - interval '2 days' + (g % 4320) * interval '1 minute',
       'type_' || (g % 4), (g::bigint * 2654435761) % 200000,
       jsonb_build_object('latency', ((g::bigint * 40503) % 10007) / 10.0)
  FROM generate_series(1, 300000) g;
SELECT analytics.create_rollup('acc_' || p, 'acc.events', '{event_type}', 'user_id', percentiles => '{latency}',
                               hll_log2m => p) AS rollup
  FROM unnest(ARRAY[10, 12, 14]) p;
SELECT name, analytics.refresh(name) AS folded FROM analytics.rollups WHERE name LIKE 'acc\_%' ORDER BY 1;

CREATE TEMP TABLE exact AS
SELECT date_trunc('day', event_time, 'UTC') AS day, event_type, count(DISTINCT user_id) AS uniques,
       percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY (properties ->> 'latency')::float8) AS pct
  FROM acc.events GROUP BY 1, 2;

-- Unique counts: mean and max relative error per precision.
SELECT p AS log2m, round((1.04 / sqrt(2 ^ p) * 100)::numeric, 2) AS standard_error_pct,
       round(avg(abs(s.uniques - e.uniques)::numeric / e.uniques) * 100, 2) AS mean_error_pct,
       round(max(abs(s.uniques - e.uniques)::numeric / e.uniques) * 100, 2) AS max_error_pct,
       max(abs(s.uniques - e.uniques)::float8 / e.uniques) < 3 * 1.04 / sqrt(2 ^ p) AS within_3_standard_errors
  FROM unnest(ARRAY[10, 12, 14]) p,
       LATERAL analytics.series('acc_' || p, (SELECT d FROM today) - interval '2 days', (SELECT d FROM today) + interval '1 day', 'day') s
  JOIN exact e ON e.day = s.bucket_start AND e.event_type = s.dimensions ->> 'event_type'
 GROUP BY p ORDER BY p;

-- Percentiles (the value range is 0 to 1000.6): max error in % of the range.
-- (t-digest's result depends on the order it sees the values in: only the
-- bound is printed; docs/analytics.md has the errors of one run.)
SELECT q AS percentile,
       max(abs((s.percentiles #>> ARRAY['latency', q])::float8 - e.pct[i])) / 1000.6 < 0.01 AS within_1_pct
  FROM unnest(ARRAY['p50', 'p90', 'p99']) WITH ORDINALITY u(q, i),
       analytics.series('acc_12', (SELECT d FROM today) - interval '2 days', (SELECT d FROM today) + interval '1 day', 'day') s
  JOIN exact e ON e.day = s.bucket_start AND e.event_type = s.dimensions ->> 'event_type'
 GROUP BY q, i ORDER BY i;

SET client_min_messages = warning;
SELECT analytics.untrack('acc.events');
DROP SCHEMA acc CASCADE;
