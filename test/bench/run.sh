#!/usr/bin/env bash
# casebook benchmark runner: pgbench comparisons of an extension against the
# textbook SQL it replaces. See docs/benchmarks.md.
#
#   test/bench/run.sh                       every test/bench/*.bench.sh
#   test/bench/run.sh commerce              test/bench/commerce.bench.sh
#   test/bench/run.sh path/to/x.bench.sh    a definition file anywhere
#
# Environment:
#   BENCH_REPS=3          measured runs per case (cases of a group alternate)
#   BENCH_SECONDS=N       override every case's duration (quick tries)
#   BENCH_GROUPS="a b"    run only these groups
#   BENCH_SAMPLE_WAITS=1  sample pg_stat_activity wait events during each run
#   BENCH_KEEP_LOGS=1     keep pgbench's per-transaction logs
#   BENCH_KEEP_CLUSTER=1  leave the bench cluster running at the end
#   BENCH_CHART=path      where the PNG goes (default: docs/img/<name>.png for a
#                         run with default settings, else test/bench/out/<name>.png)
#   BENCH_PORT=55416      port of the bench cluster
#   BENCH_OUT_DIR=dir     where results go (default test/bench/out)
#   BENCH_QUIET_PCT=10    before each run, wait until other work uses at most
#   BENCH_QUIET_WAIT=180    this % of the CPUs, for at most this many seconds
#   BENCH_MAX_OTHER_PCT=15  a run during which other work used more CPU than this
#   BENCH_RETRIES=2         is recorded as unused and measured again (at most
#                           this many times; the last attempt is always used)
#
# A definition (bash, sourced) sets:
#   BENCH_NAME            short name: output files are named after it
#   BENCH_CASES=("label|script.sql|clients|seconds|group[|role]" ...)
#                         script paths are relative to the definition's folder;
#                         role is baseline, casebook or reference; without it
#                         the first case of a group is the baseline, the second
#                         the casebook case, any further ones references
#   BENCH_DEFINES=()      optional "name=value" pgbench variables (-D); setup may add
#   BENCH_TARGETS=()      optional "group|ratio": the casebook/baseline tps target
#   BENCH_TITLE=""        optional chart title
# and functions
#   bench_setup                         load data (psql works: PG* is exported)
#   bench_reset label role              before every measured run
#   bench_check label role transactions after every run; non-zero = violated
# Helpers for definitions: bench_psql (psql, stop on error), bench_sql SQL
# (prints an unaligned result), BENCH_DEF_DIR (the definition's folder).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
CLUSTER_SH="$REPO/test/harness/cluster.sh"
OUT_DIR=${BENCH_OUT_DIR:-$BENCH_DIR/out}
mkdir -p "$OUT_DIR"; OUT_DIR=$(cd "$OUT_DIR" && pwd)
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
PGBENCH="$PGBIN/pgbench"
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench || true)

export CASEBOOK_CLUSTER_NAME=bench
export CASEBOOK_PORT=${BENCH_PORT:-55416}

REPS=${BENCH_REPS:-3}
QUIET_LIMIT=${BENCH_QUIET_PCT:-10}
QUIET_WAIT=${BENCH_QUIET_WAIT:-180}
MAX_OTHER=${BENCH_MAX_OTHER_PCT:-15}
RETRIES=${BENCH_RETRIES:-2}
for v in BENCH_QUIET_PCT:QUIET_LIMIT BENCH_QUIET_WAIT:QUIET_WAIT BENCH_MAX_OTHER_PCT:MAX_OTHER BENCH_RETRIES:RETRIES; do
  val=${v#*:}; [[ "${!val}" =~ ^[0-9]+$ ]] || { echo "bench: ${v%%:*} must be a non-negative integer" >&2; exit 2; }
done
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_REPS must be a positive integer" >&2; exit 2; }
if [ -n "${BENCH_SECONDS:-}" ] && ! [[ "$BENCH_SECONDS" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench: BENCH_SECONDS must be a positive integer" >&2; exit 2
fi

die() { echo "bench: ERROR: $*" >&2; exit 1; }
say() { echo "bench: $*"; }

[ -n "$PGBENCH" ] && [ -x "$PGBENCH" ] || die "pgbench not found (postgresql-15 / postgresql-client-15)"
command -v gnuplot >/dev/null 2>&1 || die "gnuplot not found (apt-get install gnuplot-nox)"

# ---- helpers for definitions -------------------------------------------------
bench_psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
bench_sql() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

# ---- small numeric helpers -----------------------------------------------------
# median of the numbers on stdin (one a line); empty input prints nothing
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit;
    if (NR % 2) printf "%s\n", v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---- machine description --------------------------------------------------------
machine_info() {
  local cpu mem kernel fs
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
  mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo unknown)
  kernel=$(uname -sr)
  fs=$(df -PT "$REPO/.cluster-bench" 2>/dev/null | awk 'NR == 2 { print $2 " (" $1 ")" }')
  echo "date:              $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpus (nproc):      $(nproc)"
  echo "cpu model:         $cpu"
  echo "memory:            $mem"
  echo "kernel:            $kernel"
  echo "data filesystem:   ${fs:-unknown}"
  echo "postgresql:        $(bench_sql 'SELECT version()')"
  echo "pgbench:           $("$PGBENCH" --version)"
  echo "settings:          $(bench_sql "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
                                          FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit',
                                          'shared_buffers', 'full_page_writes', 'wal_level', 'max_wal_size',
                                          'checkpoint_timeout', 'autovacuum', 'jit')")"
  echo "client and server: same machine, Unix socket"
  local others
  others=$(ps -eo args= 2>/dev/null | awk -v own="$(bench_sql 'SHOW data_directory')" \
             '/(^|\/)postgres .*-D/ && index($0, own) == 0 { n++ } END { print n + 0 }')
  echo "other postgres servers running: $others (they and any other load share the CPUs)"
}

# ---- what is being measured ---------------------------------------------------------------
# The shared libraries of the extensions created in the bench database (a
# backend loads them from disk when it starts, so replacing one mid-benchmark
# would silently mix two builds).
ext_libs() {
  local libdir; libdir=$("$PGBIN/pg_config" --pkglibdir 2>/dev/null || pg_config --pkglibdir)
  bench_sql "SELECT extname FROM pg_extension ORDER BY 1" | while read -r e; do
    [ -f "$libdir/$e.so" ] && echo "$libdir/$e.so"
  done
}
libs_fingerprint() { ext_libs | while read -r f; do sha256sum "$f"; done; }
build_info() {
  local head dirty
  head=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "not a git checkout")
  dirty=$(git -C "$REPO" status --porcelain -- extensions 2>/dev/null | wc -l)
  echo "source tree:       $head$( [ "$dirty" -gt 0 ] && echo " + $dirty uncommitted change(s) under extensions/")"
  ext_libs | while read -r f; do
    echo "library:           $f ($(date -u -r "$f" '+%Y-%m-%d %H:%M:%S UTC'), sha256 $(sha256sum "$f" | cut -c1-12))"
  done
  echo "extensions:        $(bench_sql "SELECT string_agg(extname || ' ' || extversion, ', ' ORDER BY extname) FROM pg_extension WHERE extname <> 'plpgsql'")"
}

# ---- machine-wide CPU use during a run ------------------------------------------------------
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# CPU ticks spent by the bench itself: the bench cluster (postmaster, its live
# children, and the children it has reaped, i.e. finished backends) plus the
# processes this runner has reaped (pgbench). Everything else is "other work".
PM_PID="" RUNNER_PID=""
own_ticks() {
  local kids
  kids=$(ps -o pid= --ppid "$PM_PID" 2>/dev/null | sed 's#^ *\(.*\)$#/proc/\1/stat#')
  {
    awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PM_PID/stat"
    awk '{ print $16 + $17 }' "/proc/$RUNNER_PID/stat"
    # shellcheck disable=SC2086
    [ -z "$kids" ] || cat $kids 2>/dev/null | awk '{ print $14 + $15 }'
  } | awk '{ s += $1 } END { print s + 0 }'
}
# Before each run (the bench cluster idle after bench_reset), wait until other
# work uses at most BENCH_QUIET_PCT % of the CPUs, for up to BENCH_QUIET_WAIT s.
QUIET_PCT=0
wait_quiet() {
  local waited=0 b0 i0 b1 i1 o0 o1 pct
  while :; do
    read -r b0 i0 < <(cpu_ticks); o0=$(own_ticks)
    sleep 2
    read -r b1 i1 < <(cpu_ticks); o1=$(own_ticks)
    pct=$(awk -v b=$((b1 - b0)) -v i=$((i1 - i0)) -v o=$((o1 - o0))           'BEGIN { t = b + i; if (t <= 0) t = 1; x = 100 * (b - o) / t; printf "%.0f", (x < 0 ? 0 : x) }')
    [ "$pct" -le "$QUIET_LIMIT" ] && break
    if [ "$waited" -ge "$QUIET_WAIT" ]; then
      say "[$NAME] other work still uses ${pct}% of the CPUs after ${waited} s; measuring anyway"
      break
    fi
    [ "$waited" -gt 0 ] || say "[$NAME] other work uses ${pct}% of the CPUs; waiting up to ${QUIET_WAIT} s for it to settle"
    sleep 3
    waited=$((waited + 5))
  done
  QUIET_PCT=$pct
}

# ---- wait-event sampler (BENCH_SAMPLE_WAITS=1) --------------------------------------
# One psql session polls pg_stat_activity every 100 ms for the pgbench backends.
SAMPLER_PID=""
start_sampler() {
  local out=$1 seconds=$2
  (
    n=$((seconds * 10))
    for ((i = 0; i < n; i++)); do
      echo "SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, 'running')
              FROM pg_stat_activity WHERE application_name = 'pgbench' AND state = 'active';"
      sleep 0.1
    done
  ) | "$PGBIN/psql" -X -q -At >"$out" 2>/dev/null &
  SAMPLER_PID=$!
}
stop_sampler() {
  [ -n "$SAMPLER_PID" ] || return 0
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
}

# ---- chart ------------------------------------------------------------------------------
# $1 summary tsv, $2 png path, $3 title
make_chart() {
  local summary=$1 png=$2 title=$3 dat gp
  dat="$OUT_DIR/$NAME-chart.dat"
  gp="$OUT_DIR/$NAME-chart.gp"
  # x position, tps, colour, tps text, p99 text, tick label; one blank bar between groups
  awk -F'\t' '
    NR == 1 { next }
    {
      if ($1 != g) { if (g != "") x += 1; g = $1; gi++; gname[gi] = $1; gstart[gi] = x + 1 }
      x += 1; gend[gi] = x
      c = ($3 == "baseline") ? "0x8c8c8c" : ($3 == "casebook") ? "0x2b7bba" : "0xd9a43c"
      r = ($3 == "baseline" || $12 == "-") ? "" : sprintf(" (%sx)", $12)
      printf "%d\t%s\t%s\t\"%.0f%s\"\t\"p99 %.2f ms\"\t\"%s\"\n", x, $7, c, $7, r, $11, $2
    }
    END {
      for (i = 1; i <= gi; i++) printf "%s\t%.1f\n", gname[i], (gstart[i] + gend[i]) / 2 > groups
    }' groups="$dat.groups" "$summary" >"$dat"
  local ymax
  ymax=$(awk -F'\t' 'NR > 1 && $7 > m { m = $7 } END { print (m > 0 ? m * 1.22 : 1) }' "$summary")
  {
    if gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1; then
      echo 'set terminal pngcairo size 1100,560 font "sans,10" noenhanced'
    else
      echo 'set terminal png size 1100,560'
    fi
    printf 'set output "%s"\n' "$png"
    printf 'set title "%s"\n' "$title"
    echo 'set style fill solid 0.9 border rgb "#404040"'
    echo 'set boxwidth 0.8'
    echo 'set ylabel "transactions per second (median)"'
    printf 'set yrange [0:%s]\n' "$ymax"
    echo 'set xrange [0.3:*]'
    echo 'set grid ytics lc rgb "#dddddd"'
    echo 'set border 3'
    echo 'set xtics nomirror scale 0'
    echo 'set ytics nomirror'
    echo 'set bmargin 5'
    echo 'set key outside right top vertical Left reverse'
    awk -F'\t' '{ printf "set label \"%s\" at %s, graph -0.09 center font \",11\"\n", $1, $2 }' "$dat.groups"
    echo "plot \"$dat\" using 1:2:3:xtic(6) with boxes lc rgb variable notitle, \\"
    echo "     '' using 1:2:4 with labels offset 0,1.5 notitle, \\"
    echo "     '' using 1:2:5 with labels offset 0,0.6 font \",8\" notitle\\"
    # a legend entry for each role present
    awk -F'\t' 'NR > 1 { seen[$3] = 1 } END {
      if (seen["baseline"])  print ", keyentry with boxes lc rgb \"#8c8c8c\" title \"textbook SQL (baseline)\"\\"
      if (seen["casebook"])  print ", keyentry with boxes lc rgb \"#2b7bba\" title \"casebook\"\\"
      if (seen["reference"]) print ", keyentry with boxes lc rgb \"#d9a43c\" title \"reference\"\\"
      print "" }' "$summary"
  } >"$gp"
  gnuplot "$gp" || die "gnuplot failed on $gp"
}

# ---- one definition --------------------------------------------------------------------------
run_definition() {
  local def=$1
  BENCH_NAME="" BENCH_TITLE="" BENCH_CASES=() BENCH_DEFINES=() BENCH_TARGETS=()
  BENCH_DEF_DIR=$(cd "$(dirname "$def")" && pwd)
  unset -f bench_setup bench_reset bench_check 2>/dev/null || true
  # shellcheck source=/dev/null
  source "$def"
  NAME=$BENCH_NAME
  [[ "$NAME" =~ ^[A-Za-z0-9_-]+$ ]] || die "$def: BENCH_NAME must be set (letters, digits, _ -)"
  local fn
  for fn in bench_setup bench_reset bench_check; do
    declare -F "$fn" >/dev/null || die "$def: function $fn is not defined"
  done
  [ "${#BENCH_CASES[@]}" -gt 0 ] || die "$def: BENCH_CASES is empty"

  # Parse cases.
  local -a c_label c_script c_clients c_secs c_group c_role groups=()
  local i line label script clients secs group role nf
  for i in "${!BENCH_CASES[@]}"; do
    line=${BENCH_CASES[$i]}
    nf=$(awk -F'|' '{ print NF }' <<<"$line")
    [ "$nf" -eq 5 ] || [ "$nf" -eq 6 ] || die "$def: case '$line' needs 5 or 6 |-separated fields"
    IFS='|' read -r label script clients secs group role <<<"$line"
    [[ "$label" =~ ^[A-Za-z0-9_.-]+$ ]] || die "$def: case label '$label' (letters, digits, . _ -)"
    [[ "$group" =~ ^[A-Za-z0-9_.-]+$ ]] || die "$def: group '$group' (letters, digits, . _ -)"
    [[ "$clients" =~ ^[1-9][0-9]*$ ]] || die "$def: case $label: clients '$clients'"
    [[ "$secs" =~ ^[1-9][0-9]*$ ]] || die "$def: case $label: seconds '$secs'"
    [[ "$script" = /* ]] || script="$BENCH_DEF_DIR/$script"
    [ -f "$script" ] || die "$def: case $label: script $script not found"
    c_label+=("$label"); c_script+=("$script"); c_clients+=("$clients")
    c_secs+=("${BENCH_SECONDS:-$secs}"); c_group+=("$group"); c_role+=("${role:-}")
    case " ${groups[*]-} " in *" $group "*) ;; *) groups+=("$group") ;; esac
  done
  # Default roles: first of a group baseline, second casebook, others reference.
  local g n
  for g in "${groups[@]}"; do
    n=0
    for i in "${!c_label[@]}"; do
      [ "${c_group[$i]}" = "$g" ] || continue
      n=$((n + 1))
      if [ -z "${c_role[$i]}" ]; then
        case $n in 1) c_role[$i]=baseline ;; 2) c_role[$i]=casebook ;; *) c_role[$i]=reference ;; esac
      fi
      case "${c_role[$i]}" in baseline|casebook|reference) ;;
        *) die "$def: case ${c_label[$i]}: role '${c_role[$i]}' (baseline|casebook|reference)" ;; esac
    done
  done
  if [ -n "${BENCH_GROUPS:-}" ]; then
    local -a keep=()
    for g in "${groups[@]}"; do
      case " $BENCH_GROUPS " in *" $g "*) keep+=("$g") ;; esac
    done
    [ "${#keep[@]}" -gt 0 ] || die "BENCH_GROUPS='$BENCH_GROUPS' matches no group of $NAME (${groups[*]})"
    groups=("${keep[@]}")
  fi

  mkdir -p "$OUT_DIR"
  local results="$OUT_DIR/$NAME-results.tsv"
  local summary="$OUT_DIR/$NAME-summary.tsv"
  local summary_md="$OUT_DIR/$NAME-summary.md"
  local machine="$OUT_DIR/$NAME-machine.txt"
  local rundir="$OUT_DIR/$NAME-runs"
  rm -rf "$rundir"; mkdir -p "$rundir"

  # Fresh cluster for this definition.
  say "[$NAME] starting a fresh bench cluster (port $CASEBOOK_PORT)"
  "$CLUSTER_SH" start --mode bench >/dev/null || die "could not start the bench cluster"
  if [ -z "${BENCH_KEEP_CLUSTER:-}" ]; then
    trap '"$CLUSTER_SH" stop >/dev/null 2>&1 || true' EXIT
  fi
  eval "$("$CLUSTER_SH" env)"
  export PGDATABASE=casebook
  say "[$NAME] setup"
  local t0=$SECONDS
  bench_setup >"$rundir/setup.log" 2>&1 || { tail -n 30 "$rundir/setup.log" >&2; die "[$NAME] bench_setup failed (log: $rundir/setup.log)"; }
  say "[$NAME] setup done in $((SECONDS - t0)) s"

  machine_info >"$machine"
  build_info >>"$machine"
  local libs0; libs0=$(libs_fingerprint)
  {
    echo "reps per case:     $REPS"
    echo "pgbench:           pgbench -n -M prepared -c <clients> -j 2 -T <seconds> -l (every transaction logged)"
    echo "order:             cases of a group alternate; bench_reset before and bench_check after every run"
  } >>"$machine"
  sed 's/^/  /' "$machine"

  local -a defines=()
  local d
  for d in "${BENCH_DEFINES[@]}"; do defines+=(-D "$d"); done

  printf 'definition\tgroup\tlabel\trole\trep\tattempt\tused\tclients\tseconds\ttps\tp50_ms\tp99_ms\tavg_ms\ttransactions\tfailed\tstarted_utc\tload1_before\tother_cpu_before_pct\tcpu_busy_pct\tother_cpu_pct\tbench_cpu_ms_per_tx\twal_bytes_per_tx\n' >"$results"

  PM_PID=$(head -n 1 "$(bench_sql 'SHOW data_directory')/postmaster.pid")
  RUNNER_PID=$BASHPID
  local rep attempt used prefix pout rc tps tx failed lat p50 p99 avg bad waits started load
  local busy0 idle0 busy1 idle1 own0 own1 cpu other note lsn0 walb cpu_tx
  local hz; hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
  for g in "${groups[@]}"; do
    for ((rep = 1; rep <= REPS; rep++)); do
      for i in "${!c_label[@]}"; do
        [ "${c_group[$i]}" = "$g" ] || continue
        label=${c_label[$i]}; role=${c_role[$i]}
        for ((attempt = 1; ; attempt++)); do
        prefix="$rundir/$g-$label-r$rep-a$attempt"
        pout="$prefix.pgbench.txt"
        bench_reset "$label" "$role" >"$prefix.reset.log" 2>&1 \
          || { tail -n 20 "$prefix.reset.log" >&2; die "[$NAME] bench_reset failed before $g/$label run $rep"; }
        wait_quiet
        started=$(date -u '+%Y-%m-%dT%H:%M:%SZ')
        load=$(load1)
        read -r busy0 idle0 < <(cpu_ticks)
        lsn0=$(bench_sql 'SELECT pg_current_wal_insert_lsn()')
        own0=$(own_ticks)
        [ -n "${BENCH_SAMPLE_WAITS:-}" ] && start_sampler "$prefix.waits" "${c_secs[$i]}"
        rc=0
        (cd "$rundir" && "$PGBENCH" -n -M prepared -c "${c_clients[$i]}" -j 2 -T "${c_secs[$i]}" \
            -l --log-prefix="$prefix.txlog" "${defines[@]}" -f "${c_script[$i]}") >"$pout" 2>&1 || rc=$?
        stop_sampler
        sleep 0.2   # let the postmaster reap the finished backends
        read -r busy1 idle1 < <(cpu_ticks)
        own1=$(own_ticks)
        walb=$(bench_sql "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn0')")
        read -r cpu other < <(awk -v b=$((busy1 - busy0)) -v i=$((idle1 - idle0)) -v o=$((own1 - own0)) \
          'BEGIN { t = b + i; if (t <= 0) t = 1; x = 100 * (b - o) / t; if (x < 0) x = 0; printf "%.0f %.0f\n", 100 * b / t, x }')
        if [ "$rc" -ne 0 ]; then
          tail -n 25 "$pout" >&2
          die "[$NAME] pgbench exited with status $rc in $g/$label run $rep (output: $pout)"
        fi
        tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$pout")
        tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$pout")
        failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$pout")
        [ -n "$tps" ] && [ -n "$tx" ] || { cat "$pout" >&2; die "[$NAME] could not read tps from pgbench output ($pout)"; }
        failed=${failed:-0}
        # Per-transaction log: column 3 is the latency in microseconds, or
        # "failed"/"skipped" for a transaction that did not complete.
        lat="$prefix.lat"
        bad=$(cat "$prefix".txlog.* | awk '$3 !~ /^[0-9]+$/ { n++ } END { print n + 0 }')
        cat "$prefix".txlog.* | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n >"$lat"
        read -r p50 p99 avg < <(awk '{ v[NR] = $1; s += $1 }
          END { if (NR == 0) { print "NaN NaN NaN"; exit }
                i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++
                i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++
                printf "%.3f %.3f %.3f\n", v[i50] / 1000, v[i99] / 1000, s / NR / 1000 }' "$lat")
        if [ "$(wc -l <"$lat")" -ne "$tx" ]; then
          say "[$NAME] warning: $g/$label run $rep: $(wc -l <"$lat") logged transactions, pgbench reports $tx"
        fi
        read -r cpu_tx walb < <(awk -v o=$((own1 - own0)) -v hz="$hz" -v w="$walb" -v n="$tx" \
          'BEGIN { if (n < 1) n = 1; printf "%.4f %.0f\n", 1000 * o / hz / n, w / n }')
        [ -n "${BENCH_KEEP_LOGS:-}" ] || rm -f "$prefix".txlog.* "$lat"
        if [ "$failed" -ne 0 ] || [ "$bad" -ne 0 ]; then
          tail -n 25 "$pout" >&2
          die "[$NAME] $g/$label run $rep: $failed failed transactions ($bad not completed in the log)"
        fi
        if [ "$(libs_fingerprint)" != "$libs0" ]; then
          die "[$NAME] an extension library was replaced during $g/$label run $rep (someone ran make install?); results would mix two builds. Benchmark aborted: rerun it."
        fi
        if ! bench_check "$label" "$role" "$tx" >"$prefix.check.log" 2>&1; then
          cat "$prefix.check.log" >&2
          die "[$NAME] INVARIANT VIOLATED after $g/$label run $rep (see above; log: $prefix.check.log). Benchmark aborted."
        fi
        # A run during which other work took a noticeable share of the CPUs is
        # kept in the results but not used, and measured again (BENCH_RETRIES).
        used=yes; note=""
        if [ "$other" -gt "$MAX_OTHER" ]; then
          if [ "$attempt" -le "$RETRIES" ]; then used=no; note="  DISTURBED (other work ${other}% CPU): measuring again"
          else note="  warning: other work ${other}% CPU, no retries left: used anyway"; fi
        fi
        printf '%s\t%s\t%s\t%s\t%d\t%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$NAME" "$g" "$label" "$role" \
          "$rep" "$attempt" "$used" "${c_clients[$i]}" "${c_secs[$i]}" "$tps" "$p50" "$p99" "$avg" "$tx" "$failed" \
          "$started" "$load" "$QUIET_PCT" "$cpu" "$other" "$cpu_tx" "$walb" >>"$results"
        waits=""
        if [ -n "${BENCH_SAMPLE_WAITS:-}" ] && [ -s "$prefix.waits" ]; then
          waits=$(sort "$prefix.waits" | uniq -c | sort -rn | awk -v t="$(wc -l <"$prefix.waits")" \
                   'NR <= 4 { printf "%s%s %.0f%%", (NR > 1 ? ", " : ""), $2, 100 * $1 / t }')
          waits="  waits: $waits"
        fi
        printf 'bench: [%s] %-12s %-12s run %d/%d  %9.1f tps  p50 %7.3f ms  p99 %7.3f ms  %8d tx  %.3f cpu-ms/tx  %4d WAL B/tx  cpu %3s%% (other %2s%%)  check ok%s%s\n' \
          "$NAME" "$g" "$label" "$rep" "$REPS" "$tps" "$p50" "$p99" "$tx" "$cpu_tx" "$walb" "$cpu" "$other" "$waits" "$note"
        [ "$used" = yes ] && break
        done
      done
    done
  done

  # ---- summary: medians over reps, ratio against the group's baseline ----------------
  printf 'group\tlabel\trole\tclients\tseconds\treps\ttps_median\ttps_min\ttps_max\tp50_ms\tp99_ms\tratio_vs_baseline\ttarget\tverdict\tother_cpu_max_pct\tbench_cpu_ms_per_tx\twal_bytes_per_tx\n' >"$summary"
  local base ratio target verdict tmin tmax othermax cpu_tx walb
  for g in "${groups[@]}"; do
    base=""
    for i in "${!c_label[@]}"; do
      [ "${c_group[$i]}" = "$g" ] && [ "${c_role[$i]}" = baseline ] || continue
      base=$(awk -F'\t' -v g="$g" -v l="${c_label[$i]}" '$2 == g && $3 == l && $7 == "yes" { print $10 }' "$results" | median)
    done
    target=""
    for d in "${BENCH_TARGETS[@]}"; do [ "${d%%|*}" = "$g" ] && target=${d#*|}; done
    for i in "${!c_label[@]}"; do
      [ "${c_group[$i]}" = "$g" ] || continue
      label=${c_label[$i]}
      col() { awk -F'\t' -v g="$g" -v l="$label" -v c="$1" '$2 == g && $3 == l && $7 == "yes" { print $c }' "$results"; }
      tps=$(col 10 | median); p50=$(col 11 | median); p99=$(col 12 | median)
      tmin=$(col 10 | sort -g | head -n 1); tmax=$(col 10 | sort -g | tail -n 1)
      othermax=$(col 20 | sort -g | tail -n 1)
      cpu_tx=$(col 21 | median); walb=$(col 22 | median)
      ratio="-"; [ -n "$base" ] && ratio=$(awk -v a="$tps" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
      verdict="-"; local t="-"
      if [ "${c_role[$i]}" = casebook ] && [ -n "$target" ] && [ "$ratio" != "-" ]; then
        t="$target"
        verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r >= t ? "met" : "not met") }')
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.3f\t%.3f\t%s\t%s\t%s\t%s\t%.4f\t%.0f\n' "$g" "$label" "${c_role[$i]}" \
        "${c_clients[$i]}" "${c_secs[$i]}" "$REPS" "$tps" "$tmin" "$tmax" "$p50" "$p99" "$ratio" "$t" "$verdict" "$othermax" \
        "$cpu_tx" "$walb" >>"$summary"
    done
  done

  {
    echo "| group | case | role | clients | tps (median of $REPS) | tps min-max | p50 latency | p99 latency | vs textbook | target | CPU per tx | WAL per tx | other work (max) |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
    awk -F'\t' 'NR > 1 {
      tgt = ($13 == "-") ? "" : sprintf("%s: >= %sx", $14, $13)
      printf "| %s | %s | %s | %s | %.0f | %.0f-%.0f | %.2f ms | %.2f ms | %s | %s | %.3f ms | %d B | %s%% |\n", $1, $2, $3, $4, $7, $8, $9, $10, $11, ($12 == "-" ? "" : $12 "x"), tgt, $16, $17, $15 }' "$summary"
    awk -F'\t' 'NR > 1 && $7 == "no" { n++ } END { if (n) printf "\n%d disturbed run(s) were measured again; see %s-results.tsv (used = no).\n", n, name }' name="$NAME" "$results"
  } >"$summary_md"

  # ---- chart ----------------------------------------------------------------------
  local png
  if [ -n "${BENCH_CHART:-}" ]; then
    png=$BENCH_CHART
  elif [ -z "${BENCH_SECONDS:-}" ] && [ "$REPS" -ge 3 ] && [ -z "${BENCH_GROUPS:-}" ]; then
    png="$REPO/docs/img/$NAME.png"
  else
    png="$OUT_DIR/$NAME.png"   # quick tries never overwrite the published chart
  fi
  mkdir -p "$(dirname "$png")"
  local secs_list clients_list
  secs_list=$(printf '%s\n' "${c_secs[@]}" | sort -un | paste -sd/)
  clients_list=$(printf '%s\n' "${c_clients[@]}" | sort -un | paste -sd/)
  make_chart "$summary" "$png" \
    "${BENCH_TITLE:-$NAME}, median of $REPS runs x ${secs_list} s, ${clients_list} clients, $(nproc) CPUs, fsync on (labels: tps, ratio to the textbook SQL, p99 latency)"

  echo
  echo "== $NAME: results (median of $REPS runs per case) =="
  column -t -s $'\t' "$summary" 2>/dev/null || cat "$summary"
  echo
  say "[$NAME] runs:    $results"
  say "[$NAME] summary: $summary (markdown: $summary_md)"
  say "[$NAME] machine: $machine"
  say "[$NAME] chart:   $png"

  if [ -z "${BENCH_KEEP_CLUSTER:-}" ]; then
    "$CLUSTER_SH" stop >/dev/null || true
    trap - EXIT
  else
    say "[$NAME] bench cluster left running (BENCH_KEEP_CLUSTER): $("$CLUSTER_SH" env | tr '\n' ' ')"
  fi
}

# ---- main -------------------------------------------------------------------------------------
defs=()
if [ $# -eq 0 ]; then
  for f in "$BENCH_DIR"/*.bench.sh; do [ -e "$f" ] && defs+=("$f"); done
  [ "${#defs[@]}" -gt 0 ] || die "no definitions (test/bench/*.bench.sh)"
else
  for a in "$@"; do
    if [ -f "$a" ]; then defs+=("$a")
    elif [ -f "$BENCH_DIR/$a.bench.sh" ]; then defs+=("$BENCH_DIR/$a.bench.sh")
    else die "no benchmark definition '$a' (expected a file or test/bench/$a.bench.sh)"
    fi
  done
fi

for def in "${defs[@]}"; do
  # Each definition in its own subshell: its variables and functions stay there.
  ( run_definition "$def" ) || exit $?
done
