#!/usr/bin/env bash
# analytics: draws docs/img/analytics-series.png, a dashboard series read
# through analytics.series().
#
#   bash test/bench/analytics_chart.sh       on the test cluster (port 55415)
#
# A week of generated traffic with a daily rhythm (four event types,
# 20,000 users) goes into a table made by analytics.create_events_table();
# a rollup by event_type with distinct users is refreshed, then a last hour
# of events arrives unfolded. The chart: events per hour and event type
# over the 7 days up to now (top), and unique users per day, from the HLL
# daily level, against exact COUNT(DISTINCT) over the raw rows (bottom).
# The series includes the unfolded last hour (series() reads it from the
# raw rows). Needs gnuplot.
set -euo pipefail
NAME=analytics_chart
# shellcheck source=test/bench/analytics_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/analytics_common.sh" test
OUT=${CHART_OUT:-$REPO/docs/img/analytics-series.png}
command -v gnuplot >/dev/null || die "gnuplot is not installed (apt-get install gnuplot-nox)"
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT analytics.create_events_table('events', '1 day', '90 days', maintain_schedule => NULL);
SELECT analytics.create_rollup('traffic', 'events', '{event_type}', 'user_id', refresh_schedule => NULL);
-- Traffic with a daily rhythm (quiet at 04:00 UTC, busy at 16:00), less
-- of it at the weekend: one row per minute and event type, repeated.
CREATE FUNCTION traffic(since timestamptz, until timestamptz) RETURNS bigint LANGUAGE sql AS $$
    WITH ins AS (
        INSERT INTO events (event_time, event_type, user_id)
        SELECT t, ty, (g * 7919 + m * 104729) % 20000
          FROM generate_series(since, until - interval '1 minute', interval '1 minute') WITH ORDINALITY AS s(t, m),
               LATERAL (VALUES ('page_view', 12), ('click', 6), ('purchase', 2), ('signup', 1)) AS v(ty, weight),
               LATERAL generate_series(1, greatest(1, round(weight * (1.2 + sin(pi() * (extract(hour FROM t) - 10) / 12))
                                                     * CASE WHEN extract(isodow FROM t) > 5 THEN 0.7 ELSE 1 END)::int)) AS g
        RETURNING 1)
    SELECT count(*) FROM ins
$$;
SELECT traffic(date_trunc('hour', now()) - interval '7 days', date_trunc('hour', now()));
SELECT analytics.refresh('traffic');
-- The current hour so far: committed, not folded.
SELECT traffic(date_trunc('hour', now()), now());
SQL
tail_start=$(q -c "SELECT to_char(date_trunc('hour', now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI')")
tail_end=$(q -c "SELECT to_char((date_trunc('hour', now()) + interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI')")

q -F " " > "$WORK/hourly.dat" <<'SQL'
SELECT dimensions ->> 'event_type', to_char(bucket_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI'), events
  FROM analytics.series('traffic', date_trunc('hour', now()) - interval '7 days', now(), 'hour')
 ORDER BY 1, 2;
SQL
q -F " " > "$WORK/daily.dat" <<'SQL'
SELECT to_char(s.bucket_start AT TIME ZONE 'UTC', 'YYYY-MM-DD'), sum(s.uniques),
       (SELECT count(DISTINCT user_id) FROM events e WHERE e.event_time >= s.bucket_start
           AND e.event_time < s.bucket_start + interval '1 day' AND e.event_type = 'page_view')
  FROM analytics.series('traffic', date_trunc('hour', now()) - interval '7 days', now(), 'day', '{"event_type": "page_view"}') s
 GROUP BY s.bucket_start ORDER BY 1;
SQL
# One data block per event type for gnuplot (blank lines between them).
awk 'NR > 1 && $1 != prev { print ""; print "" } { print; prev = $1 }' "$WORK/hourly.dat" > "$WORK/hourly.blocks"
types=$(cut -d' ' -f1 "$WORK/hourly.dat" | uniq | tr '\n' ' ')

mkdir -p "$(dirname "$OUT")"
gnuplot <<GP
set terminal pngcairo size 1100,760 font "DejaVu Sans,10" noenhanced
set output "$OUT"
set multiplot layout 2,1 title "analytics.series(): 7 days of events, the last hour not yet folded (read from raw rows)"
set xdata time
set timefmt "%Y-%m-%dT%H:%M"
set format x "%a %d\n%H:%M"
set grid
set key outside right
set ylabel "events per hour"
set title "series('traffic', now() - 7 days, now(), 'hour'): events per event_type"
types = "$types"
set object 1 rect from "$tail_start", graph 0 to "$tail_end", graph 1 fillcolor rgb "#ffe9a8" fillstyle solid 0.8 noborder behind
set label 1 "not yet folded:\nread from raw rows" at "$tail_start", graph 0.93 right offset -0.5,0 font ",9"
plot for [i=0:words(types)-1] "$WORK/hourly.blocks" index i using 2:3 with lines lw 1.5 title word(types, i+1)
set timefmt "%Y-%m-%d"
set format x "%a %d"
set ylabel "unique users"
unset object 1
unset label 1
set title "page_view: unique users per day, HLL (series, 'day') against exact COUNT(DISTINCT)"
set style fill solid 0.4
set boxwidth 0.35 relative
set yrange [0:*]
plot "$WORK/daily.dat" using (timecolumn(1) - 9000):2 with boxes title "series() uniques (HLL, log2m 12)", \
     "$WORK/daily.dat" using (timecolumn(1) + 9000):3 with boxes title "exact COUNT(DISTINCT user_id)"
unset multiplot
GP
echo "wrote ${OUT#"$REPO"/}"
awk '{ printf "%s  HLL %s  exact %s  error %.2f %%\n", $1, $2, $3, ($2 - $3) * 100 / $3 }' "$WORK/daily.dat"
