#!/usr/bin/env bash
# georoute: the cost of next_id(), region_of_id() and route() against a
# lookup-table baseline, in microseconds per call.
#
#   bash test/bench/georoute_ids.sh
#
# Starts the us region cluster (test/harness/regions.sh; port 55441), and
# stops it at the end. Environment: IDS_CALLS=200000 (calls per timing),
# IDS_RUNS=5 (timings per case, median reported).
#
# Each case is one SQL statement that makes IDS_CALLS calls in one
# backend (generate_series), timed by the server (EXPLAIN ANALYZE, no
# client round trips), minus the same statement with the call replaced by
# its argument (the loop's own cost):
#   next_id           georoute.next_id('eu')
#   sequence          nextval() of a plain sequence (what an id costs
#                     without the region in it)
#   region_of_id      georoute.region_of_id(id) of ids minted above
#   lookup            the baseline: the region of an id read from a table
#                     id -> region (1,000,000 rows, primary key), as an
#                     application without region-carrying ids would
#   route             georoute.route(id) (region and connection target)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REGIONS_SH="$REPO/test/harness/regions.sh"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
CALLS=${IDS_CALLS:-200000}
RUNS=${IDS_RUNS:-5}
trap 'bash "$REGIONS_SH" stop us >/dev/null 2>&1' EXIT
bash "$REGIONS_SH" start us >/dev/null
q() { (eval "$(bash "$REGIONS_SH" env us)"; "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d casebook "$@"); }
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION georoute CASCADE;
SELECT georoute.add_region('us', NULL, 'US', number => 1);
SELECT georoute.add_region('eu', NULL, 'EU', number => 2);
SELECT georoute.add_region('asia', NULL, 'APAC', number => 3);
CREATE SEQUENCE plain_ids;
CREATE TABLE minted AS SELECT g, georoute.next_id((ARRAY['us','eu','asia'])[1 + g % 3]) AS id
  FROM generate_series(1, 1000000) g;
CREATE UNIQUE INDEX ON minted (g);
-- The baseline's table: every id and its region.
CREATE TABLE id_regions (id bigint PRIMARY KEY, region text NOT NULL);
INSERT INTO id_regions SELECT id, georoute.region_of_id(id) FROM minted;
VACUUM ANALYZE;
SQL
# Server time of one statement, in ms.
timed() {
  q -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) $1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
case_us() {  # case_us NAME STATEMENT BASELINE-STATEMENT
  local t b
  : >/tmp/georoute_ids_t; : >/tmp/georoute_ids_b
  for _ in $(seq 1 "$RUNS"); do
    timed "$2" >>/tmp/georoute_ids_t
    timed "$3" >>/tmp/georoute_ids_b
  done
  t=$(median </tmp/georoute_ids_t); b=$(median </tmp/georoute_ids_b)
  printf '%-13s %8.3f us per call   (statement %.1f ms, loop alone %.1f ms, %d calls, median of %d)\n' \
    "$1" "$(echo "($t - $b) * 1000 / $CALLS" | bc -l)" "$t" "$b" "$CALLS" "$RUNS"
}
N=$CALLS
echo "georoute ids: $CALLS calls per statement, one backend, server time"
case_us next_id "SELECT count(georoute.next_id('eu')) FROM generate_series(1, $N) g" \
                "SELECT count('eu'::text) FROM generate_series(1, $N) g"
case_us sequence "SELECT count(nextval('plain_ids')) FROM generate_series(1, $N) g" \
                 "SELECT count('plain_ids'::text) FROM generate_series(1, $N) g"
case_us region_of_id "SELECT count(georoute.region_of_id(m.id)) FROM minted m WHERE m.g <= $N" \
                     "SELECT count(m.id) FROM minted m WHERE m.g <= $N"
case_us lookup "SELECT count((SELECT r.region FROM id_regions r WHERE r.id = m.id)) FROM minted m WHERE m.g <= $N" \
               "SELECT count(m.id) FROM minted m WHERE m.g <= $N"
case_us route "SELECT count((georoute.route(m.id)).region) FROM minted m WHERE m.g <= $N" \
              "SELECT count(m.id) FROM minted m WHERE m.g <= $N"
rm -f /tmp/georoute_ids_t /tmp/georoute_ids_b
