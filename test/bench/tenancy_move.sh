#!/usr/bin/env bash
# tenancy.isolate() under load: how long the move of a whale takes, and the
# latency of a workload of 8 clients before and during it.
#
#   bash test/bench/tenancy_move.sh          on the test cluster (port 55415)
#   bash test/bench/tenancy_move.sh bench    on the bench cluster (port $BENCH_PORT, default 55416)
#
# The cluster must be running. Works in a scratch database and role of its
# own, dropped at the end. Environment: MOVE_SECONDS=40 (length of each run).
#
# Data: app.items (tenant_id, id, payload ~100 bytes, updates), PRIMARY KEY
# (tenant_id, id), PARTITION BY LIST (tenant_id) with a DEFAULT partition
# PARTITION BY HASH (tenant_id) in 8 partitions, tenancy.protect()ed:
# 999 tenants of 900 rows and one whale (tenant 1000) of 100,000 rows:
# 999,100 rows.
#
# Workload (pgbench -M prepared, 8 clients, 2 threads, as a role under row
# security; each transaction enters its tenant): 80% a small tenant's point
# read, 10% the whale's point read, 10% the whale's write (one INSERT, one
# UPDATE). Two runs of MOVE_SECONDS each:
#   1. no move (the baseline);
#   2. CALL tenancy.isolate(whale) started 5 s into the run.
# Reported per run and script: transactions, failed ones, p50/p99/max
# latency over the whole run and, for run 2, over the move's window (and
# the second after it), with when the slowest transaction ended; the
# move's own timings (isolate()'s DEBUG line); and the checks afterwards:
# every whale row (100,000 + the whale's committed inserts, as recorded in
# app.whale_writes, a table the move does not touch; the sum of `updates` =
# the whale's committed writes, each adds 1) in its new
# partition, none left in the default, each small tenant's 900 rows where
# they were, amcheck of every index, the guard, no failed transaction.
# Ends with "N passed, N failed" (make test runs it: test/tenancy/move_load.sh).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER_SH="$REPO/test/harness/cluster.sh"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
SECONDS_PER_RUN=${MOVE_SECONDS:-40}
die() { echo "tenancy_move: ERROR: $*" >&2; exit 1; }
[[ "$SECONDS_PER_RUN" =~ ^[1-9][0-9]*$ ]] && [ "$SECONDS_PER_RUN" -ge 15 ] || die "MOVE_SECONDS must be at least 15"

case "${1:-test}" in
  test)  ;;
  bench) export CASEBOOK_CLUSTER_NAME=bench CASEBOOK_PORT=${BENCH_PORT:-55416} ;;
  *)     die "usage: $0 [test|bench]" ;;
esac
bash "$CLUSTER_SH" status >/dev/null || die "the ${1:-test} cluster is not running (port ${CASEBOOK_PORT:-55415})"
eval "$(bash "$CLUSTER_SH" env)"

DB=tenancy_move_$$
APP=tenancy_move_app_$$
WORK=$(mktemp -d)
chmod 777 "$WORK"
psql_admin() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
  psql_admin -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  psql_admin -d postgres -c "DROP ROLE IF EXISTS $APP" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql_admin -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql_admin -d postgres -c "CREATE ROLE $APP LOGIN NOSUPERUSER NOBYPASSRLS" >/dev/null
psql_admin -d "$DB" -v app="$APP" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION tenancy;
CREATE EXTENSION amcheck;
CREATE SCHEMA app;
CREATE TABLE app.items (tenant_id uuid NOT NULL, id bigint NOT NULL, payload text NOT NULL,
                        updates integer NOT NULL DEFAULT 0, PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
CREATE TABLE app.items_shared PARTITION OF app.items DEFAULT PARTITION BY HASH (tenant_id);
DO $$ BEGIN
    FOR r IN 0..7 LOOP
        EXECUTE format('CREATE TABLE app.items_h%s PARTITION OF app.items_shared FOR VALUES WITH (MODULUS 8, REMAINDER %s)', r, r);
    END LOOP;
END $$;
INSERT INTO app.items SELECT md5(n::text)::uuid, k, left(repeat(md5((n * 100000 + k)::text), 4), 100)
  FROM generate_series(1, 999) n, generate_series(1, 900) k;
INSERT INTO app.items SELECT md5('1000')::uuid, k, left(repeat(md5((100000000 + k)::text), 4), 100)
  FROM generate_series(1, 100000) k;
CREATE SEQUENCE app.whale_ids START 1000001;
CREATE TABLE app.whale_writes (id bigint PRIMARY KEY);
SELECT tenancy.protect('app.items');
GRANT USAGE ON SCHEMA app TO :"app";
GRANT SELECT, INSERT, UPDATE ON app.items TO :"app";
GRANT INSERT ON app.whale_writes TO :"app";
GRANT USAGE ON SEQUENCE app.whale_ids TO :"app";
GRANT EXECUTE ON FUNCTION tenancy.enter(uuid, boolean) TO :"app";
VACUUM ANALYZE app.items;
CHECKPOINT;
SQL
echo "data: $(psql_admin -d "$DB" -At -c "SELECT count(*) || ' rows, ' || count(DISTINCT tenant_id) || ' tenants' FROM app.items")"

B=$REPO/test/bench/tenancy_move
run_pgbench() {  # $1 run name
  (cd "$WORK" && PGUSER=$APP "$PGBIN/pgbench" -n -M prepared -c 8 -j 2 -T "$SECONDS_PER_RUN" \
      -l --log-prefix="$WORK/$1" \
      -f "$B/read.sql@80" -f "$B/whale_read.sql@10" -f "$B/whale_write.sql@10" "$DB" >"$WORK/$1.out" 2>&1) || {
    echo "pgbench failed in run $1:"; grep -iE "error|abort" "$WORK/$1.out" | head -5; return 1; }
}
# $1 run name, $2 window start (epoch s, or 0), $3 window end: per script,
# transactions, p50/p99/max latency in ms.
latency() {
  cat "$WORK/$1".[0-9]* | awk -v from="$2" -v to="$3" '
    { t = $5 + $6 / 1e6; if (from > 0 && (t < from || t > to)) next; printf "%s %s %.3f\n", $4, $3 / 1000, t }' |
    sort -k1,1n -k2,2n | awk -v origin="${4:-0}" '
    function flush() { if (n == 0) return
      printf "  %-12s %7d tx   p50 %7.2f ms   p99 %7.2f ms   max %8.2f ms", name[s], n, v[int(n * 0.50)], v[int(n * 0.99)], v[n - 1]
      if (origin > 0) printf " (ended %+.2f s from the move start)", at[n - 1] - origin
      printf "\n"; n = 0 }
    BEGIN { s = -1; name[0] = "small read"; name[1] = "whale read"; name[2] = "whale write" }
    $1 != s { flush(); s = $1 }
    { at[n] = $3; v[n++] = $2 }
    END { flush() }'
}
declare -A rc=([base]=0 [move]=0)
echo; echo "== run 1: no move, $SECONDS_PER_RUN s =="
run_pgbench base || rc[base]=$?
grep -E "^(number of failed|tps)" "$WORK/base.out" | sed 's/^/  /'
latency base 0 0

echo; echo "== run 2: isolate() of the whale 5 s into the run =="
run_pgbench move &
PGB=$!
sleep 5
start=$(date +%s.%N)
psql_admin -d "$DB" -c "SET client_min_messages = debug1" -c "CALL tenancy.isolate(md5('1000')::uuid)" 2>&1 |
  grep "isolate()" | sed 's/^/  /'
end=$(date +%s.%N)
wait "$PGB" || rc[move]=$?
grep -E "^(number of failed|tps)" "$WORK/move.out" | sed 's/^/  /'
printf '  isolate() took %.2f s\n' "$(echo "$end - $start" | bc)"
echo "  whole run:"; latency move 0 0 "$start"
# Transactions that ended during the move, or within a second after it
# (those that waited for the switch end as it commits).
echo "  during the move (and the second after it):"; latency move "$start" "$(echo "$end + 1" | bc)" "$start"

echo; echo "== checks =="
passed=0; failed=0
check() {  # check NAME OK(0/1) DETAIL
  if [ "$2" -eq 1 ]; then passed=$((passed + 1)); echo "ok - $1: $3"; else failed=$((failed + 1)); echo "not ok - $1: $3"; fi
}
for r in base move; do
  f=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK/$r.out")
  check "run $r: pgbench ran through, no failed transaction" "$([ "${rc[$r]}" = 0 ] && [ "$f" = 0 ] && echo 1 || echo 0)" \
    "exit status ${rc[$r]}, ${f:-no count of} failed transactions"
done
lines=0
while IFS='|' read -r name ok detail; do
  check "$name" "$ok" "$detail"; lines=$((lines + 1))
done < <(psql_admin -d "$DB" -At <<'SQL'
SELECT 'every whale row in its partition, none lost or doubled',
       (count(*) = 100000 + (SELECT count(*) FROM app.whale_writes) AND count(DISTINCT tableoid) = 1
        AND min(tableoid::regclass::text) LIKE 'app.items_t_%'
        AND NOT EXISTS (SELECT FROM app.whale_writes w LEFT JOIN app.items i
                        ON i.tenant_id = md5('1000')::uuid AND i.id = w.id WHERE i.id IS NULL))::int,
       format('%s rows (expected 100,000 + %s committed inserts) in %s', count(*),
              (SELECT count(*) FROM app.whale_writes), string_agg(DISTINCT tableoid::regclass::text, ','))
  FROM app.items WHERE tenant_id = md5('1000')::uuid;
SELECT 'every whale update kept', (sum(updates) = (SELECT count(*) FROM app.whale_writes))::int,
       format('%s updates counted in the rows, %s committed', sum(updates), (SELECT count(*) FROM app.whale_writes))
  FROM app.items WHERE tenant_id = md5('1000')::uuid;
SELECT 'the small tenants untouched',
       (count(*) = 899100 AND count(*) FILTER (WHERE tableoid::regclass::text LIKE 'app.items_h%') = 899100)::int,
       format('%s rows, %s in the default partition', count(*), count(*) FILTER (WHERE tableoid::regclass::text LIKE 'app.items_h%'))
  FROM app.items WHERE tenant_id <> md5('1000')::uuid;
SELECT 'amcheck of every index', (count(*) = 10)::int, format('%s indexes checked (9 of app.items, 1 of app.whale_writes)', count(*)) FROM (
  SELECT bt_index_check(i.indexrelid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
   WHERE c.relnamespace = 'app'::regnamespace AND c.relkind = 'i') x;
SELECT 'the guard on the new partition',
       (tenancy._broken(p.partition_name) IS NULL AND (SELECT relforcerowsecurity FROM pg_class WHERE oid = p.partition_name))::int,
       p.partition_name::text
  FROM tenancy.isolated p;
SELECT 'nothing of the move left', ((SELECT count(*) FROM tenancy.moves) + (SELECT count(*) FROM tenancy.move_log) = 0)::int,
       format('%s moves, %s log rows', (SELECT count(*) FROM tenancy.moves), (SELECT count(*) FROM tenancy.move_log));
SQL
)
# An error in the checks' SQL (amcheck raises on a corrupt index) ends them early.
[ "$lines" -eq 6 ] || check "every check ran" 0 "$lines of 6 check queries answered"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
