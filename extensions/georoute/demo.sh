#!/usr/bin/env bash
# georoute demo: case study 6 on three real region clusters (us, eu, asia),
# started here beside the demo cluster and left running to explore
# (`make stop` stops them). Each workflow writes one row to the demo
# cluster's casebook_demo.scoreboard (PGHOST/PGPORT point at it): whether
# it held, and the invariant it checked. Run by test/harness/demo.sh.
set -uo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
export CASEBOOK_REGION_SET=demo CASEBOOK_REGION_PORT_BASE=${CASEBOOK_DEMO_REGION_PORT_BASE:-55451}
. "$REPO/test/georoute/common.sh"

score() { # score WORKFLOW OK INVARIANT DETAIL
  "$PGBIN/psql" -X -q -d casebook -v wf="$1" -v ok="$2" -v inv="$3" -v det="$4" <<'SQL'
INSERT INTO casebook_demo.scoreboard (extension, workflow, ok, invariant, detail)
VALUES ('georoute', :'wf', :'ok'::boolean, :'inv', :'det');
SQL
  echo "[$([ "$2" = true ] && echo PASS || echo FAIL)] $1: $4"
}
is() { [ "$1" = "$2" ] && echo true || echo false; }
sqlstate() { grep -oE '(ERROR|WARNING): +[0-9A-Z]{5}' | head -1 | grep -oE '[0-9A-Z]{5}$'; }

bash "$REGIONS_SH" start >/dev/null || { score "region clusters" false "three clusters start" "regions.sh start failed"; exit 1; }
registry=$(georoute_registry_sql)
for r in us eu asia; do
  printf '%s\nCREATE EXTENSION commerce CASCADE;\nCREATE EXTENSION eventstore;\n' "$registry" | in_region "$r" >/dev/null \
    || { score "set-up" false "georoute in every cluster" "set-up failed in $r"; exit 1; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 1. Ids carry their home region: every cluster routes every id, no lookup.
for r in us eu asia; do
  in_region "$r" -c "SELECT georoute.next_id(h) || ' ' || h FROM unnest(ARRAY['us','eu','asia']) h, generate_series(1, 200)" >>"$WORK/ids"
done
chmod 755 "$WORK"; chmod 644 "$WORK/ids"
wrong=0
for r in us eu asia; do
  n=$(in_region "$r" -c "CREATE TEMP TABLE m (line text)" -c "\\copy m FROM '$WORK/ids'" \
        -c "SELECT count(*) FROM m WHERE georoute.region_of_id(split_part(line, ' ', 1)::bigint) <> split_part(line, ' ', 2)")
  wrong=$((wrong + n))
done
score "ids route themselves" "$(is "$wrong$(sort -u "$WORK/ids" | wc -l)" "01800")" \
  "1,800 ids minted in 3 clusters: all distinct, each routed to its home by every cluster with no lookup" \
  "$(sort -u "$WORK/ids" | wc -l) distinct ids, $wrong misrouted"

# 2. A distributed table: writes through the US cluster land in their home
#    clusters; a region predicate reads one region (pruning).
for r in us eu asia; do
  in_region "$r" >/dev/null <<'SQL'
-- The case study's table, as written (its local partitions are what
-- distribute() makes, with foreign ones for the other regions).
CREATE TABLE users (
    id BIGSERIAL,
    region VARCHAR(10) NOT NULL,  -- 'us', 'eu', 'asia'
    email VARCHAR(255) NOT NULL,
    data JSONB,
    PRIMARY KEY (region, id)
) PARTITION BY LIST (region);
SELECT count(*) FROM georoute.distribute('users');
SQL
done
in_region us -c "INSERT INTO users SELECT georoute.next_id(r), r, r || g || '@example.com' FROM unnest(ARRAY['us','eu','asia']) r, generate_series(1, 100) g" >/dev/null
counts=$(for r in us eu asia; do in_region "$r" -c "SELECT count(*) FILTER (WHERE region = '$r') || '/' || count(*) FROM users_$r"; done | paste -sd' ')
plan=$(in_region us -c "EXPLAIN (COSTS OFF) SELECT * FROM users WHERE region = 'eu'" | head -1 | sed 's/^ *//')
score "rows live in their home region" "$(is "$counts|$plan" "100/100 100/100 100/100|Foreign Scan on users_eu users")" \
  "300 rows written through the US cluster: each cluster stores exactly its own region's 100; region = 'eu' scans only the EU partition" \
  "own/total per cluster: $counts; plan: $plan"

# 3. The residency guard refuses what would store EU rows outside the EU.
a=$(in_region us -v VERBOSITY=verbose -c "ALTER TABLE users DETACH PARTITION users_eu; CREATE TABLE users_eu_here PARTITION OF users FOR VALUES IN ('eu')" 2>&1 | sqlstate)
b=$(in_region us -v VERBOSITY=verbose -c "CREATE PUBLICATION leak FOR TABLE users_us" 2>&1 | sqlstate)
c=$(in_region us -v VERBOSITY=verbose -c "UPDATE users SET region = 'eu' WHERE id = (SELECT min(id) FROM users_us)" 2>&1 | sqlstate)
d=$(in_region us -v VERBOSITY=verbose -c "CREATE ROLE app" -c "CREATE USER MAPPING FOR app SERVER cluster_eu OPTIONS (user 'app', password 'in-clear')" 2>&1 | sqlstate)
left=$(in_region us -c "SELECT (SELECT count(*) FROM georoute.residency_violations()) || '/' || (SELECT count(*) FROM pg_publication) || '/' || (SELECT count(*) FROM users_us)")
score "residency guard" "$(is "$a $b $c $d $left" "KB608 KB608 KB612 KB614 0/0/100")" \
  "EU partition in the US cluster, unfiltered publication, UPDATE us->eu, clear-text password: each refused, nothing changed" \
  "SQLSTATEs $a $b $c $d; violations/publications/US rows after: $left"

# 4. enforce_home_region: reading another region's rows errors; aggregates
#    computed in each region cross the border, rows do not.
e=$(in_region us -v VERBOSITY=verbose -c "SET georoute.enforce_home_region = on" -c "SELECT count(*) FROM users WHERE region = 'eu'" 2>&1 | sqlstate)
own=$(in_region us -c "SET georoute.enforce_home_region = on" -c "SELECT count(*) FROM users WHERE region = 'us'")
agg=$(in_region us -c "SET georoute.enforce_home_region = on" -c "SET enable_partitionwise_aggregate = on" \
        -c "SELECT string_agg(region || ':' || n, ' ' ORDER BY region) FROM (SELECT region, count(*) n FROM users GROUP BY region) x")
remote=$(in_region us -c "SET enable_partitionwise_aggregate = on" -c "EXPLAIN (VERBOSE, COSTS OFF) SELECT region, count(*) FROM users GROUP BY region" | grep -c 'Remote SQL: SELECT region, count(\*) FROM public.users_.* GROUP BY 1')
score "home region enforced, aggregates pushed down" "$(is "$e $own $agg $remote" "KB611 100 asia:100 eu:100 us:100 2")" \
  "with enforce_home_region on, the US cluster reads its own rows, not the EU's (KB611); a count per region runs in each region (Remote SQL GROUP BY)" \
  "EU read: $e; own rows: $own; per region: $agg; regions aggregating remotely: $remote"

# 5. Routed calls (PL/Proxy): a router database; commerce.reserve of an EU
#    variant and eventstore.append of an "eu:" stream run in the EU cluster.
in_region us -c "CREATE DATABASE router" >/dev/null
printf 'CREATE EXTENSION plproxy;\n%s\n' "$registry" | in_region us -d router >/dev/null
router="host=$(eval "$(bash "$REGIONS_SH" env us)"; echo "$PGHOST") port=$(bash "$REGIONS_SH" port us) dbname=router"
for r in us eu asia; do
  in_region "$r" >/dev/null <<SQL
INSERT INTO commerce.products (sku, name, base_price) VALUES ('p-$r', 'product of $r', 10);
INSERT INTO commerce.product_variants (id, product_id, sku) SELECT georoute.next_id('$r'), id, 'v-$r' FROM commerce.products WHERE sku = 'p-$r';
SELECT commerce.restock(id, 10) FROM commerce.product_variants WHERE sku = 'v-$r';
SQL
done
in_region eu -c "SELECT georoute.proxy('commerce.reserve(bigint,bigint,interval,text)', 'variant', '$router')" \
             -c "SELECT georoute.proxy('eventstore.append(text,jsonb,bigint,text)', 'stream', '$router')" >/dev/null
variant=$(in_region eu -c "SELECT id FROM commerce.product_variants WHERE sku = 'v-eu'")
in_region us -d router -c "SELECT commerce.reserve($variant, 3)" -c "SELECT eventstore.append('eu:order-1', '[{\"type\": \"placed\", \"data\": {}}]')" >/dev/null
where=$(in_region eu -c "SELECT commerce.available($variant) || '/' || (SELECT count(*) FROM eventstore.read_stream('eu:order-1'))")
elsewhere=$(in_region us -c "SELECT (SELECT count(*) FROM commerce.reservations) || '/' || (SELECT count(*) FROM eventstore.read_stream('eu:order-1'))")
score "routed calls run in the home region" "$(is "$where $elsewhere" "7/1 0/0")" \
  "from the router, commerce.reserve of an EU variant holds EU stock and eventstore.append of eu:order-1 writes the EU cluster; the US cluster has neither" \
  "EU available/events: $where; US reservations/events: $elsewhere"

# 6. Reference data: products of the US cluster replicated to the others,
#    read locally there, writes refused.
for r in us eu asia; do in_region "$r" -c "CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL)" >/dev/null; done
in_region us -c "INSERT INTO countries VALUES ('PT', 'Portugal'), ('JP', 'Japan'), ('US', 'United States')" -c "SELECT georoute.replicate_reference('countries')" >/dev/null
for r in eu asia; do in_region "$r" -c "SELECT georoute.replicate_reference('countries', origin => 'us')" >/dev/null; done
in_region us -c "INSERT INTO countries VALUES ('DE', 'Germany')" >/dev/null
for i in $(seq 1 60); do
  got=$(for r in eu asia; do in_region "$r" -c "SELECT count(*) FROM countries"; done | paste -sd' ')
  [ "$got" = "4 4" ] && break; sleep 0.5
done
w=$(in_region eu -v VERBOSITY=verbose -c "INSERT INTO countries VALUES ('FR', 'France')" 2>&1 | sqlstate)
score "reference data in every region" "$(is "$got $w" "4 4 KB610")" \
  "a table written in the US arrives in the EU and Asia by logical replication (the later insert too); a write to a copy is refused" \
  "rows in eu/asia: $got; write in eu: $w"

# 7. Moving rows without downtime: half of the US users move to Asia while
#    a workload writes new users into the moving range.
lo=$(in_region us -c "SELECT id FROM users_us ORDER BY id OFFSET 50 LIMIT 1")
hi=$(in_region us -c "SELECT (1::bigint << 56) | (2::bigint << 49)")
cat >"$WORK/load.sql" <<'SQL'
INSERT INTO users (id, region, email)
SELECT i, georoute.region_for('users', i), 'load' || i FROM (SELECT georoute.next_id('us') AS i) x;
SQL
chmod 644 "$WORK/load.sql"
(eval "$(bash "$REGIONS_SH" env us)"; "$PGBIN/pgbench" -n -c 2 -T 4 -f "$WORK/load.sql" casebook >"$WORK/load.out" 2>&1; echo "rc=$?" >>"$WORK/load.out") &
pid=$!
sleep 1
t0=$(date +%s%N)
msg=$(in_region us -c "CALL georoute.move('users', int8range($lo, $hi), 'asia', across_jurisdictions => true)" 2>&1 | grep -o 'rows of users now in asia')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait $pid
tx=$(grep -o 'actually processed: [0-9]*' "$WORK/load.out" | grep -o '[0-9]*$')
stored=$(in_region asia -c "SELECT count(*) FROM users_asia WHERE email LIKE 'load%'")
leftover=$(in_region us -c "SELECT count(*) FROM users_us WHERE id >= $lo")
score "move without downtime" "$(is "$msg|$(grep -o 'rc=[0-9]*' "$WORK/load.out")|$stored|$leftover" "rows of users now in asia|rc=0|$tx|0")" \
  "move() of a key range to Asia under a write workload: no transaction failed, every write stored once, in Asia; none left in the US" \
  "moved in $ms ms; workload $tx transactions, $stored in Asia, $leftover left in the US"

# 8. A region down: the EU cluster stops; US work goes on, EU reads fail
#    fast and clearly; it comes back and work resumes.
bash "$REGIONS_SH" stop eu >/dev/null
us_variant=$(in_region us -c "SELECT id FROM commerce.product_variants WHERE sku = 'v-us'")
local_ok=$(in_region us -c "SELECT commerce.reserve($us_variant, 1)" -c "SELECT commerce.available($us_variant)" | tail -1)
t0=$(date +%s%N)
err=$(in_region us -c "SELECT count(*) FROM users WHERE region = 'eu'" 2>&1 | grep -c 'could not connect to server "cluster_eu"')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
bash "$REGIONS_SH" restart eu >/dev/null 2>&1
back=$(in_region us -c "SELECT count(*) FROM users WHERE region = 'eu'")
score "a region down" "$(is "$local_ok $err $([ $ms -lt 5000 ] && echo fast) $back" "9 1 fast 100")" \
  "EU stopped: US work goes on (a reservation), an EU read fails with a connection error in under 5 s; EU back: its rows are read again" \
  "US stock after a reservation: $local_ok of 10; EU read error in $ms ms; EU rows after restart: $back"

# 9. The textbook's sketch, run as written: its products DDL does not
#    parse; its FDW user mapping keeps a password in clear text.
ddl=$(in_region us -v VERBOSITY=verbose 2>&1 <<'SQL' | sqlstate
CREATE TABLE products (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    -- No region-specific data
);
SQL
)
score "the textbook's sketch" "$(is "$ddl $d" "42601 KB614")" \
  "the case study's products DDL (trailing comma) fails to parse; its clear-text user mapping password is refused by georoute" \
  "DDL: $ddl; password in a user mapping: $d"

echo "The region clusters are still running (us, eu, asia on ports $CASEBOOK_REGION_PORT_BASE-$((CASEBOOK_REGION_PORT_BASE + 2)), router database in us)."
