-- analytics and a DBA: a column, a CHECK and indexes added to a tracked
-- table (on the partitioned table, so on every partition, present and
-- future); then ingest, refresh and series keep their promises (every
-- committed row counted once, the tail included), a rollup over the new
-- column works, a row the CHECK refuses changes nothing, and every B-tree
-- index of the table and of the rollups passes amcheck (with the heap
-- check: every row indexed). A column a rollup uses dropped: refresh() and
-- series() fail with 42703 and nothing is folded.
\i sql/include/try.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS analytics CASCADE;
DROP SCHEMA IF EXISTS dba CASCADE;
CREATE EXTENSION IF NOT EXISTS amcheck;
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
CREATE EXTENSION analytics CASCADE;
RESET client_min_messages;
CREATE SCHEMA dba;
CREATE TEMP VIEW today AS SELECT date_trunc('day', now(), 'UTC') AS d;

SELECT analytics.create_events_table('dba.events') IS NOT NULL AS tracked;
SELECT analytics.create_rollup('dba_traffic', 'dba.events', '{event_type}', 'user_id',
                               sums => '{amount}', percentiles => '{ms}') AS rollup;
INSERT INTO dba.events (event_time, event_type, user_id, properties)
SELECT (SELECT d FROM today) - interval '2 days' + (g % 2880) * interval '1 minute', 'type_' || g % 3, g % 500,
       jsonb_build_object('amount', g % 7, 'ms', g % 1000)
  FROM generate_series(1, 6000) g;
SELECT analytics.refresh('dba_traffic') AS folded;

-- The DBA's changes.
ALTER TABLE dba.events ADD COLUMN country text NOT NULL DEFAULT 'nl';
ALTER TABLE dba.events ADD CONSTRAINT user_id_not_negative CHECK (user_id >= 0);
CREATE INDEX events_user_idx ON dba.events (user_id);
CREATE INDEX events_properties_idx ON dba.events USING gin (properties);
CREATE INDEX events_type_time_idx ON dba.events (event_type, event_time DESC);

-- Ingest goes on: late rows, current rows, a COPY; a row the CHECK refuses
-- changes nothing (its whole statement is refused).
INSERT INTO dba.events (event_time, event_type, user_id, properties, country)
SELECT (SELECT d FROM today) - interval '2 days' + (g % 2880) * interval '1 minute', 'type_' || g % 3, g % 700,
       jsonb_build_object('amount', g % 5, 'ms', g % 900), CASE WHEN g % 2 = 0 THEN 'de' ELSE 'fr' END
  FROM generate_series(1, 3000) g;
SELECT pg_temp.try($$INSERT INTO dba.events (event_time, event_type, user_id, properties)
                     VALUES ('2000-01-01', 'type_0', 1, '{}'), ('2000-01-01', 'type_0', -1, '{}')$$);
COPY dba.events (event_time, event_type, user_id, properties) FROM STDIN;
2000-01-01 00:00:00+00	type_1	42	{"amount": 3}
\.
SELECT count(*) AS refused_row_absent FROM dba.events WHERE user_id < 0;

-- series() before the refresh (with the tail) and after it: both equal to
-- exact SQL over the raw rows.
CREATE TEMP TABLE exact AS
SELECT date_trunc('day', event_time, 'UTC') AS day, event_type, count(*) AS events,
       sum((properties ->> 'amount')::numeric) AS amount
  FROM dba.events WHERE event_time >= (SELECT d FROM today) - interval '3 days' GROUP BY 1, 2;
CREATE FUNCTION pg_temp.matches() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s groups, %s with exact events and sums', count(*),
                  count(*) FILTER (WHERE s.events = e.events AND (s.sums ->> 'amount')::numeric IS NOT DISTINCT FROM e.amount))
      FROM exact e
      LEFT JOIN analytics.series('dba_traffic', (SELECT d FROM today) - interval '3 days', now() + interval '1 hour', 'day') s
        ON s.bucket_start = e.day AND s.dimensions ->> 'event_type' = e.event_type
$$;
SELECT pg_temp.matches() AS before_refresh;
SELECT analytics.refresh('dba_traffic') AS folded;
SELECT pg_temp.matches() AS after_refresh;

-- A rollup over the column the DBA added.
SELECT analytics.create_rollup('dba_by_country', 'dba.events', '{country}', refresh_schedule => NULL) AS rollup;
SELECT analytics.refresh('dba_by_country') AS folded;
SELECT dimensions ->> 'country' AS country, sum(events) AS events
  FROM analytics.series('dba_by_country', '2000-01-01', now() + interval '1 hour', 'week')
 GROUP BY 1 ORDER BY 1;

-- amcheck: every B-tree index of the events partitions and of the rollup
-- tables, with heapallindexed.
SELECT count(*) AS btree_indexes_checked
  FROM pg_index x
  JOIN pg_class c ON c.oid = x.indexrelid
  JOIN pg_am a ON a.oid = c.relam AND a.amname = 'btree'
  CROSS JOIN LATERAL (SELECT bt_index_check(x.indexrelid, true)) chk
 WHERE c.relkind = 'i'
   AND x.indrelid IN (SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = 'dba.events'::regclass
                      UNION ALL SELECT 'dba.dba_traffic_hourly'::regclass UNION ALL SELECT 'dba.dba_traffic_daily'::regclass
                      UNION ALL SELECT 'dba.dba_by_country_hourly'::regclass UNION ALL SELECT 'dba.dba_by_country_daily'::regclass);

-- A column a rollup uses dropped: refresh() and series() say which, and
-- nothing is folded.
ALTER TABLE dba.events DROP COLUMN country;
INSERT INTO dba.events (event_time, event_type, user_id) VALUES (now(), 'type_2', 7);
SELECT watermark AS watermark_before FROM analytics.rollups WHERE name = 'dba_by_country' \gset
SELECT pg_temp.try($$SELECT analytics.refresh('dba_by_country')$$);
SELECT pg_temp.try($$SELECT count(*) FROM analytics.series('dba_by_country', now() - interval '1 day', now())$$);
SELECT watermark = :watermark_before AS nothing_folded FROM analytics.rollups WHERE name = 'dba_by_country';
SELECT analytics.drop_rollup('dba_by_country');
SELECT analytics.refresh('dba_traffic') AS folded;

-- Names with the characters format() and quoting care about: the fold
-- statement kept for refresh() is a format() template.
CREATE TABLE dba."ev%s" (event_time timestamptz NOT NULL, "ki%nd" text, uid bigint, properties jsonb)
    PARTITION BY RANGE (event_time);
SELECT analytics.track('dba."ev%s"') IS NOT NULL AS tracked;
SELECT analytics.create_rollup('dba_pct', 'dba."ev%s"', '{ki%nd}', 'uid', sums => '{a%b}', percentiles => '{c%1$s}',
                               refresh_schedule => NULL) AS rollup;
INSERT INTO dba."ev%s" VALUES (now(), 'x', 1, '{"a%b": 5, "c%1$s": 7}'), (now(), 'x', 2, '{"a%b": 6, "c%1$s": 9}');
SELECT analytics.refresh('dba_pct') AS folded;
SELECT dimensions, events, uniques, sums, percentiles -> 'c%1$s' ->> 'p50' AS p50
  FROM analytics.series('dba_pct', now() - interval '1 hour', now() + interval '1 hour');

SET client_min_messages = warning;
DROP SCHEMA dba CASCADE;
DROP EXTENSION analytics CASCADE;
