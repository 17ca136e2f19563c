#!/usr/bin/env bash
# analytics: the 30-day dashboard, raw events against series(), side by side.
#
#   bash test/bench/analytics_dashboard.sh          on the test cluster (port 55415)
#   bash test/bench/analytics_dashboard.sh bench    on the bench cluster
#
# Environment: DASH_EVENTS=30000000 (events over 30 days), DASH_TAIL=20000
# (events not yet folded when the dashboards run), DASH_RAW_RUNS=10,
# DASH_SERIES_RUNS=200.
#
# One table made by analytics.create_events_table() (daily partitions, the
# case study's primary key), DASH_EVENTS events spread over the 30 days
# before today (20 event types, 1,000,000 users), loaded one day per
# transaction, then analytics.maintain() (folds everything into a rollup by
# event_type with distinct users, log2m 12, and indexes the settled
# partitions), then DASH_TAIL events of the last hour that no refresh has
# folded. The same dashboard question, events and unique users per day and
# event type over the 30 days up to now, asked three ways with pgbench
# (one client, -t runs, latencies from pgbench's per-transaction log):
#   raw       GROUP BY day, event_type with count(*), count(DISTINCT user_id)
#             over the raw events (exact, real time)
#   series    analytics.series(rollup, from, to, 'day') (daily level merged
#             with hll_union, plus the unfolded tail read from raw rows: real
#             time, unique users within the HLL's error)
#   textbook  the case study's dashboard query over its hourly table
#             (hll_union_agg of the hourly rows; not real time: the tail is
#             not in it), filled here by one statement over all rows
# Then the HLL error of series() against the exact counts, per group.
set -euo pipefail
NAME=analytics_dashboard
# shellcheck source=test/bench/analytics_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/analytics_common.sh" "$@"
EVENTS=${DASH_EVENTS:-30000000}
TAIL=${DASH_TAIL:-20000}
RAW_RUNS=${DASH_RAW_RUNS:-10}
SERIES_RUNS=${DASH_SERIES_RUNS:-200}
per_day=$(( EVENTS / 30 ))

q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT analytics.create_events_table('events', '1 day', '90 days', maintain_schedule => NULL);
SELECT partman.create_partition_time('public.events',
         ARRAY(SELECT generate_series(date_trunc('day', now(), 'UTC') - interval '31 days', now(), interval '1 day')));
SELECT analytics.create_rollup('dash', 'events', '{event_type}', 'user_id', refresh_schedule => NULL);
CREATE TABLE event_stats_hourly (hour timestamptz NOT NULL, event_type varchar(50) NOT NULL, count bigint DEFAULT 0,
    unique_users bigint DEFAULT 0, user_hll hll DEFAULT hll_empty(), PRIMARY KEY (hour, event_type));
SQL

echo "loading $EVENTS events over 30 days ($per_day a day) ..."
t0=$(date +%s)
for d in $(seq 30 -1 1); do
  q -v d="$d" -v n="$per_day" <<'SQL'
INSERT INTO events (event_time, event_type, user_id)
SELECT date_trunc('day', now(), 'UTC') - :d * interval '1 day' + (g::float8 / :n) * interval '1 day',
       'type_' || (g * 31 % 20), (g::bigint * 7919 + :d * 104729) % 1000000
  FROM generate_series(0, :n - 1) g;
SQL
done
t1=$(date +%s)
echo "loaded in $((t1 - t0)) s"
q -c "SELECT count(*) FROM analytics.maintain('events')" >/dev/null
t2=$(date +%s)
echo "maintain() (fold of every event, BRIN on settled partitions) in $((t2 - t1)) s"
q >/dev/null <<'SQL'
INSERT INTO event_stats_hourly (hour, event_type, count, unique_users, user_hll)
SELECT date_trunc('hour', event_time), event_type, count(*), count(DISTINCT user_id), hll_add_agg(hll_hash_bigint(user_id))
  FROM events GROUP BY 1, 2;
VACUUM ANALYZE;
SQL
# The tail: the last hour's events, committed, not folded.
q -v n="$TAIL" <<'SQL'
INSERT INTO events (event_time, event_type, user_id)
SELECT now() - (g::float8 / :n) * interval '1 hour', 'type_' || (g * 31 % 20), (g::bigint * 7919) % 1000000
  FROM generate_series(0, :n - 1) g;
SQL
q -c "SELECT batches_waiting FROM analytics.status WHERE name = 'dash'" | sed 's/^/batches waiting (unfolded): /'

FROM="date_trunc('day', now(), 'UTC') - interval '30 days'"
TO="now()"
cat > "$WORK/raw.sql" <<SQL
SELECT date_trunc('day', event_time, 'UTC') AS day, event_type, count(*) AS events, count(DISTINCT user_id) AS uniques
  FROM events WHERE event_time >= $FROM AND event_time < $TO GROUP BY 1, 2 ORDER BY 1, 2;
SQL
cat > "$WORK/series.sql" <<SQL
SELECT * FROM analytics.series('dash', $FROM, $TO, 'day');
SQL
cat > "$WORK/textbook.sql" <<SQL
SELECT date_trunc('day', hour, 'UTC') AS date, event_type, SUM(count) AS total_events,
       hll_cardinality(hll_union_agg(user_hll)) AS unique_users
  FROM event_stats_hourly WHERE hour >= $FROM GROUP BY 1, 2 ORDER BY 1, 2;
SQL

run() {  # name runs -> "name runs p50_ms p99_ms mean_ms"
  local name=$1 runs=$2
  (cd "$WORK" && "$PGBIN/pgbench" -n -c 1 -t "$runs" -f "$name.sql" -l --log-prefix="log_$name" "$DB" >/dev/null 2>&1) \
    || die "pgbench $name failed"
  cat "$WORK/log_$name".* | awk '{ print $3 / 1000.0 }' | sort -n |
    awk -v name="$name" '{ v[NR] = $1; s += $1 }
      END { p50 = v[int((NR + 1) / 2)]; i99 = int(NR * 0.99 + 0.999); if (i99 < 1) i99 = 1;
            printf "%-9s %5d runs  p50 %9.2f ms  p99 %9.2f ms  mean %9.2f ms\n", name, NR, p50, v[i99], s / NR }'
}
echo
echo "30-day daily dashboard, $EVENTS events + $TAIL unfolded (pgbench, 1 client):"
run series "$SERIES_RUNS"
run raw "$RAW_RUNS"
run textbook "$SERIES_RUNS"
echo
q <<SQL
WITH exact AS ($(sed 's/;$//' "$WORK/raw.sql")),
     s AS (SELECT bucket_start, dimensions ->> 'event_type' AS event_type, events, uniques
             FROM analytics.series('dash', $FROM, $TO, 'day'))
SELECT format('groups %s, events equal in %s, unique users: mean error %s %%, max %s %% (HLL log2m 12)',
              count(*), count(*) FILTER (WHERE s.events = e.events),
              round(avg(abs(s.uniques - e.uniques)::numeric / e.uniques) * 100, 2),
              round(max(abs(s.uniques - e.uniques)::numeric / e.uniques) * 100, 2))
  FROM exact e LEFT JOIN s ON s.bucket_start = e.day AND s.event_type = e.event_type;
SQL
