#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for casebook tests, demos and benchmarks.
#
#   cluster.sh start [--mode test|demo|bench]   fresh initdb + start (default mode: test)
#   cluster.sh stop                             stop it if running
#   cluster.sh status                           prints running/stopped; exit 0/3
#   cluster.sh env                              export lines: eval "$(cluster.sh env)"
#   cluster.sh crash --kill9|--immediate        crash it, keeping the data directory (recovery tests):
#                                               --kill9 sends SIGKILL to the postmaster alone and waits
#                                               for its orphaned server processes to exit (exit 3 if
#                                               some had to be killed); --immediate is pg_ctl stop -m immediate
#   cluster.sh restart                          same data directory: pg_ctl restart -m fast when running,
#                                               plain start (crash recovery) after a crash or a stop
#   cluster.sh info                             shell lines CLUSTER_PID, CLUSTER_DATA, CLUSTER_LOG
#
# The cluster lives in $REPO/.cluster (data/, run/ = socket dir, server.log).
# As root, the server runs as the "postgres" OS user; if that user cannot reach
# the checkout, a directory /tmp/casebook-cluster-<hash of repo path> is used.
# Environment: CASEBOOK_PORT (default 55415), CASEBOOK_EXTRA_CONF (extra
# postgresql.conf lines, appended verbatim), CASEBOOK_CLUSTER_NAME (a named
# second cluster in $REPO/.cluster-<name>).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO"

PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}     # never the pg_ctl found first on PATH
PORT=${CASEBOOK_PORT:-55415}
OWNER=postgres

die() { echo "cluster: ERROR: $*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then IS_ROOT=1; else IS_ROOT=0; fi

# Run a command as the cluster owner (postgres when we are root), from a
# directory that user can always enter.
as_owner() {
  if [ "$IS_ROOT" -eq 1 ]; then
    (cd / && runuser -u "$OWNER" -- "$@")
  else
    "$@"
  fi
}

# ---- location (computed the same way on every call) -----------------------
# CASEBOOK_CLUSTER_NAME gives a second cluster beside the test one (the
# benchmarks use "bench"), so both can run at once on different ports.
SUFFIX=${CASEBOOK_CLUSTER_NAME:+-$CASEBOOK_CLUSTER_NAME}
LOC="$REPO/.cluster$SUFFIX"
LOC_REASON=""
fallback_loc() {
  local hash
  hash=$(printf '%s' "$REPO" | sha1sum | cut -c1-8)
  LOC="/tmp/casebook-cluster-$hash$SUFFIX"
  LOC_REASON=$1
}
if [ "$IS_ROOT" -eq 1 ]; then
  id -u "$OWNER" >/dev/null 2>&1 || die "OS user '$OWNER' does not exist (is postgresql-15 installed? run test/harness/deps.sh)"
  # access(2) also checks every parent directory, so this tells whether the
  # postgres user can reach the checkout at all.
  if ! runuser -u "$OWNER" -- test -x "$REPO" 2>/dev/null; then
    fallback_loc "user $OWNER cannot traverse $REPO"
  fi
fi
# Unix socket paths are limited to 107 bytes.
if [ -z "$LOC_REASON" ] && [ "${#LOC}" -gt 80 ]; then
  fallback_loc "socket path under $REPO would be too long"
fi
DATA="$LOC/data"
RUN="$LOC/run"
LOG="$LOC/server.log"

# ---- helpers ----------------------------------------------------------------

# Pid from postmaster.pid if that process is alive and is our postmaster.
live_pid() {
  local pid cmdline
  [ -f "$DATA/postmaster.pid" ] || return 1
  pid=$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  [[ "$cmdline" == *postgres* && "$cmdline" == *"$DATA"* ]] || return 1
  echo "$pid"
}

# Is something (not necessarily ours) listening on the TCP port?
port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Hltn "sport = :$PORT" 2>/dev/null)" ]
  else
    local rc=0
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 3 || rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]
  fi
}

# Stop our cluster if it runs. Prints what happened. Returns 0 in all normal cases.
stop_cluster() {
  local pid
  if [ ! -f "$DATA/postmaster.pid" ]; then
    echo "cluster: not running (no cluster at $LOC)"
    return 0
  fi
  if ! pid=$(live_pid); then
    echo "cluster: stale postmaster.pid (server not alive), nothing to stop"
    return 0
  fi
  if as_owner "$PGBIN/pg_ctl" -D "$DATA" stop -m fast -w -t 60 >/dev/null 2>&1; then
    echo "cluster: stopped (pid $pid, port $PORT)"
    return 0
  fi
  echo "cluster: fast shutdown failed, trying immediate" >&2
  if as_owner "$PGBIN/pg_ctl" -D "$DATA" stop -m immediate -w -t 30 >/dev/null 2>&1; then
    echo "cluster: stopped with immediate shutdown (pid $pid)"
    return 0
  fi
  if live_pid >/dev/null; then
    echo "cluster: immediate shutdown failed, killing pid $pid" >&2
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
    live_pid >/dev/null && die "could not stop postmaster pid $pid"
  fi
  echo "cluster: stopped (killed pid $pid)"
}

mode_conf() {
  case "$1" in
    test)
      printf '%s\n' "fsync = off" "synchronous_commit = off" "full_page_writes = off" ;;
    demo)
      : ;;
    bench)
      printf '%s\n' "fsync = on" "synchronous_commit = on" "shared_buffers = 1GB" \
                    "max_wal_size = 4GB" "checkpoint_timeout = 30min" ;;
  esac
}

# ---- subcommands --------------------------------------------------------------

cmd_start() {
  local mode=test
  while [ $# -gt 0 ]; do
    case "$1" in
      --mode) [ $# -ge 2 ] || die "--mode needs a value"; mode=$2; shift 2 ;;
      --mode=*) mode=${1#--mode=}; shift ;;
      *) die "unknown start option: $1" ;;
    esac
  done
  case "$mode" in test|demo|bench) ;; *) die "unknown mode '$mode' (test|demo|bench)" ;; esac
  [ -x "$PGBIN/initdb" ] || die "$PGBIN/initdb not found (run test/harness/deps.sh)"

  [ -z "$LOC_REASON" ] || echo "cluster: using $LOC ($LOC_REASON)"
  [ -L "$LOC" ] && die "$LOC is a symlink; refusing to use it"

  # A previous cluster (ours) is stopped; everything is recreated below.
  if [ -f "$DATA/postmaster.pid" ]; then
    stop_cluster
  fi
  if port_in_use; then
    die "port $PORT is already in use by another process (not this cluster); set CASEBOOK_PORT to a free port"
  fi

  # Fresh directories, owned by the server's user.
  if [ -e "$DATA" ]; then
    rm -rf "$DATA" || die "cannot remove old $DATA"
  fi
  mkdir -p "$RUN"
  rm -f "$LOG" "$RUN"/.s.PGSQL.*
  if [ "$IS_ROOT" -eq 1 ]; then
    chown -R "$OWNER:" "$LOC"
    runuser -u "$OWNER" -- test -x "$LOC" || die "user $OWNER cannot reach $LOC"
  fi

  # Fresh cluster every start, so no state leaks between runs.
  local locale_opt=(--no-locale)
  if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale_opt=(--locale=C.UTF-8); fi
  local out
  if ! out=$(as_owner "$PGBIN/initdb" -D "$DATA" -A trust -U postgres --no-sync -E UTF8 "${locale_opt[@]}" 2>&1); then
    echo "$out" >&2
    die "initdb failed"
  fi

  {
    echo ""
    echo "# ---- casebook harness (mode: $mode) ----"
    echo "port = $PORT"
    echo "unix_socket_directories = '$RUN'"
    echo "listen_addresses = '127.0.0.1'"
    echo "shared_preload_libraries = 'pg_cron, eventstore, feed, tenancy, georoute'"
    echo "cron.database_name = 'casebook'"
    echo "max_connections = 120"
    echo "max_locks_per_transaction = 256"
    echo "log_min_messages = warning"
    echo "logging_collector = off"
    mode_conf "$mode"
    if [ -n "${CASEBOOK_EXTRA_CONF:-}" ]; then
      echo "# CASEBOOK_EXTRA_CONF"
      printf '%s\n' "$CASEBOOK_EXTRA_CONF"
    fi
  } | as_owner tee -a "$DATA/postgresql.conf" >/dev/null

  if ! as_owner "$PGBIN/pg_ctl" -D "$DATA" -w -t 60 -l "$LOG" start >/dev/null 2>&1; then
    echo "cluster: server failed to start; last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2 2>/dev/null || true
    exit 1
  fi

  # The pg_cron database (cron.database_name).
  if ! out=$("$PGBIN/psql" -X -q -h "$RUN" -p "$PORT" -U postgres -d postgres \
               -v ON_ERROR_STOP=1 -c 'CREATE DATABASE casebook' 2>&1); then
    echo "$out" >&2
    die "could not create database casebook"
  fi

  echo "cluster up: port $PORT, socket $RUN, data $DATA"
}

cmd_status() {
  local pid
  if pid=$(live_pid); then
    echo "running: pid $pid, port $PORT, socket $RUN, data $DATA"
    return 0
  fi
  echo "stopped (cluster location $LOC)"
  return 3
}

# Attachment count of the cluster's SysV shared memory segment (line 7 of
# postmaster.pid: key, id): 0 once every server process has exited or the
# segment is gone. A new postmaster refuses to start while it is not 0.
shm_attached() {
  local shmid
  shmid=$(sed -n 7p "$DATA/postmaster.pid" 2>/dev/null | awk '{print $2}')
  [[ "$shmid" =~ ^[0-9]+$ ]] || { echo 0; return; }
  ipcs -m 2>/dev/null | awk -v id="$shmid" '$2 == id { n = $6 } END { print n + 0 }'
}

cmd_crash() {
  local how=${1:-} pid children c waited survivors=""
  case "$how" in --kill9|--immediate) ;; *) die "crash needs --kill9 or --immediate" ;; esac
  pid=$(live_pid) || die "not running (no live postmaster for $DATA)"
  if [ "$how" = "--immediate" ]; then
    as_owner "$PGBIN/pg_ctl" -D "$DATA" stop -m immediate -w -t 60 >/dev/null 2>&1 \
      || die "pg_ctl stop -m immediate failed"
    echo "cluster: immediate shutdown (pid $pid)"
    return 0
  fi
  children=$(ps -o pid= --ppid "$pid" | tr -s ' \n' ' ')
  kill -KILL "$pid"
  # The orphans notice the postmaster's death when they next wait (a latch,
  # a lock, the client) and exit; wait for that, bounded.
  waited=0
  while [ "$waited" -lt "${CASEBOOK_ORPHAN_WAIT:-30}" ]; do
    survivors=""
    for c in $children; do
      if grep -qa postgres "/proc/$c/cmdline" 2>/dev/null; then survivors="$survivors $c"; fi
    done
    if [ -z "$survivors" ] && [ "$(shm_attached)" = "0" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "cluster: killed postmaster pid $pid (SIGKILL); its server processes exited"
      return 0
    fi
    sleep 1; waited=$((waited + 1))
  done
  echo "cluster: server processes still alive ${waited}s after the postmaster's death:" >&2
  for c in $survivors; do
    echo "  pid $c: $(tr "\0" " " 2>/dev/null <"/proc/$c/cmdline")" >&2
    kill -KILL "$c" 2>/dev/null || true
  done
  echo "  shared memory attachments: $(shm_attached); killed the processes listed" >&2
  exit 3
}

cmd_restart() {
  [ -f "$DATA/PG_VERSION" ] || die "no cluster at $LOC (start one first)"
  if live_pid >/dev/null; then
    as_owner "$PGBIN/pg_ctl" -D "$DATA" restart -m fast -w -t 120 -l "$LOG" >/dev/null 2>&1 \
      || { tail -n 40 "$LOG" >&2 2>/dev/null || true; die "pg_ctl restart failed"; }
    echo "cluster: restarted (fast shutdown), port $PORT"
  else
    as_owner "$PGBIN/pg_ctl" -D "$DATA" start -w -t 120 -l "$LOG" >/dev/null 2>&1 \
      || { tail -n 40 "$LOG" >&2 2>/dev/null || true; die "server failed to start on $DATA"; }
    echo "cluster: started on the existing data directory, port $PORT"
  fi
}

cmd_info() {
  printf 'CLUSTER_PID=%q\n' "$(live_pid || true)"
  printf 'CLUSTER_DATA=%q\n' "$DATA"
  printf 'CLUSTER_LOG=%q\n' "$LOG"
}

cmd_env() {
  printf 'export PGHOST=%q\n' "$RUN"
  printf 'export PGPORT=%q\n' "$PORT"
  printf 'export PGUSER=postgres\n'
}

usage() {
  echo "usage: $0 start [--mode test|demo|bench] | stop | status | env | crash --kill9|--immediate | restart | info" >&2
  exit 2
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
  start)  cmd_start "$@" ;;
  stop)   [ -z "$LOC_REASON" ] || echo "cluster: using $LOC ($LOC_REASON)"; stop_cluster ;;
  status) cmd_status ;;
  env)    cmd_env ;;
  crash)   cmd_crash "$@" ;;
  restart) cmd_restart ;;
  info)    cmd_info ;;
  *)      usage ;;
esac
