#!/usr/bin/env bash
# Full casebook test run (what `make test` runs):
#   1 dependencies   2 build + install   3 C++ unit tests (ctest)
#   4 fresh cluster  5 pg_regress + isolation (make installcheck)
#   6 pgTAP (pg_prove)   6b upgrade (test/upgrade/run.sh)   6c DBA changes under load (test/dba)
#   6d driver examples (test/drivers/run.sh: psycopg 3, pgbouncer; test/tenancy/pool.sh, pools.sh)
#   7 memory checks (test/memcheck/run.sh, if present)
#   7b crash recovery (test/recovery/run.sh: kill -9 mid-workload, restart, invariants)
#   8 stop cluster   9 summary
# A failing suite does not stop the run; every suite reports. The last line
# printed is always "N passed, N failed". Exit 1 if anything failed or nothing ran.
#
# Environment:
#   CASEBOOK_KEEP_CLUSTER=1  leave the test cluster running afterwards
#   CASEBOOK_SKIP_DEPS=1     skip the package check (non-Debian developer machines)
#   CASEBOOK_PORT            cluster port (see cluster.sh)
#   CASEBOOK_PGBIN           PostgreSQL's bin directory (default /usr/lib/postgresql/15/bin); with
#                            PG_CONFIG=$CASEBOOK_PGBIN/pg_config, a private copy of the server can be
#                            used, so two checkouts can install and test side by side
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO"

HARNESS="$REPO/test/harness"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
LOGDIR="$REPO/build/test-logs"
mkdir -p "$LOGDIR"

# ---- bookkeeping ------------------------------------------------------------
SUITES=() PASSED=() FAILED=() NOTES=() TIMES=()
suite_start=$SECONDS
record() {  # record NAME PASSED FAILED [NOTE]
  SUITES+=("$1"); PASSED+=("$2"); FAILED+=("$3"); NOTES+=("${4:-}")
  TIMES+=("$((SECONDS - suite_start))s")
  suite_start=$SECONDS
}
banner() { printf '\n======== %s ========\n' "$*"; suite_start=$SECONDS; }
# Count lines of FILE matching extended regex RE (0 when none).
count() { grep -cE -- "$1" "$2" || true; }

# run_counted NAME SCRIPT LOGNAME: runs a suite script on the test cluster
# that ends with its own "N passed, N failed" line, and records those counts.
run_counted() {
  local name=$1 script=$2 log="$LOGDIR/$3.log" rc=0 line passed failed note=""
  if [ "$cluster_up" -ne 1 ]; then
    echo "skipped: no cluster"
    record "$name" 0 0 "skipped: no cluster"
    return
  fi
  bash "$script" 2>&1 | tee "$log" || rc=$?
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
  if [ -z "$line" ]; then
    record "$name" 0 1 "no 'N passed, N failed' line (rc $rc), log build/test-logs/$3.log"
    return
  fi
  read -r passed failed < <(sed -E 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/' <<<"$line")
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; note="$script exited with $rc"; fi
  record "$name" "$passed" "$failed" "$note"
}

cluster_up=0
stop_cluster() {
  if [ "$cluster_up" -eq 1 ] && [ "${CASEBOOK_KEEP_CLUSTER:-0}" != "1" ]; then
    bash "$HARNESS/cluster.sh" stop || true
    cluster_up=0
  fi
}
# Safety net: never leave a test cluster behind on an unexpected exit.
trap stop_cluster EXIT

summary() {
  local i total_p=0 total_f=0
  banner "summary"
  printf '%-22s %7s %7s %7s  %s\n' "suite" "passed" "failed" "time" "note"
  printf '%-22s %7s %7s %7s  %s\n' "-----" "------" "------" "----" "----"
  for i in "${!SUITES[@]}"; do
    printf '%-22s %7s %7s %7s  %s\n' "${SUITES[$i]}" "${PASSED[$i]}" "${FAILED[$i]}" "${TIMES[$i]}" "${NOTES[$i]}"
    total_p=$((total_p + PASSED[i]))
    total_f=$((total_f + FAILED[i]))
  done
  if [ $((total_p + total_f)) -eq 0 ]; then
    echo "run-tests: no tests ran at all - treating as failure"
  fi
  echo "$total_p passed, $total_f failed"
  if [ "$total_f" -ne 0 ] || [ $((total_p + total_f)) -eq 0 ]; then
    return 1
  fi
  return 0
}

finish() {
  stop_cluster
  trap - EXIT
  if summary; then exit 0; else exit 1; fi
}

# ---- 1. dependencies ----------------------------------------------------------
banner "1/9 dependencies"
if [ "${CASEBOOK_SKIP_DEPS:-0}" = "1" ]; then
  echo "skipped (CASEBOOK_SKIP_DEPS=1)"
elif ! bash "$HARNESS/deps.sh"; then
  record "dependencies" 0 1 "missing packages; nothing else can run"
  finish
fi

# ---- 2. build + install -------------------------------------------------------
banner "2/9 build and install"
rc=0
{ make -s WERROR=1 all && make -s install; } 2>&1 | tee "$LOGDIR/build.log" || rc=$?
if [ "$rc" -eq 0 ]; then
  echo "build and install: ok"
  record "build+install" 0 0 "ok"
else
  record "build+install" 0 1 "make failed (rc $rc), log build/test-logs/build.log"
fi

# ---- 3. C++ unit tests --------------------------------------------------------
banner "3/9 C++ unit tests (ctest)"
if [ ! -f CMakeLists.txt ]; then
  echo "no CMakeLists.txt, skipping"
  record "unit (ctest)" 0 0 "no CMakeLists.txt"
else
  rc=0
  { cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCASEBOOK_WERROR=ON >/dev/null \
      && cmake --build build/cmake -j2; } 2>&1 | tee "$LOGDIR/unit-build.log" || rc=$?
  if [ "$rc" -ne 0 ]; then
    record "unit (ctest)" 0 1 "cmake build failed, log build/test-logs/unit-build.log"
  else
    rc=0
    ctest --test-dir build/cmake --output-on-failure 2>&1 | tee "$LOGDIR/unit.log" || rc=$?
    # "100% tests passed, 0 tests failed out of 12"
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$LOGDIR/unit.log" | tail -n 1 || true)
    if [ -n "$line" ]; then
      read -r failed total < <(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/' <<<"$line")
      passed=$((total - failed))
      note=""
      if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; note="ctest exited with $rc"; fi
      record "unit (ctest)" "$passed" "$failed" "$note"
    elif [ "$rc" -eq 0 ]; then
      record "unit (ctest)" 0 0 "no tests found"
    else
      record "unit (ctest)" 0 1 "ctest failed (rc $rc) without a summary"
    fi
  fi
fi

# ---- 4. fresh test cluster ----------------------------------------------------
banner "4/9 test cluster"
if bash "$HARNESS/cluster.sh" start --mode test; then
  cluster_up=1
  eval "$(bash "$HARNESS/cluster.sh" env)"
  echo "PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER"
else
  record "cluster" 0 1 "cluster.sh start failed"
fi

# ---- 5. pg_regress + isolation --------------------------------------------------
banner "5/9 pg_regress + isolation (make -k regresscheck isolationcheck isolationcheck-partitioned)"
if [ "$cluster_up" -ne 1 ]; then
  echo "skipped: no cluster"
  record "regress+isolation" 0 0 "skipped: no cluster"
else
  # Old diffs must not be mistaken for this run's.
  rm -f regression.diffs regression.out output_iso/regression.diffs output_iso/regression.out \
    output_iso_partitioned/regression.diffs output_iso_partitioned/regression.out
  log="$LOGDIR/installcheck.log"
  rc=0
  # Two targets with -k: an isolation run still happens after a regress failure.
  make -k regresscheck isolationcheck isolationcheck-partitioned 2>&1 | tee "$log" || rc=$?
  # "test name ... ok  12 ms" and, inside parallel groups, "     name ... ok"
  # Anything after "..." other than ok (FAILED, "failed (ignored)", or a
  # pg_regress error such as a missing expected file) counts as failed.
  test_line='^(test +|[[:space:]]+)[^[:space:]]+[[:space:]]+\.\.\.[[:space:]]'
  passed=$(count "${test_line}+ok([[:space:]]|$)" "$log")
  failed=$(( $(count "$test_line" "$log") - passed ))
  note=""
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1; note="regress/isolation run failed (rc $rc), log build/test-logs/installcheck.log"
  elif [ "$rc" -eq 0 ] && [ $((passed + failed)) -eq 0 ]; then
    note="no tests found"
  fi
  if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ]; then
    for diffs in regression.diffs output_iso/regression.diffs output_iso_partitioned/regression.diffs; do
      if [ -s "$diffs" ]; then
        echo "---------------- $diffs (first 1000 lines) ----------------"
        head -n 1000 "$diffs"
      fi
    done
  fi
  record "regress+isolation" "$passed" "$failed" "$note"
fi

# ---- 6. pgTAP -------------------------------------------------------------------
banner "6/9 pgTAP (pg_prove)"
shopt -s nullglob
tap_files=(test/pgtap/*.sql)
shopt -u nullglob
if [ "${#tap_files[@]}" -eq 0 ]; then
  echo "no test/pgtap/*.sql files, nothing to run"
  record "pgtap" 0 0 "no test files"
elif [ "$cluster_up" -ne 1 ]; then
  echo "skipped: no cluster"
  record "pgtap" 0 0 "skipped: no cluster"
elif ! command -v pg_prove >/dev/null 2>&1; then
  record "pgtap" 0 1 "pg_prove not found (package pgtap)"
else
  log="$LOGDIR/pgtap.log"
  rc=0
  pg_prove --psql-bin "$PGBIN/psql" --verbose --ext .sql -d casebook test/pgtap/ 2>&1 | tee "$log" || rc=$?
  # Count TAP lines; a file that failed as a whole (bad plan, died) without any
  # "not ok" line counts as one failure. Failing files are taken from the
  # "Test Summary Report" that pg_prove prints at the end.
  read -r passed failed < <(awk '
    /^[^[:space:]]+\.sql \.\./          { cur = $1; next }
    /^[[:space:]]*ok [0-9]/             { pass++; next }
    /^[[:space:]]*not ok [0-9]/ {
      if ($0 ~ /#[[:space:]]*(TODO|SKIP|todo|skip)/) pass++
      else { fail++; notok[cur]++ }
      next
    }
    /^Test Summary Report/              { insum = 1; next }
    insum && /^[^[:space:]]+[[:space:]]+\(Wstat: / {
      sumfile = $1
      if (match($0, /Failed: [0-9]+/) && substr($0, RSTART + 8, RLENGTH - 8) + 0 > 0) bad[sumfile] = 1
      if (match($0, /Wstat: [0-9]+/) && substr($0, RSTART + 7, RLENGTH - 7) + 0 > 0) bad[sumfile] = 1
      next
    }
    insum && /^[[:space:]]+(Parse errors|Non-zero exit status|Non-zero wait status|Failed tests?:)/ {
      if (sumfile != "") bad[sumfile] = 1
    }
    END {
      for (f in bad) if (!(f in notok)) fail++
      printf "%d %d\n", pass, fail
    }' "$log")
  note=""
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1; note="pg_prove failed (rc $rc), log build/test-logs/pgtap.log"
  fi
  record "pgtap" "$passed" "$failed" "$note"
fi

# ---- 6b. upgrade path -------------------------------------------------------------
banner "6b/9 upgrade (make upgradecheck: older versions updated, compared with a fresh install)"
run_counted "upgrade" test/upgrade/run.sh upgrade

# ---- 6c. a DBA's changes under load ------------------------------------------------
banner "6c/9 a DBA's changes under load (test/dba/under_load.sh)"
run_counted "dba under load" test/dba/under_load.sh dba-under-load

# ---- 6d. drivers --------------------------------------------------------------------
banner "6d/9 driver examples (test/drivers/run.sh: psycopg 3, direct and through pgbouncer)"
run_counted "drivers" test/drivers/run.sh drivers
run_counted "tenancy pool" test/tenancy/pool.sh tenancy-pool
run_counted "tenancy pools" test/tenancy/pools.sh tenancy-pools
run_counted "tenancy move under load" test/tenancy/move_load.sh tenancy-move
run_counted "tenancy move and kill -9" test/tenancy/move_crash.sh tenancy-move-crash
run_counted "tenancy replica" test/tenancy/replicate.sh tenancy-replica
run_counted "georoute regions" test/georoute/regions.sh georoute-regions

# ---- 7. memory checks -------------------------------------------------------------
banner "7/9 memory checks"
if [ ! -f test/memcheck/run.sh ]; then
  echo "test/memcheck/run.sh not present, skipping"
  record "memcheck" 0 0 "not present"
else
  log="$LOGDIR/memcheck.log"
  rc=0
  bash test/memcheck/run.sh 2>&1 | tee "$log" || rc=$?
  line=$(grep -E '^[[:space:]]*[0-9]+ passed, [0-9]+ failed[[:space:]]*$' "$log" | tail -n 1 || true)
  if [ -n "$line" ]; then
    read -r passed failed < <(sed -E 's/^[[:space:]]*([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' <<<"$line")
    note=""
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; note="run.sh exited with $rc"; fi
    record "memcheck" "$passed" "$failed" "$note"
  else
    record "memcheck" 0 1 "no 'N passed, N failed' line (rc $rc)"
  fi
fi

# Every module binds its calls into the core to its own copy (-Bsymbolic,
# see the Makefile): with two modules of different builds in one backend,
# neither may call the other's core.
suite_start=$SECONDS
passed=0; failed=0
for so in extensions/*/*.so test/selftest/*.so; do
  if readelf -d "$so" | grep -q SYMBOLIC; then passed=$((passed + 1))
  else failed=$((failed + 1)); echo "not linked with -Bsymbolic: $so"; fi
done
record "module linking" "$passed" "$failed"

# ---- 7b. crash recovery --------------------------------------------------------------
banner "7b/9 crash recovery (test/recovery/run.sh)"
run_counted "crash recovery" test/recovery/run.sh recovery

# ---- 8. stop the cluster -------------------------------------------------------------
banner "8/9 stop cluster"
if [ "${CASEBOOK_KEEP_CLUSTER:-0}" = "1" ] && [ "$cluster_up" -eq 1 ]; then
  echo "keeping the cluster running (CASEBOOK_KEEP_CLUSTER=1); stop it with: test/harness/cluster.sh stop"
else
  stop_cluster
fi

# ---- 9. summary -----------------------------------------------------------------------
finish
