#!/usr/bin/env bash
# Crash-recovery suite (docs/testing.md, "Crash recovery"). Three rounds on
# one database: a concurrent pgbench workload against commerce, eventstore
# and feed is stopped mid-flight by
#   kill9      SIGKILL to the postmaster alone (its server processes are left
#              to notice and exit), then a start on the same data directory;
#   immediate  pg_ctl stop -m immediate, then a start;
#   fast       pg_ctl restart -m fast (a clean shutdown, for comparison);
# and after each restart every invariant of the three extensions is checked
# with SQL (test/recovery/checks/), then again after the applications resume
# (resume.sql), with amcheck on every btree index and a look at the server
# log. At the end each check is shown to fail on data broken on purpose
# (test/recovery/mutants/, inside a transaction that is rolled back).
#
# It runs on the cluster of test/harness/cluster.sh (the same CASEBOOK_*
# variables choose it): `make test` runs it after the other suites, on the
# test cluster. Alone, it starts that cluster when it is not running and
# stops it afterwards. The extensions must be installed (make install).
# Prints one line per check and ends with "N passed, N failed"; exit 1 when
# anything failed.
#
# Environment:
#   RECOVERY_ROUNDS             rounds to run (default "kill9 immediate fast")
#   RECOVERY_DRAIN_TIMEOUT      seconds to wait for a fan-out queue to drain, or
#                               an async projection to catch up, by itself after
#                               the restart (default 30)
#   RECOVERY_PROGRESS_TIMEOUT   seconds to wait for the workload to get going (default 90)
set -uo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
HARNESS="$REPO/test/harness"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
WORK="$REPO/build/test-logs/recovery"
DB=recovery
PROBE_DB=recovery_probe
ROUNDS=${RECOVERY_ROUNDS:-kill9 immediate fast}
DRAIN_TIMEOUT=${RECOVERY_DRAIN_TIMEOUT:-30}
PROGRESS_TIMEOUT=${RECOVERY_PROGRESS_TIMEOUT:-90}
FEED_CLIENTS=3   # feed_follow.sql / feed_unfollow.sql split the followers among them

mkdir -p "$WORK"
rm -f "$WORK"/*.log "$WORK"/*.out

passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok      $1"; }
fail() { failed=$((failed + 1)); echo "FAILED  $1"; [ -z "${2:-}" ] || sed 's/^/          /' <<<"$2"; }
skip() { echo "skip    $1"; }

q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# ---- the cluster ------------------------------------------------------------
started_here=0
pgbench_pids=()
cleanup() {
  local p
  for p in "${pgbench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "$started_here" -eq 1 ]; then bash "$HARNESS/cluster.sh" stop || true; fi
}
trap cleanup EXIT

if ! bash "$HARNESS/cluster.sh" status >/dev/null; then
  bash "$HARNESS/cluster.sh" start --mode test || { echo "0 passed, 1 failed"; exit 1; }
  started_here=1
fi
eval "$(bash "$HARNESS/cluster.sh" env)"
eval "$(bash "$HARNESS/cluster.sh" info)"
[ -r "$CLUSTER_LOG" ] || { echo "server log $CLUSTER_LOG not readable"; echo "0 passed, 1 failed"; exit 1; }

log_size() { stat -c %s "$CLUSTER_LOG"; }
# Lines of the server log written since byte offset $1 (or of file $2).
log_since() { tail -c +$(($1 + 1)) "${2:-$CLUSTER_LOG}"; }
# A backend that crashed (the postmaster reports "server process ... was
# terminated by signal N"), a PANIC, a failed assertion or a stuck spinlock.
CRASH_RE='PANIC|TRAP:|terminated by signal|was terminated by exception|stuck spinlock'
log_crashes() { log_since "$1" "${2:-}" | grep -E -- "$CRASH_RE" | head -n 20; }

# ---- checks -----------------------------------------------------------------
# run_check LABEL DB FILE: the file's rows are the violations; none passes.
run_check() {
  local label=$1 db=$2 file=$3 out rc=0
  out=$(q -d "$db" -f "$file" 2>&1) || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "$label" "the check itself failed (rc $rc): $(head -n 5 <<<"$out")"
  elif [ -n "$out" ]; then
    if [ "$(wc -l <<<"$out")" -gt 10 ]; then out="$(head -n 10 <<<"$out")
... ($(wc -l <<<"$out") lines)"; fi
    fail "$label" "$out"
  else
    ok "$label"
  fi
}
checks() {  # checks ROUND NAME...
  local round=$1 name; shift
  for name in "$@"; do run_check "$round: $name" "$DB" "$SCRIPT_DIR/checks/$name.sql"; done
}
# Right after the restart: what must hold at any moment.
STATIC_CHECKS=(commerce_stock_bounds commerce_reserved_per_variant commerce_reserved_per_bucket
  commerce_units_conserved commerce_hold_states commerce_order_states
  eventstore_positions_unique eventstore_versions_contiguous eventstore_checkpoints_le_head
  eventstore_consumer_exactly_once eventstore_inline_projection eventstore_async_projection
  feed_follow_counts feed_timelines_followed feed_pulled_marks recovery_witnessed_rows_survive)
# After resume.sql and the fan-out queue: nothing was left behind.
LIVENESS_CHECKS=(eventstore_subscription_drained eventstore_consumer_exactly_once eventstore_async_caught_up
  eventstore_async_projection feed_queue_drained feed_timelines_complete feed_timelines_followed)
AMCHECKS=(amcheck_commerce amcheck_eventstore amcheck_feed)

# ---- the workload ---------------------------------------------------------------
W="$SCRIPT_DIR/workload"
start_workload() {  # start_workload ROUND NAME CLIENTS SCRIPT@WEIGHT...
  local round=$1 name=$2 clients=$3; shift 3
  local args=() s
  for s in "$@"; do args+=(-f "$W/$s"); done
  "$PGBIN/pgbench" -n -c "$clients" -j 1 -T 600 -D fclients="$FEED_CLIENTS" "${args[@]}" "$DB" \
    >"$WORK/$round-$name.pgbench.log" 2>&1 &
  pgbench_pids+=($!)
  eval "pid_$name=$!"
}
progress_sql() {  # the counts the workload makes grow
  q -d "$DB" -c "SELECT (SELECT count(*) FROM commerce.reservations), (SELECT count(*) FROM commerce.orders),
                        (SELECT count(*) FROM eventstore.events), (SELECT count(*) FROM rc.consumed),
                        (SELECT count(*) FROM feed.posts), (SELECT count(*) FROM feed.posts WHERE author_id = 1)" \
    | tr '|' ' '
}

# Wait (bounded) until every part of the workload has done some of
# everything since the counts in base: holds and orders (commerce); events
# and deliveries (eventstore); posts, of them a few by big, fanned out in
# the background (feed). A pgbench that ended (all its clients failed) ends
# the wait. Sets now, reached (per extension) and waited.
WANT=(300 30 300 50 150 3) FIRST=(0 2 4) EXT=(commerce eventstore feed)
base=() now=() reached=() waited=0
wait_progress() {
  local e i all name pid
  waited=0
  while :; do
    read -r -a now < <(progress_sql)
    all=1
    for e in 0 1 2; do
      reached[e]=1
      for i in "${FIRST[$e]}" $((FIRST[e] + 1)); do
        [ "${now[$i]:-0}" -ge $(( ${base[$i]:-0} + WANT[i] )) ] || { reached[e]=0; all=0; }
      done
    done
    [ "$all" -eq 1 ] && return 0
    for name in "${EXT[@]}"; do eval "pid=\$pid_$name"; kill -0 "$pid" 2>/dev/null || all=2; done
    [ "$all" -eq 2 ] || [ "$waited" -ge "$PROGRESS_TIMEOUT" ] && return 1
    sleep 1; waited=$((waited + 1))
  done
}

# ---- one round ------------------------------------------------------------------
round() {
  local round=$1 offset rc out name pid aborted i e
  echo "---- round $round ----"
  offset=$(log_size)

  # The restart probes' database, with no workload: the state at the crash
  # is exactly what probe/before_crash.sql made.
  if ! out=$(q -d postgres -c "DROP DATABASE IF EXISTS $PROBE_DB WITH (FORCE)" -c "CREATE DATABASE $PROBE_DB" \
             -c "ALTER DATABASE $PROBE_DB SET synchronous_commit = on" 2>&1) \
     || ! out=$(q -d "$PROBE_DB" -f "$SCRIPT_DIR/probe/before_crash.sql" 2>&1); then
    fail "$round: restart probe set up" "$out"
  fi

  # A checkpoint first: crash recovery replays this round's work, not the
  # WAL of everything the cluster did before.
  out=$(q -d postgres -c CHECKPOINT 2>&1) || fail "$round: checkpoint before the workload" "$out"
  read -r -a base < <(progress_sql)
  start_workload "$round" commerce 3 commerce_hold.sql@10 commerce_keyed.sql@3 commerce_expire.sql@2 \
    commerce_cart.sql@4 commerce_restock.sql@2 commerce_buckets.sql@1
  start_workload "$round" eventstore 3 eventstore_append.sql@10 eventstore_consume.sql@3 eventstore_project.sql@1
  start_workload "$round" feed "$FEED_CLIENTS" feed_post.sql@6 feed_post_big.sql@1 feed_post_star.sql@1 \
    feed_home.sql@6 feed_follow.sql@3 feed_unfollow.sql@3

  wait_progress
  if [ "$round" = "immediate" ]; then
    # This round's crash comes after a checkpoint taken mid-workload: redo
    # starts inside transactions that were running at the checkpoint.
    out=$(q -d postgres -c CHECKPOINT 2>&1) || fail "$round: checkpoint mid-workload" "$out"
    base=("${now[@]}")
    wait_progress
  fi

  # Rows that committed before the crash, to find after it.
  out=$(q -d "$DB" -c "INSERT INTO rc.witness (round, kind, key, digest)
                       SELECT '$round', kind, key, digest
                         FROM (SELECT *, row_number() OVER (PARTITION BY kind ORDER BY key DESC) AS rn
                                 FROM rc.witnessable) w
                        WHERE rn <= 200" 2>&1) || fail "$round: witness rows recorded" "$out"

  # Each workload must still be running, with no client failed, at the crash.
  for e in 0 1 2; do
    name=${EXT[$e]}
    eval "pid=\$pid_$name"
    aborted=$(grep -E 'aborted|error' "$WORK/$round-$name.pgbench.log" | head -n 5)
    i=${FIRST[$e]}
    if [ -n "$aborted" ]; then
      fail "$round: $name workload running at the crash" "a client failed: $aborted"
    elif ! kill -0 "$pid" 2>/dev/null; then
      fail "$round: $name workload running at the crash" "pgbench ended early: $(tail -n 5 "$WORK/$round-$name.pgbench.log")"
    elif [ "${reached[$e]}" -ne 1 ]; then
      fail "$round: $name workload running at the crash" \
        "too little done in ${waited}s: counts ${base[$i]:-?} ${base[$((i + 1))]:-?} -> ${now[$i]:-?} ${now[$((i + 1))]:-?}, wanted +${WANT[$i]} +${WANT[$((i + 1))]} (progress_sql in run.sh)"
    else
      ok "$round: $name workload running at the crash"
    fi
  done

  # The crash (or, in the fast round, the clean restart).
  case "$round" in
    kill9)
      rc=0; out=$(bash "$HARNESS/cluster.sh" crash --kill9 2>&1) || rc=$?
      if [ "$rc" -eq 0 ]; then ok "$round: orphaned server processes exit after the postmaster's death"
      else fail "$round: orphaned server processes exit after the postmaster's death" "$out"; fi ;;
    immediate)
      out=$(bash "$HARNESS/cluster.sh" crash --immediate 2>&1) || fail "$round: immediate shutdown" "$out" ;;
    fast)
      restart_server "$round" || return 1 ;;
    *)
      fail "unknown round $round (kill9, immediate or fast)"; return 1 ;;
  esac

  # The clients have lost their connections: wait for pgbench to end, bounded.
  for name in commerce eventstore feed; do
    eval "pid=\$pid_$name"
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 60 ]; do sleep 1; waited=$((waited + 1)); done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pgbench_pids=()

  if [ "$round" != "fast" ]; then restart_server "$round" || return 1; fi

  # The log shows what kind of start this was: crash recovery after kill -9
  # and an immediate stop, none after a fast shutdown.
  if [ "$round" = "fast" ]; then
    re='database system was shut down at'
  else
    re='database system was not properly shut down; automatic recovery in progress'
  fi
  if log_since "$offset" | grep -- "$re" >/dev/null; then ok "$round: server log: $re"
  else fail "$round: server log: $re" "$(log_since "$offset" | tail -n 15)"; fi

  checks "$round" "${STATIC_CHECKS[@]}"

  # The applications come back.
  out=$(q -d "$DB" -f "$SCRIPT_DIR/resume.sql" 2>&1) || fail "$round: consumers resume after the restart" "$out"
  # The queue drains by itself (the feed startup worker; docs/feed.md).
  wait_drained "$DB"
  checks "$round" "${LIVENESS_CHECKS[@]}" "${AMCHECKS[@]}"

  # The probes of the restart (docs/testing.md, "Restart probes").
  out=$(q -d "$PROBE_DB" -f "$SCRIPT_DIR/probe/after_restart.sql" 2>&1) \
    || fail "$round: restart probe after the restart" "$out"
  wait_resumed "$PROBE_DB"
  wait_drained "$PROBE_DB"
  for name in es_positions_forward es_subscription_delivers es_projection_folds es_async_resumes feed_queue_drains; do
    run_check "$round: restart probe: $name" "$PROBE_DB" "$SCRIPT_DIR/probe/$name.sql"
  done

  out=$(log_crashes "$offset")
  if [ -z "$out" ]; then ok "$round: server log: no PANIC, no server process terminated by a signal"
  else fail "$round: server log: no PANIC, no server process terminated by a signal" "$out"; fi
}

restart_server() {  # restart_server ROUND: same data directory
  local rc=0 out
  out=$(bash "$HARNESS/cluster.sh" restart 2>&1) || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "$1: server restarts on the same data directory" "$out"
    return 1
  fi
  ok "$1: server restarts on the same data directory"
}

wait_resumed() {  # wait_resumed DB: bounded wait for resume_proj to catch up
  local waited=0
  while [ "$waited" -lt "$DRAIN_TIMEOUT" ]; do
    [ "$(q -d "$1" -c "SELECT coalesce(sum((state ->> 'n')::int), 0) FROM eventstore.projection_state WHERE projection = 'resume_proj'" 2>/dev/null)" = "20" ] && return 0
    sleep 1; waited=$((waited + 1))
  done
  return 1
}

wait_drained() {  # wait_drained DB: bounded wait for feed.fanout_jobs to empty
  local waited=0
  while [ "$waited" -lt "$DRAIN_TIMEOUT" ]; do
    [ "$(q -d "$1" -c 'SELECT count(*) FROM feed.fanout_jobs' 2>/dev/null)" = "0" ] && return 0
    sleep 1; waited=$((waited + 1))
  done
  return 1
}

# ---- main -------------------------------------------------------------------------
echo "crash-recovery suite: database $DB on $PGHOST:$PGPORT, rounds: $ROUNDS"

# The log scan must see a backend crash: a made-up log with one.
sample="$WORK/log-sample.out"
printf '%s\n' "2026-01-01 00:00:00 UTC [1] LOG:  database system is ready to accept connections" \
  "2026-01-01 00:00:01 UTC [1] LOG:  server process (PID 4242) was terminated by signal 11: Segmentation fault" >"$sample"
if [ -n "$(log_crashes 0 "$sample")" ] && [ -z "$(head -n 1 "$sample" | log_crashes 0 /dev/stdin)" ]; then
  ok "server log scan finds a backend killed by a signal, and only that"
else
  fail "server log scan finds a backend killed by a signal, and only that"
fi

setup_out=$(q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $PROBE_DB WITH (FORCE)" \
              -c "CREATE DATABASE $DB" \
              -c "ALTER DATABASE $DB SET synchronous_commit = on" \
              -c "ALTER DATABASE $DB SET feed.celebrity_threshold = 150" \
              -c "ALTER DATABASE $DB SET feed.fanout_sync_max = 20" \
              -c "ALTER DATABASE $DB SET feed.fanout_batch = 10" \
              -c "ALTER DATABASE $DB SET feed.timeline_max = 100000" 2>&1 \
            && q -d "$DB" -f "$SCRIPT_DIR/setup.sql" 2>&1 >/dev/null)
if [ $? -ne 0 ]; then
  fail "workload database set up" "$setup_out"
else
  ok "workload database set up"
  for r in $ROUNDS; do
    round "$r" || break
  done
  # Each check can fail: the data broken on purpose, in a transaction rolled back.
  echo "---- each check fails on broken data ----"
  for f in "$SCRIPT_DIR"/checks/*.sql; do
    name=$(basename "$f" .sql)
    m="$SCRIPT_DIR/mutants/$name.sql"
    if [ ! -f "$m" ]; then fail "mutant of $name" "no test/recovery/mutants/$name.sql"; continue; fi
    rc=0
    out=$( { echo 'BEGIN;'; echo '\o /dev/null'; cat "$m"; echo '\o'; cat "$f"; echo 'ROLLBACK;'; } \
           | q -d "$DB" -f - 2>&1) || rc=$?
    if [ "$rc" -eq 0 ] && [ -n "$out" ]; then ok "$name fails on broken data: $(head -n 1 <<<"$out")"
    else fail "$name fails on broken data" "rc $rc, output: $(head -n 5 <<<"$out")"; fi
  done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
