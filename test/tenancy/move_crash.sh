#!/usr/bin/env bash
# tenancy.isolate() and kill -9. The backend running a move is killed
# (SIGKILL: the server goes through crash recovery) while it copies the
# whale's rows; then the postmaster is killed while a second move waits for
# a reader's lock. After each restart every tenant's rows are checked
# against fingerprints taken before, and what the dead move left is
# listed; then isolate() runs again and finishes: every row in place,
# nothing of the earlier attempts left, amcheck, the guard. Runs on the
# cluster of test/harness/cluster.sh (it must be running). Ends with
# "N passed, N failed".
set -uo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
HARNESS="$REPO/test/harness"
eval "$(bash "$HARNESS/cluster.sh" env)"
DB=tenancy_move_crash
WHALE=ffffffff-0000-4000-8000-00000000000f
WORK="$REPO/build/test-logs/tenancy-move-crash"
rm -rf "$WORK"; mkdir -p "$WORK"
passed=0; failed=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok - $1"
  else failed=$((failed + 1)); echo "not ok - $1"; echo "#   expected: $2"; echo "#   got:      $3"; fi
}
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" \
  || { echo "0 passed, 1 failed"; exit 1; }
q <<SQL || { echo "0 passed, 1 failed"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION tenancy;
CREATE EXTENSION amcheck;
CREATE TABLE items (tenant_id uuid NOT NULL, id bigint, body text NOT NULL, PRIMARY KEY (tenant_id, id))
    PARTITION BY LIST (tenant_id);
CREATE TABLE items_shared PARTITION OF items DEFAULT PARTITION BY HASH (tenant_id);
CREATE TABLE items_h0 PARTITION OF items_shared FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE items_h1 PARTITION OF items_shared FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE items_h2 PARTITION OF items_shared FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE items_h3 PARTITION OF items_shared FOR VALUES WITH (MODULUS 4, REMAINDER 3);
INSERT INTO items SELECT '$WHALE', g, repeat(md5(g::text), 3) FROM generate_series(1, 400000) g;
INSERT INTO items SELECT md5(t::text)::uuid, g, md5(g::text) FROM generate_series(1, 50) t, generate_series(1, 200) g;
SELECT tenancy.protect('items');
-- The fingerprints every check compares with (committed before any crash).
CREATE TABLE expected AS
    SELECT tenant_id, count(*) AS n, md5(string_agg(body || id, ',' ORDER BY id)) AS digest FROM items GROUP BY 1;
CHECKPOINT;
SQL

same_rows() {
  q -c "SELECT count(*) FILTER (WHERE a.n = e.n AND a.digest = e.digest) || '/' || count(*)
          FROM expected e LEFT JOIN (SELECT tenant_id, count(*) AS n,
                                            md5(string_agg(body || id, ',' ORDER BY id)) AS digest
                                       FROM items GROUP BY 1) a USING (tenant_id)" 2>&1
}
left_over() {
  q -c "SELECT (SELECT count(*) FROM tenancy.moves) || ' moves, '
            || (SELECT count(*) FROM pg_class WHERE relname = 'items_t_ffffffff0000') || ' copy tables, '
            || (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'tenancy_move_%' AND tgparentid = 0) || ' triggers, '
            || (SELECT count(*) FROM pg_constraint WHERE conname LIKE 'tenancy_not_%') || ' fences'" 2>&1
}
crash() {  # crash ROUND: kill -9 of the postmaster, restart on the same data directory
  local out rc=0
  out=$(bash "$HARNESS/cluster.sh" crash --kill9 2>&1) || rc=$?
  [ "$rc" -eq 0 ] || echo "# crash: $out"
  wait "$MOVER" 2>/dev/null
  out=$(bash "$HARNESS/cluster.sh" restart 2>&1) || { check "$1: the server restarts" "0" "$out"; return 1; }
  check "$1: the server restarts after kill -9" "ok" "ok"
}
crash_backend() {  # crash_backend ROUND PID: kill -9 of one backend; the server recovers by itself
  kill -9 "$2"
  wait "$MOVER" 2>/dev/null
  local up=""
  for _ in $(seq 1 120); do
    up=$(q -c "SELECT 'up'" 2>/dev/null) && [ "$up" = "up" ] && break
    sleep 0.5
  done
  check "$1: the server is back after crash recovery" "up" "$up"
}
mover_pid() { q -c "SELECT pid FROM pg_stat_activity WHERE datname = '$DB' AND query LIKE 'CALL tenancy.isolate%'" 2>/dev/null; }

# Round 1: killed while copying.
psql -X -q -d "$DB" -c "CALL tenancy.isolate('$WHALE')" >"$WORK/round1.log" 2>&1 &
MOVER=$!
# pg_stat_activity shows the CALL, not its steps: the copy is under way
# when the new partition's file grows (its rows are not committed yet).
step=""
for _ in $(seq 1 500); do
  step=$(q -c "SELECT 'copying' FROM pg_class WHERE relname = 'items_t_ffffffff0000'
                 AND pg_relation_size(oid) > 0" 2>/dev/null)
  [ -n "$step" ] && break
  sleep 0.01
done
check "round 1: caught the move while it copies" "copying" "$step"
crash_backend "round 1 (during the copy)" "$(mover_pid)"
check "round 1: every tenant's rows as before" "51/51" "$(same_rows)"
check "round 1: the whale's rows still in the shared partitions" "400000" \
  "$(q -c "SELECT count(*) FROM items_shared WHERE tenant_id = '$WHALE'")"
echo "# round 1 left: $(left_over)"

# Round 2: a reader holds the table; the move (which first clears what
# round 1 left) waits for its lock; the postmaster is killed.
psql -X -q -d "$DB" -c "BEGIN" -c "SELECT count(*) FROM items" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
READER=$!
sleep 0.5
psql -X -q -d "$DB" -c "CALL tenancy.isolate('$WHALE', lock_timeout => '0')" >"$WORK/round2.log" 2>&1 &
MOVER=$!
waiting=""
for _ in $(seq 1 600); do
  # Dropping round 1's triggers and fences, or adding new fences, asks for
  # ACCESS EXCLUSIVE on a shared partition, behind the reader's ACCESS SHARE.
  waiting=$(q -c "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE a.datname = '$DB' AND a.query LIKE 'CALL tenancy.isolate%' AND NOT l.granted
                     AND l.mode = 'AccessExclusiveLock' AND l.locktype = 'relation'" 2>/dev/null)
  [ "$waiting" = "1" ] && break
  sleep 0.05
done
check "round 2: the move waits for the reader's lock" "1" "$waiting"
crash "round 2 (waiting for a lock)" || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
wait "$READER" 2>/dev/null
check "round 2: every tenant's rows as before" "51/51" "$(same_rows)"
echo "# round 2 left: $(left_over)"

# isolate() again: it clears what is left and finishes.
out=$(psql -X -q -d "$DB" -c "CALL tenancy.isolate('$WHALE')" 2>&1)
echo "$out" | sed 's/^/# /'
check "isolate() after the crashes finishes" "1" "$(echo "$out" | grep -c 'now in a partition of their own')"
check "every tenant's rows as before, after the move" "51/51" "$(same_rows)"
check "the whale's rows in its partition" "400000 items_t_ffffffff0000" \
  "$(q -c "SELECT count(*) || ' ' || string_agg(DISTINCT tableoid::regclass::text, ',') FROM items WHERE tenant_id = '$WHALE'")"
check "nothing of the dead moves left" "0 moves, 1 copy tables, 0 triggers, 0 fences" "$(left_over)"
check "amcheck of every index" "ok" \
  "$(q -c "SELECT 'ok' FROM (SELECT bt_index_check(i.indexrelid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'i') x LIMIT 1" 2>&1)"
check "the new partition is guarded" "t" \
  "$(q -c "SELECT relforcerowsecurity AND tenancy._broken(oid) IS NULL FROM pg_class WHERE relname = 'items_t_ffffffff0000'")"

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
