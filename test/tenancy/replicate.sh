#!/usr/bin/env bash
# tenancy.replicate(): one tenant's rows on a second, real cluster through a
# row-filtered publication. Starts two throwaway clusters of its own (the
# primary with wal_level = logical) and stops them; ends with
# "N passed, N failed".
set -uo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
CLUSTER="$REPO/test/harness/cluster.sh"
P_PORT=${TENANCY_PRIMARY_PORT:-55431}
R_PORT=${TENANCY_REPLICA_PORT:-55432}
passed=0; failed=0
check() { # check WHAT EXPECTED GOT
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok     $1"
  else failed=$((failed + 1)); echo "FAILED $1: expected [$2], got [$3]"; fi
}
primary() { CASEBOOK_CLUSTER_NAME=tenancy-primary CASEBOOK_PORT=$P_PORT "$@"; }
replica() { CASEBOOK_CLUSTER_NAME=tenancy-replica CASEBOOK_PORT=$R_PORT "$@"; }
stop_all() { primary bash "$CLUSTER" stop >/dev/null 2>&1; replica bash "$CLUSTER" stop >/dev/null 2>&1; }
trap stop_all EXIT

CASEBOOK_EXTRA_CONF="wal_level = logical" primary bash "$CLUSTER" start >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
replica bash "$CLUSTER" start >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
PENV=$(primary bash "$CLUSTER" env); RENV=$(replica bash "$CLUSTER" env)
P() { (eval "$PENV"; psql -X -q -At -v ON_ERROR_STOP=1 -d casebook "$@"); }
R() { (eval "$RENV"; psql -X -q -At -v ON_ERROR_STOP=1 -d casebook "$@"); }
P_HOST=$(eval "$PENV"; echo "$PGHOST")

SCHEMA="
CREATE TABLE projects (id bigint, tenant_id uuid NOT NULL, name text, PRIMARY KEY (tenant_id, id))
    PARTITION BY HASH (tenant_id);
CREATE TABLE projects_0 PARTITION OF projects FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE projects_1 PARTITION OF projects FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE tasks (id bigint, tenant_id uuid NOT NULL, title text, PRIMARY KEY (tenant_id, id));
CREATE TABLE notes (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, body text);"
A=aaaaaaaa-0000-4000-8000-000000000001
B=bbbbbbbb-0000-4000-8000-000000000002

P -c "SET client_min_messages = warning" -c "CREATE EXTENSION tenancy" -c "$SCHEMA" >/dev/null
P <<SQL >/dev/null
INSERT INTO projects SELECT g, t, 'p' || g FROM generate_series(1, 20) g, (VALUES ('$A'::uuid), ('$B')) v(t);
INSERT INTO tasks SELECT g, t, 't' || g FROM generate_series(1, 50) g, (VALUES ('$A'::uuid), ('$B')) v(t);
SELECT tenancy.protect('projects'), tenancy.protect('tasks'), tenancy.protect('notes');
SQL
# notes' primary key lacks the tenant column: refused, nothing created.
got=$(P -c "SELECT tenancy.replicate('$A', 'whale_a')" 2>&1 | grep -o 'replica identity of [a-z_.]*' | head -1)
check "a table whose replica identity lacks the tenant column is refused" "replica identity of public.notes" "$got"
check "nothing was created" "0" "$(P -c "SELECT count(*) FROM pg_publication")"
P -c "SELECT tenancy.unprotect('notes')" -c "DROP TABLE notes" >/dev/null
check "replicate() publishes every protected table" "2" "$(P -c "SELECT tenancy.replicate('$A', 'whale_a')")"
check "row filters name the tenant" "2" "$(P -c "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'whale_a' AND rowfilter LIKE '%$A%'")"

R -c "$SCHEMA" >/dev/null
R -c "CREATE SUBSCRIPTION whale_a CONNECTION 'host=$P_HOST port=$P_PORT dbname=casebook user=postgres' PUBLICATION whale_a" 2>/dev/null
wait_for() { # wait_for SQL EXPECTED: poll the replica for up to 30 s
  for _ in $(seq 1 150); do [ "$(R -c "$1")" = "$2" ] && return 0; sleep 0.2; done; return 1; }
wait_for "SELECT count(*) FROM tasks" "50"
check "initial copy: the tenant's tasks" "50|$A" "$(R -c "SELECT count(*), string_agg(DISTINCT tenant_id::text, ',') FROM tasks")"
check "initial copy: the tenant's projects, through the partitioned root" "20|$A" "$(R -c "SELECT count(*), string_agg(DISTINCT tenant_id::text, ',') FROM projects")"

# Live changes: only A's arrive.
P <<SQL >/dev/null
INSERT INTO tasks VALUES (100, '$A', 'new a'), (100, '$B', 'new b');
UPDATE tasks SET title = 'changed' WHERE id = 1;
DELETE FROM tasks WHERE id = 2;
INSERT INTO projects VALUES (100, '$A', 'new a'), (100, '$B', 'new b');
SQL
wait_for "SELECT count(*) FROM tasks" "50"
wait_for "SELECT count(*) FROM projects" "21"
check "inserts, updates and deletes of the tenant arrive; none of another" "50|changed|0|1|0" \
  "$(R -c "SELECT (SELECT count(*) FROM tasks), (SELECT title FROM tasks WHERE id = 1), (SELECT count(*) FROM tasks WHERE id = 2), (SELECT count(*) FROM tasks WHERE id = 100), (SELECT count(*) FROM tasks WHERE tenant_id <> '$A')")"
check "the replica holds no row of another tenant" "0" "$(R -c "SELECT count(*) FROM projects WHERE tenant_id <> '$A'")"
# A second call (another table protected since) replaces the table list.
P -c "CREATE TABLE comments (id bigint, tenant_id uuid NOT NULL, PRIMARY KEY (tenant_id, id))" \
  -c "SELECT tenancy.protect('comments')" >/dev/null
check "replicate() again adds the new table" "3" "$(P -c "SELECT tenancy.replicate('$A', 'whale_a')")"
got=$(P -c "CREATE ROLE repl_app" -c "SET ROLE repl_app" -c "SELECT tenancy.replicate('$A', 'x')" 2>&1 | grep -o 'permission denied for function replicate' | head -1)
check "application roles cannot publish a tenant" "permission denied for function replicate" "$got"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
