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

cat >"$WORK/pgbouncer.ini" <<INI
[databases]
drivers = host=$PGHOST port=$PGPORT dbname=drivers
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $WORK/userlist.txt
pool_mode = transaction
default_pool_size = 2
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
INI
echo '"postgres" ""' >"$WORK/userlist.txt"
if [ "$(id -u)" -eq 0 ]; then
  chown -R postgres: "$WORK"
  runuser -u postgres -- pgbouncer -d "$WORK/pgbouncer.ini" || { echo "pgbouncer did not start"; echo "0 passed, 1 failed"; exit 1; }
else
  pgbouncer -d "$WORK/pgbouncer.ini" || { echo "pgbouncer did not start"; echo "0 passed, 1 failed"; exit 1; }
fi
stop_bouncer() { [ -f "$WORK/pgbouncer.pid" ] && kill "$(cat "$WORK/pgbouncer.pid")" 2>/dev/null; }
trap stop_bouncer EXIT
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$BOUNCER_PORT") 2>/dev/null && break
  sleep 0.1
done

"$PY" "$SCRIPT_DIR/psycopg_examples.py"
