# Sourced by tests that run clients through pgbouncer in transaction mode.
#   start_bouncer WORK PORT DATABASES_LINES USERS...
# writes WORK/pgbouncer.ini ([databases] from DATABASES_LINES, trust auth
# for USERS; the first user may also read the admin console), starts pgbouncer as the cluster's OS user, stops it on EXIT,
# and waits until PORT accepts connections. On failure it prints
# "0 passed, 1 failed" and exits 1.
start_bouncer() {
  local work=$1 port=$2 databases=$3; shift 3
  cat >"$work/pgbouncer.ini" <<INI
[databases]
$databases
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $work/userlist.txt
pool_mode = transaction
default_pool_size = 2
admin_users = $1
max_client_conn = 100
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
  : >"$work/userlist.txt"
  local u
  for u in "$@"; do printf '"%s" ""\n' "$u" >>"$work/userlist.txt"; done
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$work"
    runuser -u postgres -- pgbouncer -d "$work/pgbouncer.ini" || { echo "pgbouncer did not start"; echo "0 passed, 1 failed"; exit 1; }
  else
    pgbouncer -d "$work/pgbouncer.ini" || { echo "pgbouncer did not start"; echo "0 passed, 1 failed"; exit 1; }
  fi
  BOUNCER_WORK=$work
  trap '[ -f "$BOUNCER_WORK/pgbouncer.pid" ] && kill "$(cat "$BOUNCER_WORK/pgbouncer.pid")" 2>/dev/null' EXIT
  local _
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
}
