#!/usr/bin/env bash
# Driver examples (docs/drivers.md): psycopg 3 against the test cluster,
# directly and through pgbouncer in transaction mode. Runs on the cluster of
# test/harness/cluster.sh (make test runs it); ends with "N passed, N failed".
set -uo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
eval "$(bash "$REPO/test/harness/cluster.sh" env)"
WORK="$REPO/build/test-logs/drivers"
rm -rf "$WORK"; mkdir -p "$WORK"
BOUNCER_PORT=$((PGPORT + 2))
export BOUNCER_PORT

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import psycopg' 2>/dev/null || { echo "python3-psycopg is not installed"; echo "0 passed, 1 failed"; exit 1; }
command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed"; echo "0 passed, 1 failed"; exit 1; }

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS drivers WITH (FORCE)" -c "CREATE DATABASE drivers" \
  && psql -X -q -d drivers -c "SET client_min_messages = warning" -c "CREATE EXTENSION eventstore" \
  || { echo "0 passed, 1 failed"; exit 1; }

# shellcheck source=../harness/bouncer.sh
. "$REPO/test/harness/bouncer.sh"
start_bouncer "$WORK" "$BOUNCER_PORT" "drivers = host=$PGHOST port=$PGPORT dbname=drivers" postgres

"$PY" "$SCRIPT_DIR/psycopg_examples.py"
