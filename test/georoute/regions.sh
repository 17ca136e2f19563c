#!/usr/bin/env bash
# georoute on three real region clusters (test/harness/regions.sh): the
# same registry in each, ids minted in every cluster for every region,
# routed back by region_of_id() in every cluster; georoute.local_region is
# a property of the cluster (a session cannot take another region's
# minting); distribute() across the clusters; every residency path
# attacked (DDL, UPDATE, publications, subscriptions, credentials);
# enforce_home_region; reference data; routed calls through a PL/Proxy
# router; move() under a workload; a region down and back; pgTAP in each
# cluster.
# Starts the clusters and stops them; ends with
# "N passed, N failed".
set -uo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
. "$SCRIPT_DIR/common.sh"
IDS=${GEOROUTE_IDS:-1000}
passed=0; failed=0
check() { # check WHAT EXPECTED GOT
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok     $1"
  else failed=$((failed + 1)); echo "FAILED $1: expected [$2], got [$3]"; fi
}
trap 'bash "$REGIONS_SH" stop >/dev/null 2>&1' EXIT
bash "$REGIONS_SH" start >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
WORK=$(mktemp -d)
trap 'bash "$REGIONS_SH" stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT

# In every cluster: a postgres_fdw server for each region's cluster and
# the same registry (common.sh).
REGISTRY=$(georoute_registry_sql)
for r in us eu asia; do
  echo "$REGISTRY" | in_region "$r" >/dev/null || { echo "FAILED set-up in $r"; failed=$((failed + 1)); }
done

check "the registries of the three clusters agree (registry_differences() in each)" "0 0 0" \
  "$(for r in us eu asia; do in_region "$r" -c "SELECT count(*) FROM georoute.registry_differences()"; done | paste -sd' ')"

# Every cluster mints IDS ids for every region.
for r in us eu asia; do
  in_region "$r" -F ' ' -v n="$IDS" -c "SELECT home, georoute.next_id(home) FROM unnest(ARRAY['us','eu','asia']) home, generate_series(1, $IDS)" \
    | sed "s/^/$r /" >>"$WORK/ids" || true
done
total=$((IDS * 9))
check "$total ids minted in three clusters for three regions" "$total" "$(wc -l <"$WORK/ids" | tr -d ' ')"
check "no id minted twice across the clusters" "$total" "$(cut -d' ' -f3 "$WORK/ids" | sort -u | wc -l | tr -d ' ')"
# Each cluster routes every id (its own and the others') to its home region.
awk '{ print $3 "\t" $2 }' "$WORK/ids" >"$WORK/ids.tsv"
chmod 644 "$WORK/ids.tsv"; chmod 755 "$WORK"
for r in us eu asia; do
  wrong=$(in_region "$r" <<SQL
CREATE TEMP TABLE minted (id bigint, home text);
\copy minted FROM '$WORK/ids.tsv'
SELECT count(*) FROM minted WHERE georoute.region_of_id(id) IS DISTINCT FROM home;
SQL
)
  check "$r routes all $total ids to their home region" "0" "$wrong"
done
# The minting region is in the id: bits 55-49 are the minting cluster's number.
minters=$(awk '{ print $1 }' "$WORK/ids" | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
check "each cluster minted its share" "asia=$((IDS * 3)) eu=$((IDS * 3)) us=$((IDS * 3)) " "$minters"
bad_minter=$(awk '{ split("us eu asia", names, " "); m = int($3 / 562949953421312) % 128; if (names[m] != $1) n++ } END { print n + 0 }' "$WORK/ids")
check "every id carries the number of the cluster that minted it" "0" "$bad_minter"

# local_region belongs to the cluster: a session cannot mint as another
# region, by SET after the library is loaded (refused) or before it (the
# placeholder is dropped when georoute defines the setting).
check "SET georoute.local_region in a session is refused (55P02)" \
  'ERROR:  parameter "georoute.local_region" cannot be changed now' \
  "$(in_region eu -c "SELECT georoute.next_id('eu') > 0" -c "SET georoute.local_region = 'us'" 2>&1 | grep ERROR)"
check "SET as a session's first statement is refused too (georoute is preloaded)" \
  'ERROR:  parameter "georoute.local_region" cannot be changed now' \
  "$(in_region eu -c "SET georoute.local_region = 'us'" 2>&1 | grep ERROR)"
check "the EU cluster mints as eu (number 2)" "2" "$(in_region eu -c "SELECT (georoute.next_id('asia') >> 49) & 127")"

# distribute(): the case study's users table in every cluster, laid out by
# region; rows written through the US cluster's table land in their home
# clusters.
for r in us eu asia; do
  in_region "$r" >/dev/null <<'SQL' || { echo "FAILED distribute in $r"; failed=$((failed + 1)); }
CREATE TABLE users (id bigint NOT NULL, region text NOT NULL, email text NOT NULL, data jsonb,
                    PRIMARY KEY (region, id)) PARTITION BY LIST (region);
SELECT * FROM georoute.distribute('users');
SQL
done
check "distribute() in us (run again: the same): a local partition for us, foreign ones for eu and asia" \
  "us|users_us|local eu|users_eu|foreign asia|users_asia|foreign" \
  "$(in_region us -F '|' -c "SELECT x.region, x.partition, x.kind FROM georoute.distribute('users') x" | tr '\n' ' ' | sed 's/ $//')"
check "the primary key moved to the local partition (none on the parent)" "users_pkey_us|p" \
  "$(in_region us -F '|' -c "SELECT conname, contype FROM pg_constraint WHERE conrelid IN ('users'::regclass, 'users_us'::regclass) AND contype IN ('p','u')")"
in_region us >/dev/null <<'SQL' || { echo "FAILED insert through the us parent"; failed=$((failed + 1)); }
INSERT INTO users (id, region, email)
SELECT georoute.next_id(r), r, r || g || '@example.com' FROM unnest(ARRAY['us', 'eu', 'eu', 'asia']) r, generate_series(1, 50) g;
SQL
for r in us eu asia; do
  want=$([ "$r" = eu ] && echo 100 || echo 50)
  check "$r cluster stores its own $want rows, locally" "$want|$want" \
    "$(in_region "$r" -F '|' -c "SELECT count(*), count(*) FILTER (WHERE region = '$r') FROM users_$r")"
done
check "reads with a region predicate touch only that region's partition" "Foreign Scan on users_eu users" \
  "$(in_region us -c "EXPLAIN (COSTS OFF) SELECT * FROM users WHERE region = 'eu' AND email LIKE 'eu1%'" | head -1 | sed 's/^ *//')"
check "and get the home cluster's rows (eu1, eu10-eu19, twice)" "22" \
  "$(in_region us -c "SELECT count(*) FROM users WHERE region = 'eu' AND email LIKE 'eu1%'")"
check "the home cluster's primary key refuses a duplicate sent through another cluster" "23505" \
  "$(in_region us -v VERBOSITY=verbose -c "INSERT INTO users SELECT id, region, 'dup' FROM users WHERE region = 'eu' LIMIT 1" 2>&1 \
     | grep -o '23505' | head -1)"
check "a table that is not partitioned by region is refused (KB606)" "KB606" \
  "$(in_region us -c "CREATE TABLE plain (id bigint, region text)" -c "SELECT georoute.distribute('plain')" 2>&1 \
     | grep -o 'is not PARTITION BY LIST' | sed 's/.*/KB606/' | head -1)"

# Global queries: with partitionwise aggregation, a count per region over
# the distributed table runs in each region's cluster; only the aggregates
# cross the border (EXPLAIN VERBOSE: the remote SQL groups and counts).
plan=$(in_region us -c "SET enable_partitionwise_aggregate = on" \
         -c "EXPLAIN (VERBOSE, COSTS OFF) SELECT region, count(*), count(DISTINCT email) FROM users GROUP BY region")
check "global count per region: pushed down to the EU cluster" "yes" \
  "$(echo "$plan" | grep -q 'Remote SQL: SELECT region, count(\*), count(DISTINCT email) FROM public.users_eu GROUP BY 1' && echo yes || echo "no: $plan")"
check "and to the Asia cluster" "yes" \
  "$(echo "$plan" | grep -q 'FROM public.users_asia GROUP BY 1' && echo yes || echo no)"
check "and the answer is every region's" "asia:50 eu:100 us:50" \
  "$(in_region us -c "SET enable_partitionwise_aggregate = on" -c "SELECT string_agg(region || ':' || n, ' ' ORDER BY region) FROM (SELECT region, count(*) AS n FROM users GROUP BY region) x")"

# The residency guard: in the US cluster, every way of giving EU rows a
# place outside the EU is refused (KB608) and undone; distribute() again
# finds nothing to do.
in_region us >/dev/null <<'SQL' || { echo "FAILED orders set-up"; failed=$((failed + 1)); }
CREATE TABLE orders (id bigint NOT NULL, region text NOT NULL, total numeric) PARTITION BY LIST (region);
SELECT * FROM georoute.distribute('orders');
CREATE TABLE spare (LIKE orders);
SQL
guard() { # guard WHAT SQL: the SQL must fail with KB608
  check "residency: $1 is refused (KB608)" "KB608" \
    "$(in_region us -v VERBOSITY=verbose -c "$2" 2>&1 | grep -o 'KB608' | head -1)"
}
guard "a local partition for EU rows in the US cluster" \
  "ALTER TABLE orders DETACH PARTITION orders_eu; CREATE TABLE orders_eu_here PARTITION OF orders FOR VALUES IN ('eu')"
guard "a local table attached for EU rows" \
  "ALTER TABLE orders DETACH PARTITION orders_eu; ALTER TABLE orders ATTACH PARTITION spare FOR VALUES IN ('eu')"
guard "a foreign partition for EU rows on the US server" \
  "ALTER TABLE orders DETACH PARTITION orders_eu; CREATE FOREIGN TABLE orders_eu_us PARTITION OF orders FOR VALUES IN ('eu') SERVER cluster_us OPTIONS (table_name 'orders_us')"
# A session's SET of local_region is refused (and would make only a
# placeholder where the library is not loaded yet): the guard reads the
# cluster's.
check "residency: a session's SET georoute.local_region = 'eu' does not change what the guard sees" "0|us" \
  "$(in_region us -v ON_ERROR_STOP=0 -F '|' -c "SET georoute.local_region = 'eu'" \
       -c "SELECT (SELECT count(*) FROM georoute.residency_violations()), georoute._local_region()" 2>/dev/null | tail -1)"
guard "a DEFAULT partition" "CREATE TABLE orders_any PARTITION OF orders DEFAULT"
guard "a partition for US and EU rows together" \
  "ALTER TABLE orders DETACH PARTITION orders_eu; ALTER TABLE orders DETACH PARTITION orders_us; CREATE TABLE orders_mixed PARTITION OF orders FOR VALUES IN ('us', 'eu')"
guard "the registry changed under the EU partition (EU's server set to the US cluster's)" \
  "UPDATE georoute.regions SET server = 'cluster_us' WHERE code = 'eu'"
check "after the refusals: no violation, the EU partition still on the EU server" "0|cluster_eu" \
  "$(in_region us -F '|' -c "SELECT (SELECT count(*) FROM georoute.residency_violations()), s.srvname FROM pg_foreign_table f JOIN pg_foreign_server s ON s.oid = f.ftserver WHERE f.ftrelid = 'orders_eu'::regclass")"

# Reference data: products written in the US cluster, replicated to the EU
# and Asia clusters, read locally there; writes there are refused.
for r in us eu asia; do
  in_region "$r" -c "CREATE TABLE products (id bigint PRIMARY KEY, name text NOT NULL)" >/dev/null
done
in_region us -c "INSERT INTO products SELECT g, 'product ' || g FROM generate_series(1, 100) g" >/dev/null
check "replicate_reference() in the origin publishes" "publication georoute_ref_products from us" \
  "$(in_region us -c "SELECT georoute.replicate_reference('products')")"
for r in eu asia; do
  check "replicate_reference() in $r subscribes to us" "subscription georoute_ref_products to us" \
    "$(in_region "$r" -c "SELECT georoute.replicate_reference('products', origin => 'us')")"
done
in_region us -c "INSERT INTO products VALUES (101, 'added later')" -c "UPDATE products SET name = 'renamed' WHERE id = 1" >/dev/null
wait_rows() { # wait_rows REGION: up to 30 s for the copy to match the origin
  local i
  for i in $(seq 1 60); do
    [ "$(in_region "$1" -c "SELECT count(*) || ':' || (SELECT name FROM products WHERE id = 1) FROM products" 2>/dev/null)" = "101:renamed" ] && return 0
    sleep 0.5
  done
  return 1
}
for r in eu asia; do
  wait_rows "$r"
  check "$r has the origin's rows, the later insert and update included (read locally)" "101:renamed" \
    "$(in_region "$r" -c "SELECT count(*) || ':' || (SELECT name FROM products WHERE id = 1) FROM products")"
  check "$r refuses writes to its copy (KB610)" "KB610" \
    "$(in_region "$r" -v VERBOSITY=verbose -c "INSERT INTO products VALUES (500, 'local')" 2>&1 | grep -o 'KB610' | head -1)"
done
check "a reference table without a primary key is refused (KB609)" "KB609" \
  "$(in_region us -v VERBOSITY=verbose -c "CREATE TABLE nokey (x int)" -c "SELECT georoute.replicate_reference('nokey')" 2>&1 \
     | grep -o 'KB609' | head -1)"
check "a distributed table is not reference data (KB608)" "KB608" \
  "$(in_region us -v VERBOSITY=verbose -c "SELECT georoute.replicate_reference('users')" 2>&1 | grep -o 'KB608' | head -1)"
check "no password in any subscription's connection string" "0" \
  "$(for r in eu asia; do in_region "$r" -c "SELECT count(*) FROM pg_subscription WHERE subconninfo ~* 'password'"; done | paste -sd+ | bc)"
# Stopping the replication: the origin refuses while regions subscribe;
# the subscribers stop (their copies become ordinary tables), then the
# origin drops its publication and slots.
check "unreplicate_reference() in the origin while regions subscribe is refused (55006), nothing dropped" "55006|1" \
  "$(in_region us -v VERBOSITY=verbose -c "SELECT georoute.unreplicate_reference('products')" 2>&1 | grep -o '55006' | head -1)|$(in_region us -c "SELECT count(*) FROM pg_publication WHERE pubname = 'georoute_ref_products'")"
for r in eu asia; do
  check "unreplicate_reference() in $r: the subscription goes, the copy is writable" "0|102" \
    "$(in_region "$r" -c "SELECT georoute.unreplicate_reference('products')" >/dev/null; in_region "$r" -c "SELECT count(*) FROM pg_subscription")|$(in_region "$r" -c "INSERT INTO products VALUES (900, 'local now')" -c "SELECT count(*) FROM products")"
done
check "unreplicate_reference() in the origin then: publication and slots gone" "0|0|0" \
  "$(in_region us -c "SELECT georoute.unreplicate_reference('products')" >/dev/null; in_region us -c "SELECT count(*) FROM pg_publication")|$(in_region us -c "SELECT count(*) FROM pg_replication_slots")|$(in_region us -c "SELECT count(*) FROM georoute.reference_tables")"
check "unreplicate_reference() of a table that is not reference data (22023)" "22023" \
  "$(in_region us -v VERBOSITY=verbose -c "SELECT georoute.unreplicate_reference('users')" 2>&1 | grep -o '22023' | head -1)"

# A row's region changes only within its jurisdiction (KB612): US rows
# cannot become EU rows by UPDATE; a second US region (usw, a local
# partition in the US cluster: same jurisdiction) may take them.
check "residency: UPDATE of a US row's region to eu is refused (KB612), the row stays" "KB612|50" \
  "$(in_region us -v VERBOSITY=verbose -c "UPDATE users SET region = 'eu' WHERE id = (SELECT min(id) FROM users_us)" 2>&1 | grep -o 'KB612' | head -1)|$(in_region us -c "SELECT count(*) FROM users_us")"
check "residency: ... also when the UPDATE targets the local partition itself" "KB612" \
  "$(in_region us -v VERBOSITY=verbose -c "UPDATE users_us SET region = 'asia' WHERE id = (SELECT min(id) FROM users_us)" 2>&1 | grep -o 'KB612' | head -1)"
check "residency: a US row moves to usw (same jurisdiction) by UPDATE" "49|1" \
  "$(in_region us -F '|' -c "SELECT georoute.add_region('usw', NULL, 'US', number => 4)" \
       -c "CREATE TABLE users_usw PARTITION OF users FOR VALUES IN ('usw')" \
       -c "UPDATE users SET region = 'usw' WHERE id = (SELECT min(id) FROM users_us)" \
       -c "SELECT (SELECT count(*) FROM users_us), (SELECT count(*) FROM users_usw)" | tail -1)"
check "registry_differences(): usw, registered in the US cluster only, is reported against both others" \
  "eu|usw|not registered there asia|usw|not registered there" \
  "$(in_region us -F '|' -c "SELECT * FROM georoute.registry_differences()" | paste -sd' ')"
guard "disabling the region-change trigger" "ALTER TABLE users DISABLE TRIGGER georoute_region_change"
guard "dropping the region-change trigger" "DROP TRIGGER georoute_region_change ON users"

# Publications: a distributed table's rows leave the cluster only with the
# row filter to the local region.
guard "a publication of the distributed table without a row filter" "CREATE PUBLICATION leak FOR TABLE users"
guard "a publication of its local partition without a row filter" "CREATE PUBLICATION leak FOR TABLE users_us"
guard "a publication with a filter to another region" "CREATE PUBLICATION leak FOR TABLE users WHERE (region = 'eu') WITH (publish_via_partition_root = true)"
guard "a publication FOR ALL TABLES" "CREATE PUBLICATION leak FOR ALL TABLES"
guard "a publication FOR TABLES IN SCHEMA public" "CREATE PUBLICATION leak FOR TABLES IN SCHEMA public"
check "a publication of the local partition WHERE (region = 'us') is accepted" "us_rows" \
  "$(in_region us -c "CREATE PUBLICATION us_rows FOR TABLE users_us WHERE (region = 'us')" -c "SELECT pubname FROM pg_publication WHERE pubname = 'us_rows'")"
guard "adding the distributed table to it without the filter" "ALTER PUBLICATION us_rows ADD TABLE orders_us"
check "after the refusals: only us_rows exists" "us_rows" \
  "$(in_region us -c "SELECT string_agg(pubname, ' ' ORDER BY pubname) FROM pg_publication")"
# Subscriptions: checked against the publisher's row filters before the
# command runs: the EU cluster may not take the US rows; no slot is left
# on the US cluster.
us_conn="host=$(eval "$(bash "$REGIONS_SH" env us)"; echo "$PGHOST") port=$(bash "$REGIONS_SH" port us) dbname=casebook"
check "residency: an EU subscription to the US rows is refused (KB608)" "KB608" \
  "$(in_region eu -v VERBOSITY=verbose -c "CREATE SUBSCRIPTION take_us CONNECTION '$us_conn' PUBLICATION us_rows" 2>&1 | grep -o 'KB608' | head -1)"
check "... and left nothing: no subscription in eu, no slot in us" "0|0" \
  "$(in_region eu -c "SELECT count(*) FROM pg_subscription WHERE subname = 'take_us'")|$(in_region us -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'take_us'")"
check "residency: made WITH (connect = false), its REFRESH PUBLICATION is refused" "KB608" \
  "$(in_region eu -v VERBOSITY=verbose -c "CREATE SUBSCRIPTION take_us CONNECTION '$us_conn' PUBLICATION us_rows WITH (connect = false)" \
       -c "ALTER SUBSCRIPTION take_us REFRESH PUBLICATION" 2>&1 | grep -o 'KB608' | head -1)"
in_region eu -c "DROP SUBSCRIPTION take_us" >/dev/null 2>&1
check "a database without distributed tables is not guarded: PostgreSQL's own error there (08006), not KB608" "08006" \
  "$(in_region eu -d postgres -v VERBOSITY=verbose -c "CREATE SUBSCRIPTION elsewhere CONNECTION 'host=127.0.0.1 port=1 dbname=x' PUBLICATION p" 2>&1 | grep -oE 'KB608|08006' | head -1)"
check "residency: a publisher that cannot be reached: refused with the reason (KB608)" "KB608" \
  "$(in_region eu -v VERBOSITY=verbose -c "CREATE SUBSCRIPTION nowhere CONNECTION 'host=127.0.0.1 port=1 dbname=x' PUBLICATION p" 2>&1 | grep -o 'KB608' | head -1)"

# enforce_home_region: reads of other regions' rows refused (KB611), the
# region's own rows, aggregates computed in the other regions and writes
# routed to their home go on.
enf() { in_region us -v VERBOSITY=verbose -c "SET georoute.enforce_home_region = on" "$@" 2>&1; }
check "enforce_home_region: reading EU rows from the US cluster is refused (KB611)" "KB611" \
  "$(enf -c "SELECT count(*) FROM users WHERE region = 'eu'" | grep -o 'KB611' | head -1)"
check "enforce_home_region: a read without a region predicate is refused (it touches every region)" "KB611" \
  "$(enf -c "SELECT * FROM users WHERE id = 1" | grep -o 'KB611' | head -1)"
check "enforce_home_region: the message names the table, the region and the partition" "yes" \
  "$(out=$(enf -c "SELECT * FROM users WHERE region = 'asia'"); echo "$out" | grep -q 'reads rows of "users" stored in region asia (partition "users_asia")' && echo yes || echo "no: $out")"
check "enforce_home_region: the US cluster reads its own rows" "50" \
  "$(enf -c "SELECT count(*) FROM users WHERE region IN ('us', 'usw')" | tail -1)"
check "enforce_home_region: aggregates pushed down to each region are allowed" "asia:50 eu:100 us:49 usw:1" \
  "$(enf -c "SET enable_partitionwise_aggregate = on" -c "SELECT string_agg(region || ':' || n, ' ' ORDER BY region) FROM (SELECT region, count(*) AS n FROM users GROUP BY region) x" | tail -1)"
check "enforce_home_region: an EU row written through the US cluster lands in the EU cluster" "1" \
  "$(enf -c "INSERT INTO users VALUES (georoute.next_id('eu'), 'eu', 'enforced@example.com')" >/dev/null;
     in_region eu -c "SELECT count(*) FROM users_eu WHERE email = 'enforced@example.com'")"
check "enforce_home_region: a generic plan with region = \$1 runs for us, refuses eu" "0|KB611" \
  "$(enf -c "SET plan_cache_mode = force_generic_plan" -c "PREPARE q(text) AS SELECT count(*) FROM orders WHERE region = \$1" \
       -c "EXECUTE q('us')" -c "EXECUTE q('eu')" | grep -oE '^[0-9]+$|KB611' | head -2 | paste -sd'|')"
check "enforce_home_region: EXPLAIN (no execution) still shows the plan" "Foreign Scan on users_eu users" \
  "$(enf -c "EXPLAIN (COSTS OFF) SELECT * FROM users WHERE region = 'eu'" | grep 'Foreign Scan' | sed 's/^ *//')"
in_region us >/dev/null <<'SQL'
CREATE ROLE app LOGIN;
GRANT SELECT, INSERT ON users TO app;
ALTER ROLE app SET georoute.enforce_home_region = on;
SQL
check "enforce_home_region: a role cannot turn it off (42501)" "42501" \
  "$(in_region us -U app -v VERBOSITY=verbose -c "SET georoute.enforce_home_region = off" 2>&1 | grep -o '42501' | head -1)"
check "enforce_home_region: set for the role by ALTER ROLE: its reads of EU rows are refused" "KB611" \
  "$(in_region us -U app -v VERBOSITY=verbose -c "SELECT count(*) FROM users WHERE region = 'eu'" 2>&1 | grep -o 'KB611' | head -1)"

# move(): rows of the US cluster change region without downtime. A key
# range of accounts moves to the EU while a workload writes new accounts
# into that range (region chosen by region_for()) and reads them; a tenant
# of notes moves to Asia. Nothing lost, nothing doubled, no transaction of
# the workload failed.
for r in us eu asia; do
  in_region "$r" >/dev/null <<'SQL' || { echo "FAILED move set-up in $r"; failed=$((failed + 1)); }
CREATE TABLE accounts (id bigint NOT NULL, region text NOT NULL, email text NOT NULL, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
SELECT count(*) FROM georoute.distribute('accounts');
CREATE TABLE notes (tenant_id text NOT NULL, id bigint NOT NULL, region text NOT NULL, body text,
                    PRIMARY KEY (region, tenant_id, id)) PARTITION BY LIST (region);
SELECT count(*) FROM georoute.distribute('notes');
-- A DBA's changes after distribute(), in every cluster: a column, a CHECK,
-- an index (PostgreSQL builds it on the local partition).
ALTER TABLE accounts ADD COLUMN note text NOT NULL DEFAULT 'n';
ALTER TABLE accounts ADD CONSTRAINT accounts_email_set CHECK (email <> '');
CREATE INDEX accounts_email_idx ON accounts (email);
CREATE EXTENSION IF NOT EXISTS amcheck;
SQL
done
in_region us >/dev/null <<'SQL'
INSERT INTO accounts SELECT georoute.next_id('us'), 'us', 'a' || g || '@example.com' FROM generate_series(1, 20000) g;
INSERT INTO notes SELECT 't' || (g % 5), g, 'us', 'note ' || g FROM generate_series(1, 1000) g;
SQL
# The range: from the 5,001st account to every id the US cluster will mint for us.
lo=$(in_region us -c "SELECT id FROM accounts_us ORDER BY id OFFSET 5000 LIMIT 1")
hi=$(in_region us -c "SELECT (1::bigint << 56) | (2::bigint << 49)")
digest="SELECT count(*) || ':' || sum(('x' || left(md5(id || email), 15))::bit(60)::bigint::numeric) FROM accounts WHERE id >= $lo AND id < $hi AND email NOT LIKE 'load%'"
before=$(in_region us -c "$digest AND region = 'us'")
move_call() { in_region us -v VERBOSITY=verbose -c "CALL georoute.move($1)" 2>&1; }
check "move(): across jurisdictions without consent is refused (KB612), nothing made" "KB612|0|0" \
  "$(move_call "'accounts', int8range($lo, $hi), 'eu'" | grep -o 'KB612' | head -1)|$(in_region us -c "SELECT count(*) FROM pg_publication WHERE pubname LIKE 'georoute_move%'")|$(in_region us -c "SELECT count(*) FROM georoute.moves")"
check "move(): a key that is not in the primary key is refused (KB606)" "KB606" \
  "$(move_call "'accounts', 'x@example.com', 'eu', key_column => 'email', across_jurisdictions => true" | grep -o 'KB606' | head -1)"
check "move(): to the region the rows are in is refused (22023)" "22023" \
  "$(move_call "'accounts', int8range($lo, $hi), 'us'" | grep -o '22023' | head -1)"
check "move(): not for an application role (42501)" "42501" \
  "$(in_region us -U app -v VERBOSITY=verbose -c "CALL georoute.move('accounts', int8range($lo, $hi), 'eu', across_jurisdictions => true)" 2>&1 | grep -o '42501' | head -1)"
check "move(): inside a transaction block it fails and changes nothing" "2D000|0" \
  "$(in_region us -v VERBOSITY=verbose -c "BEGIN" -c "CALL georoute.move('accounts', int8range($lo, $hi), 'eu', across_jurisdictions => true)" 2>&1 | grep -o '2D000' | head -1)|$(in_region us -c "SELECT count(*) FROM georoute.moves")"
check "move(): a copy that cannot finish in its wait is undone (KB617): rows here, nothing left behind" "KB617|15000|0|0|0|0|users_us" \
  "$(move_call "'accounts', int8range($lo, $hi), 'eu', across_jurisdictions => true, wait => '1 millisecond'" | grep -o 'KB617' | head -1)|$(in_region us -c "SELECT count(*) FROM accounts_us WHERE id >= $lo")|$(in_region us -c "SELECT count(*) FROM pg_publication WHERE pubname LIKE 'georoute_move%'")|$(in_region us -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'georoute_move%'")|$(in_region eu -c "SELECT count(*) FROM pg_subscription WHERE subname LIKE 'georoute_move%'")|$(in_region eu -c "SELECT count(*) FROM pg_class WHERE relname LIKE 'accounts_us%' AND relkind = 'r'")|$(in_region eu -c "SELECT string_agg(relname, ',') FROM pg_class WHERE relname = 'users_us'")"
cat >"$WORK/load.sql" <<'SQL'
INSERT INTO accounts (id, region, email)
SELECT i, georoute.region_for('accounts', i), 'load' || i FROM (SELECT georoute.next_id('us') AS i) x;
SELECT count(*) FROM accounts WHERE region = georoute.region_for('accounts', :lo::bigint) AND id = :lo::bigint;
SQL
chmod 644 "$WORK/load.sql"
(eval "$(bash "$REGIONS_SH" env us)"; "$PGBIN/pgbench" -n -c 4 -j 2 -T 6 -D lo="$lo" -f "$WORK/load.sql" casebook >"$WORK/load.out" 2>&1; echo "rc=$?" >>"$WORK/load.out") &
load_pid=$!
sleep 1.5
moved=$(move_call "'accounts', int8range($lo, $hi), 'eu', across_jurisdictions => true" | grep -o 'rows of accounts now in eu')
wait $load_pid
check "move() under load: the range is now in the EU" "rows of accounts now in eu" "$moved"
done_tx=$(grep -o 'number of transactions actually processed: [0-9]*' "$WORK/load.out" | grep -o '[0-9]*$')
check "move() under load: the workload ran, no transaction failed" "yes|rc=0" \
  "$([ "${done_tx:-0}" -gt 100 ] && echo yes || echo "no: ${done_tx:-none}")|$(grep -o 'rc=[0-9]*' "$WORK/load.out")"
check "move() under load: every account written during the move is stored once, in the EU" "$done_tx|0|0" \
  "$(in_region eu -c "SELECT count(*) FROM accounts_eu WHERE email LIKE 'load%'")|$(in_region us -c "SELECT count(*) FROM accounts_us WHERE email LIKE 'load%'")|$(in_region eu -c "SELECT count(*) - count(DISTINCT id) FROM accounts_eu")"
check "move() under load: the moved accounts are in the EU, the same rows (count and checksum), none left in the US" "$before|0|5000" \
  "$(in_region eu -c "$digest AND region = 'eu'" | sed 's/accounts_eu/accounts/')|$(in_region us -c "SELECT count(*) FROM accounts_us WHERE id >= $lo")|$(in_region us -c "SELECT count(*) FROM accounts_us")"
check "move(): every cluster routes the range to eu (region_for)" "eu eu eu" \
  "$(for r in us eu asia; do in_region "$r" -c "SELECT georoute.region_for('accounts', $lo::bigint)"; done | paste -sd' ')"
check "move(): a row still written to the US for a moved key is forwarded to the EU" "0|1" \
  "$(in_region us -c "INSERT INTO accounts VALUES (georoute.next_id('us'), 'us', 'late@example.com')" >/dev/null;
     in_region us -c "SELECT count(*) FROM accounts_us WHERE email = 'late@example.com'")|$(in_region eu -c "SELECT count(*) FROM accounts_eu WHERE email = 'late@example.com'")"
check "move(): nothing left behind (publication, slot, subscription, staging table)" "0|0|0|0" \
  "$(in_region us -c "SELECT count(*) FROM pg_publication WHERE pubname LIKE 'georoute_move%'")|$(in_region us -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'georoute_move%'")|$(in_region eu -c "SELECT count(*) FROM pg_subscription WHERE subname LIKE 'georoute_move%'")|$(in_region eu -c "SELECT count(*) FROM pg_class WHERE relname LIKE 'accounts_us%' AND relkind = 'r'")"
# The notes belong to a role that is not a superuser, whose triggers on its
# partitions try to make it one when a superuser's code runs them: move()
# runs the owner's code (here and in the target) as the owner.
for r in us asia; do
  in_region "$r" >/dev/null <<SQL
CREATE ROLE tenant_owner;
GRANT CREATE ON SCHEMA public TO tenant_owner;
ALTER TABLE notes OWNER TO tenant_owner;
ALTER TABLE notes_$r OWNER TO tenant_owner;
SET ROLE tenant_owner;
CREATE TABLE trap_log (who name, superuser boolean);
CREATE FUNCTION trap() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
    INSERT INTO public.trap_log SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER ROLE tenant_owner SUPERUSER;
    END IF;
    RETURN NULL;
END \$\$;
CREATE TRIGGER trap AFTER INSERT OR DELETE ON notes_$r FOR EACH STATEMENT EXECUTE FUNCTION trap();
RESET ROLE;
SQL
done
notes_move=$(move_call "'notes', 't3', 'asia', across_jurisdictions => true")
echo "$notes_move" | grep -q 'now in asia' || echo "$notes_move" | head -5
check "move(): a tenant's notes move to Asia" "200|0|asia" \
  "$(in_region asia -c "SELECT count(*) FROM notes_asia WHERE tenant_id = 't3'")|$(in_region us -c "SELECT count(*) FROM notes_us WHERE tenant_id = 't3'")|$(in_region eu -c "SELECT georoute.region_for('notes', 't3'::text)")"
check "move(): every B-tree index in every cluster passes amcheck (heapallindexed)" "0 0 0" \
  "$(for r in us eu asia; do in_region "$r" -c "SELECT count(*) FROM (SELECT bt_index_check(c.oid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' AND c.relpersistence <> 't' AND c.relkind = 'i') x WHERE false"; done | paste -sd' ')"
check "move(): the DBA's column came along (the moved rows' note is set in the EU)" "0" \
  "$(in_region eu -c "SELECT count(*) FROM accounts_eu WHERE note IS DISTINCT FROM 'n'")"
check "move(): the owner's triggers ran as the owner in both clusters, and it is no superuser" "tenant_owner:false|tenant_owner:false|f f" \
  "$(in_region us -c "SELECT string_agg(DISTINCT who || ':' || superuser, ',') FROM trap_log")|$(in_region asia -c "SELECT string_agg(DISTINCT who || ':' || superuser, ',') FROM trap_log")|$(for r in us asia; do in_region "$r" -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'tenant_owner'"; done | paste -sd' ')"
check "move(): the residency guard still finds nothing wrong in any cluster" "0 0 0" \
  "$(for r in us eu asia; do in_region "$r" -c "SELECT count(*) FROM georoute.residency_violations()"; done | paste -sd' ')"

# Credentials: no password in a user mapping of a region's server (KB614);
# a link that needs a password (scram-sha-256 for georoute_link over TCP in
# the EU cluster) takes it from a password file of the US server's OS user
# (server option passfile), which no application role can read.
check "credentials: a user mapping of a region's server with a password is refused (KB614)" "KB614|0" \
  "$(in_region us -v VERBOSITY=verbose -c "CREATE USER MAPPING FOR app SERVER cluster_eu OPTIONS (user 'x', password 'secret')" 2>&1 | grep -o 'KB614' | head -1)|$(in_region us -c "SELECT count(*) FROM pg_user_mappings WHERE usename = 'app'")"
check "credentials: ... also added later by ALTER USER MAPPING (KB614)" "KB614" \
  "$(in_region us -v VERBOSITY=verbose -c "ALTER USER MAPPING FOR CURRENT_USER SERVER cluster_asia OPTIONS (ADD password 'secret')" 2>&1 | grep -o 'KB614' | head -1)"
eu_data=$(dirname "$(eval "$(bash "$REGIONS_SH" env eu)"; echo "$PGHOST")")/data
us_dir=$(dirname "$(eval "$(bash "$REGIONS_SH" env us)"; echo "$PGHOST")")
owner=$(stat -c %U "$eu_data")
{ echo "host all georoute_link 127.0.0.1/32 scram-sha-256"; cat "$eu_data/pg_hba.conf"; } >"$WORK/hba" && cat "$WORK/hba" >"$eu_data/pg_hba.conf"
in_region eu >/dev/null <<'SQL'
SET password_encryption = 'scram-sha-256';
CREATE ROLE georoute_link LOGIN PASSWORD 'link-secret';
GRANT SELECT ON users_eu TO georoute_link;
SELECT pg_reload_conf();
SQL
passfile="$us_dir/georoute.pgpass"
echo "127.0.0.1:$(bash "$REGIONS_SH" port eu):casebook:georoute_link:link-secret" >"$passfile"
chown "$owner" "$passfile"; chmod 600 "$passfile"
in_region us >/dev/null <<SQL
CREATE SERVER eu_link FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '127.0.0.1', port '$(bash "$REGIONS_SH" port eu)', dbname 'casebook', passfile '$passfile');
CREATE USER MAPPING FOR app SERVER eu_link OPTIONS (user 'georoute_link', password_required 'false');
CREATE FOREIGN TABLE eu_users_link (id bigint, region text, email text) SERVER eu_link OPTIONS (table_name 'users_eu');
GRANT SELECT ON eu_users_link TO app;
SQL
check "credentials: the application role reads through the password-protected link" "101" \
  "$(in_region us -U app -c "SELECT count(*) FROM eu_users_link")"
check "credentials: no password in any user mapping the role can see, or in the server's options" "0|0" \
  "$(in_region us -U app -c "SELECT count(*) FROM pg_user_mappings WHERE array_to_string(umoptions, ',') ~ 'password='")|$(in_region us -U app -c "SELECT count(*) FROM pg_foreign_server WHERE array_to_string(srvoptions, ',') ~ 'password='")"
check "credentials: the role cannot read the password file (42501)" "42501" \
  "$(in_region us -U app -v VERBOSITY=verbose -c "SELECT pg_read_file('$passfile')" 2>&1 | grep -o '42501' | head -1)"
check "credentials: the role cannot point its mapping at another password file (42501)" "42501" \
  "$(in_region us -U app -v VERBOSITY=verbose -c "ALTER USER MAPPING FOR app SERVER eu_link OPTIONS (SET password_required 'false')" 2>&1 | grep -o '42501' | head -1)"
mv "$passfile" "$passfile.away"
check "credentials: without the file the EU cluster refuses the link (the password is really required)" "yes" \
  "$(out=$(in_region us -U app -c "SELECT count(*) FROM eu_users_link" 2>&1); echo "$out" | grep -qiE 'password|authentication' && echo yes || echo "no: $out")"
mv "$passfile.away" "$passfile"

# Routed function calls: a router database (in the US cluster) with
# PL/Proxy and the same registry; proxy() run where the functions live
# writes PL/Proxy functions of the same signatures there. commerce.reserve
# of an EU variant (its id minted for eu) runs in the EU cluster,
# eventstore.append of an "eu:" stream too.
in_region us -c "CREATE ROLE shopper LOGIN" >/dev/null  # the router's cluster: one role for both databases
for r in us eu asia; do
  in_region "$r" >/dev/null <<SQL || { echo "FAILED commerce/eventstore in $r"; failed=$((failed + 1)); }
SET client_min_messages = warning;
CREATE EXTENSION commerce CASCADE;
CREATE EXTENSION eventstore;
INSERT INTO commerce.products (sku, name, base_price) VALUES ('p-$r', 'product of $r', 10);
INSERT INTO commerce.product_variants (id, product_id, sku)
SELECT georoute.next_id('$r'), id, 'v-$r' FROM commerce.products WHERE sku = 'p-$r';
SELECT commerce.restock(id, 5) FROM commerce.product_variants WHERE sku = 'v-$r';
DO \$\$ BEGIN CREATE ROLE shopper LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$;
GRANT EXECUTE ON FUNCTION commerce.reserve(bigint, bigint, interval, text) TO shopper;
SQL
done
in_region us -c "CREATE DATABASE router" >/dev/null
us_host=$(eval "$(bash "$REGIONS_SH" env us)"; echo "$PGHOST")
router="host=$us_host port=$(bash "$REGIONS_SH" port us) dbname=router"
printf 'CREATE EXTENSION plproxy;\n%s\n' "$REGISTRY" | in_region us -d router >/dev/null \
  || { echo "FAILED router set-up"; failed=$((failed + 1)); }
check "proxy(): commerce.reserve routed by its variant" "commerce.reserve(variant bigint, qty bigint, hold interval, idempotency_key text)" \
  "$(in_region eu -c "SELECT georoute.proxy('commerce.reserve(bigint,bigint,interval,text)', 'variant', '$router')")"
check "proxy(): eventstore.append routed by its stream" "eventstore.append(stream text, events jsonb, expected_version bigint, category text)" \
  "$(in_region eu -c "SELECT georoute.proxy('eventstore.append(text,jsonb,bigint,text)', 'stream', '$router')")"
check "the router's PL/Proxy cluster: a partition per region number (4)" "4|p1 p2 p3" \
  "$(in_region us -d router -c "SELECT georoute.proxy_cluster() || '|' || (SELECT string_agg(split_part(o, '=', 1), ' ' ORDER BY o) FROM pg_foreign_server s, unnest(s.srvoptions) o WHERE s.srvname = 'georoute' AND o ~ '^p[1-3]=')")"
eu_variant=$(in_region eu -c "SELECT id FROM commerce.product_variants WHERE sku = 'v-eu'")
us_variant=$(in_region us -c "SELECT id FROM commerce.product_variants WHERE sku = 'v-us'")
reservation=$(in_region us -d router -c "SELECT commerce.reserve($eu_variant, 2)")
check "a routed reserve of the EU variant held stock in the EU cluster" "1|3" \
  "$(in_region eu -c "SELECT count(*) FROM commerce.reservations WHERE id = $reservation" | tail -1)|$(in_region eu -c "SELECT commerce.available($eu_variant)")"
check "... and nothing in the US cluster" "0|5" \
  "$(in_region us -c "SELECT count(*) FROM commerce.reservations")|$(in_region us -c "SELECT commerce.available($us_variant)")"
check "a routed reserve of the US variant runs in the US cluster" "4" \
  "$(in_region us -d router -c "SELECT commerce.reserve($us_variant, 1)" >/dev/null; in_region us -c "SELECT commerce.available($us_variant)")"
check "the home cluster's errors come back with their SQLSTATE (KB101: more than the stock)" "KB101" \
  "$(in_region us -d router -v VERBOSITY=verbose -c "SELECT commerce.reserve($eu_variant, 100)" 2>&1 | grep -o 'KB101' | head -1)"
check "a role with EXECUTE on the routed function reserves in the EU cluster" "2" \
  "$(in_region us -d router -U shopper -c "SELECT commerce.reserve($eu_variant, 1)" >/dev/null; in_region eu -c "SELECT commerce.available($eu_variant)")"
check "... as itself: with EXECUTE revoked in the EU cluster only, its routed call is refused there (42501)" "42501|2" \
  "$(in_region eu -c "REVOKE EXECUTE ON FUNCTION commerce.reserve(bigint, bigint, interval, text) FROM shopper" >/dev/null;
     in_region us -d router -U shopper -v VERBOSITY=verbose -c "SELECT commerce.reserve($eu_variant, 1)" 2>&1 | grep -o '42501' | head -1;
     in_region eu -c "GRANT EXECUTE ON FUNCTION commerce.reserve(bigint, bigint, interval, text) TO shopper" >/dev/null)|$(in_region eu -c "SELECT commerce.available($eu_variant)")"
check "the routed function keeps the grants: a role without EXECUTE is refused (42501)" "42501" \
  "$(in_region us -d router -c "CREATE ROLE nobody LOGIN" >/dev/null; in_region us -d router -U nobody -v VERBOSITY=verbose -c "SELECT commerce.reserve($eu_variant, 1)" 2>&1 | grep -o '42501' | head -1)"
in_region us -d router -c "SELECT eventstore.append('eu:order-7', '[{\"type\": \"placed\", \"data\": {}}]')" >/dev/null
in_region us -d router -c "SELECT eventstore.append('asia:order-8', '[{\"type\": \"placed\", \"data\": {}}]')" >/dev/null
check "routed appends: the eu: stream is in the EU cluster only, the asia: stream in Asia only" "1|0|0|1" \
  "$(for r in eu us; do in_region "$r" -c "SELECT count(*) FROM eventstore.read_stream('eu:order-7')"; done | paste -sd'|')|$(for r in eu asia; do in_region "$r" -c "SELECT count(*) FROM eventstore.read_stream('asia:order-8')"; done | paste -sd'|')"
check "a key that names no region is refused before any call (KB601)" "KB601" \
  "$(in_region us -d router -v VERBOSITY=verbose -c "SELECT eventstore.append('mars:x', '[{\"type\": \"t\", \"data\": {}}]')" 2>&1 | grep -o 'KB601' | head -1)"
check "proxy() of a function whose key is not bigint or text is refused (KB616)" "KB616" \
  "$(in_region eu -v VERBOSITY=verbose -c "SELECT georoute.proxy('commerce.reserve(bigint,bigint,interval,text)', 'hold', '$router')" 2>&1 | grep -o 'KB616' | head -1)"
check "proxy() with a password in the router's connection string is refused (KB614)" "KB614" \
  "$(in_region eu -v VERBOSITY=verbose -c "SELECT georoute.proxy('commerce.reserve(bigint,bigint,interval,text)', 'variant', '$router password=x')" 2>&1 | grep -o 'KB614' | head -1)"
check "proxy() is not for every role (42501)" "42501" \
  "$(in_region eu -U shopper -v VERBOSITY=verbose -c "SELECT georoute.proxy('commerce.reserve(bigint,bigint,interval,text)', 'variant', '$router')" 2>&1 | grep -o '42501' | head -1)"

# A region down: the EU cluster stops. Local work in the US cluster goes
# on; what needs the EU cluster fails at once with a clear error (bounded:
# statement_timeout 5 s, postgres_fdw's connect_timeout on a TCP server);
# nothing hangs. The EU cluster back: work resumes.
bash "$REGIONS_SH" stop eu >/dev/null
check "EU down: the US cluster writes and reads its own rows" "50" \
  "$(in_region us -c "INSERT INTO users VALUES (georoute.next_id('us'), 'us', 'while-eu-down@example.com')" \
       -c "SELECT count(*) FROM users WHERE region = 'us'")"
t0=$(date +%s%N)
err=$(in_region us -c "SET statement_timeout = '5s'" -c "SELECT count(*) FROM users WHERE region = 'eu'" 2>&1 | grep ERROR | head -1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "EU down: a read of EU rows fails with postgres_fdw's connection error" "yes" \
  "$(echo "$err" | grep -q 'could not connect to server "cluster_eu"' && echo yes || echo "no: $err")"
check "EU down: ... within the bound (5 s), not hanging" "yes" "$([ "$ms" -lt 5000 ] && echo yes || echo "no: $ms ms")"
check "EU down: an EU row written through the US cluster is refused, nothing stored" "0" \
  "$(in_region us -c "INSERT INTO users VALUES (georoute.next_id('eu'), 'eu', 'lost@example.com')" >/dev/null 2>&1;
     in_region us -c "SELECT count(*) FROM users_us WHERE email = 'lost@example.com'")"
t0=$(date +%s%N)
err=$(in_region us -d router -c "SELECT commerce.reserve($eu_variant, 1)" 2>&1 | grep ERROR | head -1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "EU down: a routed call to the EU fails with a connection error, within 5 s" "yes" \
  "$(echo "$err" | grep -qiE 'connect|connection' && [ "$ms" -lt 5000 ] && echo yes || echo "no ($ms ms): $err")"
check "EU down: routed calls to the US still run" "3" \
  "$(in_region us -d router -c "SELECT commerce.reserve($us_variant, 1)" >/dev/null; in_region us -c "SELECT commerce.available($us_variant)")"
check "EU down: registry_differences() says the EU cannot be asked" "eu|cannot be asked" \
  "$(in_region us -F '|' -c "SELECT region, left(problem, 15) FROM georoute.registry_differences() WHERE code IS NULL")"
check "EU down: ids for EU are still minted (no call to the EU cluster)" "eu" \
  "$(in_region us -c "SELECT georoute.region_of_id(georoute.next_id('eu'))")"
bash "$REGIONS_SH" restart eu >/dev/null 2>&1 || true
check "EU back: reads of EU rows resume" "101" "$(in_region us -c "SELECT count(*) FROM users WHERE region = 'eu'")"
check "EU back: and writes" "102" \
  "$(in_region us -c "INSERT INTO users VALUES (georoute.next_id('eu'), 'eu', 'after@example.com')" \
       -c "SELECT count(*) FROM users WHERE region = 'eu'")"

check "EU back: routed calls to the EU run again" "1" \
  "$(in_region us -d router -c "SELECT commerce.reserve($eu_variant, 1)" >/dev/null; in_region eu -c "SELECT commerce.available($eu_variant)")"

# A region that hangs rather than refuses (its postmaster stopped with
# SIGSTOP: connections are accepted by the kernel and never answered).
# The bound is the region server's connect_timeout (here 2 s) for reads
# through postgres_fdw, and the router's statement_timeout for routed calls
# (PL/Proxy's asynchronous connection waits for the answer otherwise).
in_region us -c "ALTER SERVER cluster_eu OPTIONS (ADD connect_timeout '2')" >/dev/null
in_region us -d router -c "ALTER SERVER cluster_eu OPTIONS (ADD connect_timeout '2')" -c "SELECT georoute.proxy_cluster(query_timeout => 10)" >/dev/null
eu_pid=$(head -1 "$(dirname "$(eval "$(bash "$REGIONS_SH" env eu)"; echo "$PGHOST")")/data/postmaster.pid")
kill -STOP "$eu_pid"
t0=$(date +%s%N)
err=$(in_region us -c "SELECT count(*) FROM users WHERE region = 'eu'" 2>&1 | grep ERROR | head -1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "EU hung: a read of EU rows fails after connect_timeout (2 s), not later" "yes" \
  "$([ "$ms" -ge 1500 ] && [ "$ms" -lt 6000 ] && echo "$err" | grep -q 'could not connect to server "cluster_eu"' && echo yes || echo "no ($ms ms): $err")"
t0=$(date +%s%N)
err=$(in_region us -d router -v VERBOSITY=verbose -c "SET statement_timeout = '3s'" -c "SELECT commerce.reserve($eu_variant, 1)" 2>&1 | grep ERROR | head -1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "EU hung: a routed call to the EU is bounded by the router's statement_timeout (3 s, 57014)" "yes" \
  "$([ "$ms" -ge 2500 ] && [ "$ms" -lt 8000 ] && echo "$err" | grep -q '57014' && echo yes || echo "no ($ms ms): $err")"
check "EU hung: the US cluster's own work goes on" "US" \
  "$(in_region us -c "SELECT jurisdiction FROM georoute.regions WHERE code = georoute._local_region()")"
kill -CONT "$eu_pid"
check "EU answering again: reads resume" "102" "$(in_region us -c "SELECT count(*) FROM users WHERE region = 'eu'")"

# pgTAP in each cluster: the schema and privileges (test/pgtap/georoute_schema.sql,
# which rolls back) and the installed state (pgtap/region.sql).
for r in us eu asia; do
  for t in "$REPO/test/pgtap/georoute_schema.sql" "$SCRIPT_DIR/pgtap/region.sql"; do
    out=$(eval "$(bash "$REGIONS_SH" env "$r")"; pg_prove --psql-bin "$PGBIN/psql" --ext .sql -d casebook "$t" 2>&1)
    check "pgTAP $(basename "$t") in $r" "PASS" "$(echo "$out" | grep -o 'Result: [A-Z]*' | sed 's/Result: //')"
    echo "$out" | grep -E '^(not ok|#)' | head -10
  done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
