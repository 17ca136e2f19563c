#!/usr/bin/env bash
# tenancy: per-tenant pools. An isolated whale and the shared tenants behind
# a pgbouncer whose [databases] section is tenancy.pgbouncer_config()'s
# output, as is: two pools with their sizes, pool_for() naming each
# tenant's, the whale's clients served by its own pool and every client
# still seeing only its own tenant. Runs on the cluster of
# test/harness/cluster.sh; ends with "N passed, N failed".
set -uo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
eval "$(bash "$REPO/test/harness/cluster.sh" env)"
WORK="$REPO/build/test-logs/tenancy-pools"
rm -rf "$WORK"; mkdir -p "$WORK"
BOUNCER_PORT=$((PGPORT + 4))
WHALE=ffffffff-0000-4000-8000-00000000000f
SMALL=aaaaaaaa-0000-4000-8000-000000000001
passed=0; failed=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok - $1"
  else failed=$((failed + 1)); echo "not ok - $1"; echo "#   expected: $2"; echo "#   got:      $3"; fi
}
command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed"; echo "0 passed, 1 failed"; exit 1; }

psql -X -q -d postgres -v ON_ERROR_STOP=1 <<'SQL' || { echo "0 passed, 1 failed"; exit 1; }
DROP DATABASE IF EXISTS tenancy_pools WITH (FORCE);
CREATE DATABASE tenancy_pools;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pools_app') THEN CREATE ROLE pools_app LOGIN; END IF;
END $$;
SQL
psql -X -q -o /dev/null -d tenancy_pools -v ON_ERROR_STOP=1 <<SQL || { echo "0 passed, 1 failed"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION tenancy;
CREATE TABLE items (tenant_id uuid NOT NULL, id int, body text, PRIMARY KEY (tenant_id, id))
    PARTITION BY LIST (tenant_id);
CREATE TABLE items_shared PARTITION OF items DEFAULT PARTITION BY HASH (tenant_id);
CREATE TABLE items_h0 PARTITION OF items_shared FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE items_h1 PARTITION OF items_shared FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO items SELECT '$WHALE', g, 'whale' FROM generate_series(1, 300) g;
INSERT INTO items SELECT '$SMALL', g, 'small' FROM generate_series(1, 3) g;
SELECT tenancy.protect('items');
GRANT SELECT ON items TO pools_app;
GRANT EXECUTE ON FUNCTION tenancy.enter(uuid, boolean), tenancy.pool_for(uuid) TO pools_app;
CALL tenancy.isolate('$WHALE');
SQL

# The [databases] lines, exactly as the function writes them (its default
# host: this server's socket directory).
psql -X -At -d tenancy_pools -c "SELECT tenancy.pgbouncer_config(shared_pool_size => 3, isolated_pool_size => 2)" \
  >"$WORK/databases.ini"
cat "$WORK/databases.ini"
check "the config has a [databases] header" "[databases]" "$(head -1 "$WORK/databases.ini")"
check "two pools: shared and the whale's" "2" "$(grep -c ' = host=' "$WORK/databases.ini")"
# As the application role, granted pool_for() only.
whale_pool=$(psql -X -At -U pools_app -d tenancy_pools -c "SELECT tenancy.pool_for('$WHALE')" 2>&1)
small_pool=$(psql -X -At -U pools_app -d tenancy_pools -c "SELECT tenancy.pool_for('$SMALL')" 2>&1)
check "pool_for(whale) names the whale's pool" "tenancy_pools_t_ffffffff0000" "$whale_pool"
check "pool_for(small tenant) names the shared pool" "tenancy_pools" "$small_pool"
check "the application role cannot read tenancy.isolated itself" "ERROR:  permission denied for table isolated" \
  "$(psql -X -At -U pools_app -d tenancy_pools -c "SELECT count(*) FROM tenancy.isolated" 2>&1)"

# shellcheck source=../harness/bouncer.sh
. "$REPO/test/harness/bouncer.sh"
start_bouncer "$WORK" "$BOUNCER_PORT" "$(tail -n +2 "$WORK/databases.ini")" postgres pools_app

bq() {  # bq DATABASE USER SQL: one statement through pgbouncer
  psql -X -At -h 127.0.0.1 -p "$BOUNCER_PORT" -U "$2" -d "$1" -c "$3" 2>&1
}
check "pgbouncer reads the pool sizes" "tenancy_pools 3|tenancy_pools_t_ffffffff0000 2" \
  "$(bq pgbouncer postgres "SHOW DATABASES" | awk -F'|' '$1 ~ /^tenancy_pools/ {print $1, $6}' | sort | paste -sd'|')"

# Each tenant through its pool: the whale's rows come from its partition,
# the small tenant's from the shared one; neither sees the other.
check "the whale through its pool" "300|items_t_ffffffff0000" \
  "$(bq "$whale_pool" pools_app "BEGIN; SELECT tenancy.enter('$WHALE') IS NULL; SELECT count(*) || '|' || min(tableoid::regclass::text) FROM items; COMMIT;" | sed -n 3p)"
check "the small tenant through the shared pool" "3|items_h" \
  "$(bq "$small_pool" pools_app "BEGIN; SELECT tenancy.enter('$SMALL') IS NULL; SELECT count(*) || '|' || left(min(tableoid::regclass::text), 7) FROM items; COMMIT;" | sed -n 3p)"
# Eight whale clients at once: its pool holds at most two server
# connections, the shared pool none of them.
for i in $(seq 1 8); do
  bq "$whale_pool" pools_app "BEGIN; SELECT tenancy.enter('$WHALE') IS NULL; SELECT count(*), pg_sleep(1) FROM items; COMMIT;" >/dev/null &
done
sleep 0.5
# Columns by name (their order changes between pgbouncer versions):
# server connections = sv_active + sv_idle + sv_used; waiting = cl_waiting.
pools=$(psql -X -A -h 127.0.0.1 -p "$BOUNCER_PORT" -U postgres -d pgbouncer -c "SHOW POOLS" 2>&1 | awk -F'|' '
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  $1 ~ /^tenancy_pools/ && $2 == "pools_app" {
    print $1, $col["sv_active"] + $col["sv_idle"] + $col["sv_used"], ($col["cl_waiting"] > 0 ? "waiting" : "none"),
          "clients=" $col["cl_active"] + $col["cl_waiting"] }' |
  sort | paste -sd'|')
wait
echo "# SHOW POOLS while 8 whale clients run: $pools"
check "the whale's 8 clients share its 2 server connections" "tenancy_pools_t_ffffffff0000 2 waiting" \
  "$(echo "$pools" | tr '|' '\n' | grep '_t_' | cut -d" " -f1-3)"
check "none of them is a client of the shared pool" "clients=0" \
  "$(echo "$pools" | tr '|' '\n' | grep -v '_t_' | awk '{print $4}')"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
