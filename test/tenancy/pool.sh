#!/usr/bin/env bash
# tenancy through a real pgbouncer in transaction mode (one server
# connection, so every client reuses it), and connection options: see
# test/tenancy/pool.py. Runs on the cluster of test/harness/cluster.sh;
# ends with "N passed, N failed".
set -uo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
eval "$(bash "$REPO/test/harness/cluster.sh" env)"
WORK="$REPO/build/test-logs/tenancy-pool"
rm -rf "$WORK"; mkdir -p "$WORK"
BOUNCER_PORT=$((PGPORT + 3))
export BOUNCER_PORT

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import psycopg' 2>/dev/null || { echo "python3-psycopg is not installed"; echo "0 passed, 1 failed"; exit 1; }
command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed"; echo "0 passed, 1 failed"; exit 1; }

psql -X -q -d postgres -v ON_ERROR_STOP=1 <<'SQL' || { echo "0 passed, 1 failed"; exit 1; }
DROP DATABASE IF EXISTS tenancy_pool WITH (FORCE);
CREATE DATABASE tenancy_pool;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pool_app') THEN CREATE ROLE pool_app LOGIN; END IF;
END $$;
SQL
psql -X -q -o /dev/null -d tenancy_pool -v ON_ERROR_STOP=1 <<'SQL' || { echo "0 passed, 1 failed"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION tenancy;
SELECT tenancy.add_token_key(convert_to('pool-test-secret-of-32-bytes-or-more', 'UTF8'), 'pool');
CREATE TABLE notes (id int PRIMARY KEY, tenant_id uuid NOT NULL, body text NOT NULL);
INSERT INTO notes VALUES (1, 'aaaaaaaa-0000-4000-8000-000000000001', 'a-note'),
                         (2, 'bbbbbbbb-0000-4000-8000-000000000002', 'b-secret');
SELECT tenancy.protect('notes');
GRANT SELECT ON notes TO pool_app;
-- The textbook's design on the same rows, for the comparison.
CREATE TABLE textbook_notes AS SELECT * FROM notes;
ALTER TABLE textbook_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON textbook_notes USING (tenant_id = current_setting('app.tenant_id')::uuid);
GRANT SELECT ON textbook_notes TO pool_app;
SQL

# One server connection: every client runs on it in turn.
# shellcheck source=../harness/bouncer.sh
. "$REPO/test/harness/bouncer.sh"
start_bouncer "$WORK" "$BOUNCER_PORT" "tenancy_pool = host=$PGHOST port=$PGPORT dbname=tenancy_pool pool_size=1" postgres pool_app

"$PY" "$SCRIPT_DIR/pool.py"
