#!/usr/bin/env bash
# georoute: what a routed call costs, and what a move costs the writers.
#
#   bash test/bench/georoute_routing.sh
#
# Starts its own three region clusters (test/harness/regions.sh, set
# "rbench", ports 55481-55483) and stops them at the end. Environment:
# ROUTING_SECONDS=15 (per pgbench run), ROUTING_RUNS=3 (runs per case,
# median), MOVE_ROWS=100000 (rows in the moved range), MOVE_CLIENTS=2.
#
# 1. A routed PL/Proxy call vs a direct call to the home cluster:
#    commerce.available(variant) of an EU variant (read-only), one client,
#    -M prepared; direct = pgbench connected to the EU cluster; routed =
#    pgbench connected to the router database (in the US cluster), whose
#    PL/Proxy function runs the call in the EU cluster. Overhead = the
#    difference of the mean latencies, in microseconds.
# 2. move() of MOVE_ROWS rows from the US to the EU while MOVE_CLIENTS
#    clients insert into the moving range (each insert chooses its region
#    with region_for()): the move's phases (copy, writes waiting during the
#    switch) from georoute.moves, and the writers' latency (mean, p99, max)
#    during a run with the move against a run without it.
# 3. enforce_home_region off and on for an allowed local read (TPS).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CASEBOOK_REGION_SET=rbench CASEBOOK_REGION_PORT_BASE=${ROUTING_PORT_BASE:-55481}
. "$REPO/test/georoute/common.sh"
SECONDS_PER_RUN=${ROUTING_SECONDS:-15}
RUNS=${ROUTING_RUNS:-3}
MOVE_ROWS=${MOVE_ROWS:-100000}
MOVE_CLIENTS=${MOVE_CLIENTS:-2}
WORK=$(mktemp -d)
chmod 755 "$WORK"
trap 'bash "$REGIONS_SH" stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT
bash "$REGIONS_SH" start >/dev/null
registry=$(georoute_registry_sql)
for r in us eu asia; do
  printf '%s\nCREATE EXTENSION commerce CASCADE;\n' "$registry" | in_region "$r" >/dev/null
  in_region "$r" >/dev/null <<SQL
INSERT INTO commerce.products (sku, name, base_price) VALUES ('p-$r', 'product of $r', 10);
INSERT INTO commerce.product_variants (id, product_id, sku) SELECT georoute.next_id('$r'), id, 'v-$r' FROM commerce.products WHERE sku = 'p-$r';
SELECT commerce.restock(id, 1000) FROM commerce.product_variants WHERE sku = 'v-$r';
CREATE TABLE accounts (id bigint NOT NULL, region text NOT NULL, email text NOT NULL, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
SELECT count(*) FROM georoute.distribute('accounts');
SQL
done
in_region us -c "CREATE DATABASE router" >/dev/null
printf 'CREATE EXTENSION plproxy;\n%s\n' "$registry" | in_region us -d router >/dev/null
router="host=$(eval "$(bash "$REGIONS_SH" env us)"; echo "$PGHOST") port=$(bash "$REGIONS_SH" port us) dbname=router"
in_region eu -c "SELECT georoute.proxy('commerce.available(bigint)', 'variant', '$router')" >/dev/null
variant=$(in_region eu -c "SELECT id FROM commerce.product_variants WHERE sku = 'v-eu'")
echo "SELECT commerce.available($variant);" >"$WORK/call.sql"
chmod 644 "$WORK/call.sql"

# pgbench REGION DB ARGS... → mean latency in ms (server-side not
# available: client-side, over the local socket).
latency() {
  local r=$1 db=$2; shift 2
  (eval "$(bash "$REGIONS_SH" env "$r")"; "$PGBIN/pgbench" -n "$@" "$db" 2>&1) | awk '/latency average/ { print $4 }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "## routed call vs direct call ($RUNS x ${SECONDS_PER_RUN}s, 1 client, -M prepared)"
for i in $(seq 1 "$RUNS"); do
  latency eu casebook -c 1 -T "$SECONDS_PER_RUN" -M prepared -f "$WORK/call.sql" >>"$WORK/direct"
  latency us router -c 1 -T "$SECONDS_PER_RUN" -M prepared -f "$WORK/call.sql" >>"$WORK/routed"
done
direct=$(median <"$WORK/direct"); routed=$(median <"$WORK/routed")
echo "direct (EU cluster):      runs $(paste -sd' ' "$WORK/direct") ms, median $direct ms"
echo "routed (router → EU):     runs $(paste -sd' ' "$WORK/routed") ms, median $routed ms"
echo "overhead: $(awk -v a="$routed" -v b="$direct" 'BEGIN { printf "%.0f", (a - b) * 1000 }') µs per call"
key_cost=$(in_region us -d router -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) SELECT georoute._key_partition($variant) FROM generate_series(1, 100000)" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])')
echo "_key_partition(): $(awk -v t="$key_cost" 'BEGIN { printf "%.3f", t * 1000 / 100000 }') µs per call (100,000 calls, loop included)"

in_region us -c "INSERT INTO accounts SELECT georoute.next_id('us'), 'us', 'a' || g || '@example.com' FROM generate_series(1, $MOVE_ROWS) g" >/dev/null
in_region us -c "VACUUM ANALYZE accounts_us" >/dev/null
lo=$(in_region us -c "SELECT min(id) FROM accounts_us")
hi=$(in_region us -c "SELECT (1::bigint << 56) | (2::bigint << 49)")
cat >"$WORK/write.sql" <<'SQL'
INSERT INTO accounts (id, region, email)
SELECT i, georoute.region_for('accounts', i), 'load' || i FROM (SELECT georoute.next_id('us') AS i) x;
SQL
chmod 644 "$WORK/write.sql"
# 3. enforce_home_region's cost on an allowed read: a local point read
#    through the distributed table, -M prepared and -M simple, 1 client,
#    the setting off and on (the hook walks the plan before and after the
#    executor starts).
idmin=$(in_region us -c "SELECT min(id) FROM accounts_us"); idmax=$(in_region us -c "SELECT max(id) FROM accounts_us")
printf '\\set id random(%s, %s)\nSELECT email FROM accounts WHERE region = '"'us'"' AND id = :id;\n' "$idmin" "$idmax" >"$WORK/read.sql"
chmod 644 "$WORK/read.sql"
echo
echo "## enforce_home_region off and on: a local point read through the distributed table ($RUNS x ${SECONDS_PER_RUN}s, 1 client)"
for mode in prepared simple; do
  for i in $(seq 1 "$RUNS"); do
    for setting in off on; do   # alternating: the machine's drift hits both
      (eval "$(bash "$REGIONS_SH" env us)"; PGOPTIONS="-c georoute.enforce_home_region=$setting" \
         "$PGBIN/pgbench" -n -c 1 -T "$SECONDS_PER_RUN" -M "$mode" -f "$WORK/read.sql" casebook 2>&1) \
        | awk '/^tps/ { print int($3) }' >>"$WORK/enforce-$mode-$setting"
    done
  done
  for setting in off on; do
    echo "$mode, enforce_home_region $setting: TPS runs $(paste -sd' ' "$WORK/enforce-$mode-$setting"), median $(median <"$WORK/enforce-$mode-$setting")"
  done
done

echo
echo "## move() of $MOVE_ROWS rows under $MOVE_CLIENTS writers"
writers() { # writers TAG SECONDS: latency log in $WORK/TAG.*
  (cd "$WORK" && eval "$(bash "$REGIONS_SH" env us)" && "$PGBIN/pgbench" -n -c "$MOVE_CLIENTS" -j "$MOVE_CLIENTS" -T "$2" \
     -l --log-prefix="$1" -f write.sql casebook >"$1.out" 2>&1)
}
stats() { # stats TAG: mean p99 max (ms) of the logged transactions
  cat "$WORK/$1".[0-9]* | awk '{ print $3 / 1000 }' | sort -n \
    | awk '{ a[NR] = $1; s += $1 } END { printf "%d tx, mean %.2f ms, p99 %.2f ms, max %.1f ms", NR, s / NR, a[int(NR * 0.99)], a[NR] }'
}
writers base 10
echo "without a move: $(stats base)"
writers during 14 &
wpid=$!
sleep 2
t0=$(date +%s%N)
in_region us -c "CALL georoute.move('accounts', int8range($lo, $hi), 'eu', across_jurisdictions => true)" >/dev/null 2>&1
total=$(( ($(date +%s%N) - t0) / 1000000 ))
wait $wpid
echo "during the move: $(stats during); pgbench: $(grep -o 'number of failed transactions: [0-9]*' "$WORK/during.out" || echo 'no failures line')"
in_region us -F ' ' -c "SELECT rows_moved, round(extract(epoch FROM locked_at - started_at) * 1000), round(extract(epoch FROM switched_at - locked_at) * 1000), round(extract(epoch FROM finished_at - switched_at) * 1000) FROM georoute.moves" \
  | awk -v t="$total" '{ printf "move: %s rows in %d ms: publish, copy and catch-up %d ms; writes waiting (lock to switch) %d ms; clean-up %d ms\n", $1, t, $2, $3, $4 }'
loaded=$(cat "$WORK/base.out" "$WORK/during.out" | grep -o 'actually processed: [0-9]*' | grep -o '[0-9]*$' | paste -sd+ | bc)
echo "check: $(in_region eu -c "SELECT count(*) FROM accounts_eu WHERE email LIKE 'load%'") of the $loaded rows written (both runs, all in the range) in the EU, $(in_region us -c "SELECT count(*) FROM accounts_us") left in the US"
