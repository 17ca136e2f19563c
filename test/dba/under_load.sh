#!/usr/bin/env bash
# A DBA's everyday changes while the extensions' direct paths run under a
# pgbench workload: CREATE INDEX CONCURRENTLY on the table a direct path
# writes, then ADD COLUMN ... NOT NULL DEFAULT on it, each mid-run. After the
# run: every client finished without error, no row misses the new column's
# value, every btree index of the extensions is complete under amcheck
# (bt_index_parent_check with heapallindexed), an index scan finds what a
# sequential scan finds, and the server log has no crash.
#
# Needs a running cluster with the extensions installed (the test cluster of
# run-tests.sh: eval "$(test/harness/cluster.sh env)"). Prints one ok/not ok
# line per check and ends with "N passed, N failed".
set -uo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
eval "$(bash test/harness/cluster.sh env)"
DB=dba_load
SECONDS_PER_RUN=${DBA_LOAD_SECONDS:-8}
WORK=$(mktemp -d /tmp/casebook-dba.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

passed=0 failed=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok     $1"
  else failed=$((failed + 1)); echo "not ok $1 (expected '$2', got '$3')"; fi
}
sql() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

log_file="$(dirname "$PGHOST")/server.log"  # cluster.sh keeps it beside the socket directory
log_lines_before=0
[ -n "$log_file" ] && [ -f "$log_file" ] && log_lines_before=$(wc -l <"$log_file")

PGOPTIONS=--client-min-messages=warning "$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
sql "SET client_min_messages = warning;
     CREATE EXTENSION amcheck; CREATE EXTENSION eventstore; CREATE EXTENSION feed;
     CREATE EXTENSION commerce CASCADE;" || { echo "not ok setup"; echo "0 passed, 1 failed"; exit 1; }
sql "INSERT INTO commerce.products (id, sku, name, base_price) VALUES (1, 'LD', 'Load', 1);
     INSERT INTO commerce.product_variants (id, product_id, sku) SELECT g, 1, 'LD-' || g FROM generate_series(1, 20) g;
     SELECT count(commerce.restock(g, 1000000)) FROM generate_series(1, 20) g;
     SELECT count(feed.create_user('u' || g)) FROM generate_series(1, 60) g;
     SELECT count(feed.follow(f, a)) FROM generate_series(1, 10) a, generate_series(11, 60) f;" >/dev/null

cat >"$WORK/eventstore.sql" <<'SQL'
\set s random(1, 500)
SELECT eventstore.append('acct-' || :s, '[{"type":"Tick","data":{"n":1}},{"type":"Tock","data":{}}]');
SQL
cat >"$WORK/commerce.sql" <<'SQL'
\set v random(1, 20)
SELECT commerce.reserve(:v, 1);
SQL
cat >"$WORK/feed.sql" <<'SQL'
\set a random(1, 10)
SELECT feed.post(:a, 'load');
SQL

# run NAME SCRIPT TABLE INDEX_COLUMNS: the workload, with the two changes
# to TABLE made one third and two thirds of the way through.
run() {
  local ext=$1 script=$2 table=$3 cols=$4
  local third=$((SECONDS_PER_RUN / 3))
  "$PGBIN/pgbench" -n -c 4 -j 2 -T "$SECONDS_PER_RUN" -f "$WORK/$script.sql" "$DB" >"$WORK/$ext.out" 2>&1 &
  local bench=$!
  sleep "$third"
  sql "CREATE INDEX CONCURRENTLY dba_${ext}_idx ON $table ($cols)"
  local cic=$?
  sleep "$third"
  sql "ALTER TABLE $table ADD COLUMN dba_note text NOT NULL DEFAULT 'dba'"
  local alter=$?
  wait "$bench"
  local rc=$?
  check "$ext: pgbench clients finished without error" "0" "$rc"
  check "$ext: CREATE INDEX CONCURRENTLY under load" "0" "$cic"
  check "$ext: ADD COLUMN ... NOT NULL DEFAULT under load" "0" "$alter"
  local tx
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/$ext.out")
  check "$ext: the workload ran (transactions > 0)" "yes" "$([ "${tx:-0}" -gt 0 ] && echo yes || echo no)"
  # Rows written after the column was added carry its default; rows written
  # before got it from the ALTER.
  check "$ext: no row without the new column's value" "0" \
        "$(sql "SELECT count(*) FROM $table WHERE dba_note IS DISTINCT FROM 'dba'")"
  check "$ext: index scan finds what a sequential scan finds" \
        "$(sql "SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM $table WHERE ($cols) IS NOT NULL")" \
        "$(sql "SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM $table WHERE ($cols) IS NOT NULL")"
}

run eventstore eventstore eventstore.events "event_type"
run stock commerce commerce.stock "reserved"
run holds commerce commerce.reservations "quantity"
run feed feed feed.timelines "author_id"

# Each index is checked in a loop (PERFORM): an error from amcheck fails it.
amcheck_result=$(sql "DO \$\$
  DECLARE ix regclass;
  BEGIN
    FOR ix IN SELECT i.indexrelid::regclass
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam
               WHERE n.nspname IN ('eventstore', 'feed', 'commerce') AND a.amname = 'btree' AND i.indisvalid
    LOOP
      PERFORM bt_index_parent_check(ix, heapallindexed => true);
    END LOOP;
  END \$\$" 2>&1 && echo clean)
check "every btree index of the extensions is complete (amcheck, heapallindexed)" "clean" "$amcheck_result"
check "stock never oversold" "0" "$(sql "SELECT count(*) FROM commerce.stock WHERE reserved < 0 OR reserved > quantity")"
check "holds match stock" "$(sql "SELECT coalesce(sum(quantity), 0) FROM commerce.reservations WHERE status = 'held'")" \
      "$(sql "SELECT sum(reserved) FROM commerce.stock")"
if [ -n "$log_file" ] && [ -f "$log_file" ]; then
  check "no backend crashed (server log)" "0" \
        "$(tail -n +"$((log_lines_before + 1))" "$log_file" | grep -cE 'terminated by signal|PANIC' || true)"
fi

"$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
