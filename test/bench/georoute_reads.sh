#!/usr/bin/env bash
# georoute: reads through a distributed table, measured with pgbench.
#
#   bash test/bench/georoute_reads.sh
#
# Starts its own set of the three region clusters (test/harness/regions.sh
# with CASEBOOK_REGION_SET=bench, ports 55471-55473, data directories
# .cluster-bench-region-<code>), beside any other set, and stops them at
# the end (also when it fails). In every cluster: the same registry
# (servers cluster_us, cluster_eu, cluster_asia, as test/georoute/regions.sh
# makes them), and
#
#   orders(id bigint, region text, customer bigint, total numeric, payload text,
#          PRIMARY KEY (id, region)) PARTITION BY LIST (region)
#
# laid out by georoute.distribute('orders', 'region'). The us cluster's local
# partition holds READS_ROWS rows (ids from georoute.next_id('us')), and
# orders_plain, an unpartitioned table of the same rows with PRIMARY KEY
# (id), sits beside it. The eu cluster's local partition holds READS_ROWS EU
# rows; asia's is empty.
#
# Part 1, local point reads in the us cluster (1 and 2 clients, -M prepared
# and -M simple):
#   plain         SELECT ... FROM orders_plain WHERE id = :id
#   distributed   SELECT ... FROM orders WHERE region = 'us' AND id = :id
#   no_region     SELECT ... FROM orders WHERE id = :id   (reads the eu and
#                 asia partitions too, through postgres_fdw)
# Part 2, a point read of an EU row (1 client, both modes), latency average
# and p99 from pgbench's per-transaction logs:
#   us_via_parent    in us: SELECT ... FROM orders WHERE region = 'eu' AND id = :id
#   us_via_foreign   in us: SELECT ... FROM orders_eu WHERE id = :id (the foreign partition)
#   eu_local         in eu: SELECT ... FROM orders WHERE region = 'eu' AND id = :id
# Every run also reports the CPU the three clusters spent per transaction
# (their backends, reaped by the postmasters: the server's work for one
# read, remote backends included), which, unlike the latency of one client
# on an otherwise idle virtual machine, does not depend on how fast an idle
# CPU wakes up. Then the server's planning and execution time of each
# statement (EXPLAIN ANALYZE, one session, medians), and markdown tables.
#
# The clusters run on one machine: postgres_fdw reaches the other regions
# over a local Unix socket (READS_FDW_HOST=tcp: 127.0.0.1), so a cross-region
# read here is the floor of a real one (no WAN round trip).
#
# Environment:
#   READS_SECONDS=20        duration of each pgbench run
#   READS_RUNS=3            runs per case (the cases alternate; medians reported)
#   READS_ROWS=1000000      rows in the us partition (and in orders_plain, and in eu)
#   READS_PARTS="1 2"       which parts to run
#   READS_FDW_HOST=socket   socket | tcp: how postgres_fdw reaches the other clusters
#   READS_SHARED_BUFFERS=1GB  shared_buffers of the us and eu clusters
#   READS_QUIET_PCT=10      before each run, wait until other work uses at most
#   READS_QUIET_WAIT=120      this % of the CPUs, for at most this many seconds
#   READS_MAX_OTHER_PCT=15  a run during which other work used more CPU than this
#   READS_RETRIES=2           is measured again (at most this many times)
#   READS_OUT_DIR=test/bench/out/georoute_reads   results, logs, pgbench scripts
#   READS_KEEP_LOGS=1       keep pgbench's per-transaction logs
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REGIONS_SH="$REPO/test/harness/regions.sh"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
PGBENCH="$PGBIN/pgbench"
SECS=${READS_SECONDS:-20}
RUNS=${READS_RUNS:-3}
ROWS=${READS_ROWS:-1000000}
PARTS=${READS_PARTS:-1 2}
FDW_HOST=${READS_FDW_HOST:-socket}
SHARED_BUFFERS=${READS_SHARED_BUFFERS:-1GB}
QUIET_LIMIT=${READS_QUIET_PCT:-10}
QUIET_WAIT=${READS_QUIET_WAIT:-120}
MAX_OTHER=${READS_MAX_OTHER_PCT:-15}
RETRIES=${READS_RETRIES:-2}
OUT=${READS_OUT_DIR:-$REPO/test/bench/out/georoute_reads}

# The benchmark's own set of region clusters (not the tests' 55441-55443).
export CASEBOOK_REGION_SET=bench
export CASEBOOK_REGION_PORT_BASE=55471

die() { echo "georoute_reads: ERROR: $*" >&2; exit 1; }
say() { echo "georoute_reads: $*" >&2; }
for v in SECS RUNS ROWS QUIET_LIMIT QUIET_WAIT MAX_OTHER RETRIES; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done
[ "$ROWS" -ge 1 ] && [ "$SECS" -ge 1 ] && [ "$RUNS" -ge 1 ] || die "READS_ROWS, READS_SECONDS and READS_RUNS must be at least 1"
case "$FDW_HOST" in socket|tcp) ;; *) die "READS_FDW_HOST is socket or tcp (got '$FDW_HOST')" ;; esac
[ -x "$PGBENCH" ] || die "$PGBENCH not found"
command -v python3 >/dev/null || die "python3 is needed for the summary"

regions() { bash "$REGIONS_SH" "$@"; }
trap 'regions stop >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
RUNDIR="$OUT/runs"; SCRIPTS="$OUT/scripts"
rm -rf "$RUNDIR" "$SCRIPTS"; mkdir -p "$RUNDIR" "$SCRIPTS"
RESULTS="$OUT/results.tsv"; COMMANDS="$OUT/commands.txt"; : >"$COMMANDS"

say "starting the region clusters (set $CASEBOOK_REGION_SET, ports $CASEBOOK_REGION_PORT_BASE-$((CASEBOOK_REGION_PORT_BASE + 2)))"
regions start >/dev/null
declare -A HOST PORT
for r in us eu asia; do
  HOST[$r]=$(eval "$(regions env "$r")"; echo "$PGHOST")
  PORT[$r]=$(regions port "$r")
done
in_region() {
  local r=$1; shift
  PGHOST=${HOST[$r]} PGPORT=${PORT[$r]} PGUSER=postgres "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d casebook "$@"
}

# The data is read from memory in both tables: room for both in shared_buffers.
for r in us eu; do
  in_region "$r" -c "ALTER SYSTEM SET shared_buffers = '$SHARED_BUFFERS'" >/dev/null
  regions restart "$r" >/dev/null
done

# The georoute build the clusters run (preloaded: loaded when they started, just now).
LIBDIR=$("$PGBIN/pg_config" --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)
GEOROUTE_SUM=$(sha256sum "$LIBDIR/georoute.so" | cut -c1-12)

# ---- set-up ------------------------------------------------------------------------
SERVERS=""
for r in us eu asia; do
  if [ "$FDW_HOST" = tcp ]; then h=127.0.0.1; else h=${HOST[$r]}; fi
  SERVERS="$SERVERS
CREATE SERVER cluster_$r FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$h', port '${PORT[$r]}', dbname 'casebook');
CREATE USER MAPPING FOR CURRENT_USER SERVER cluster_$r OPTIONS (user 'postgres');"
done
# The installed extension may be reinstalled while this runs (make install
# elsewhere): a failed CREATE EXTENSION is tried again a minute later.
create_extension() {
  local r=$1 attempt out
  for attempt in 1 2 3 4 5; do
    if out=$(in_region "$r" -c "SET client_min_messages = warning" \
               -c "CREATE EXTENSION IF NOT EXISTS georoute CASCADE" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" 2>&1); then
      return 0
    fi
    say "CREATE EXTENSION georoute failed in $r (attempt $attempt): $out; trying again in 60 s"
    sleep 60
  done
  die "CREATE EXTENSION georoute failed 5 times in $r"
}
for r in us eu asia; do
  create_extension "$r"
  in_region "$r" >/dev/null <<SQL
SET client_min_messages = warning;
$SERVERS
SELECT georoute.add_region('us', 'cluster_us', 'US', number => 1);
SELECT georoute.add_region('eu', 'cluster_eu', 'EU', number => 2);
SELECT georoute.add_region('asia', 'cluster_asia', 'APAC', number => 3);
CREATE TABLE orders (id bigint, region text, customer bigint, total numeric, payload text,
                     PRIMARY KEY (id, region)) PARTITION BY LIST (region);
SELECT * FROM georoute.distribute('orders', 'region');
SQL
done
layout=$(in_region us -F ' ' -c "SELECT x.region, x.partition, x.kind FROM georoute.distribute('orders', 'region') x" | tr '\n' ';')
[ "$layout" = "us orders_us local;eu orders_eu foreign;asia orders_asia foreign;" ] || die "unexpected layout in us: $layout"

say "loading $ROWS rows into the us partition and orders_plain, $ROWS into the eu partition"
# Rows of a region are written in its own cluster (ids minted there).
load_sql() { # load_sql REGION
  cat <<SQL
SET client_min_messages = warning;
INSERT INTO orders (id, region, customer, total, payload)
SELECT georoute.next_id('$1'), '$1', g % 50000, round((g % 100000) / 100.0, 2), md5(g::text) || md5((-g)::text)
  FROM generate_series(1, $ROWS) g;
SQL
}
load_sql us | in_region us >/dev/null
in_region us >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE TABLE orders_plain (id bigint PRIMARY KEY, region text, customer bigint, total numeric, payload text);
INSERT INTO orders_plain SELECT * FROM orders_us ORDER BY ctid;
SQL
load_sql eu | in_region eu >/dev/null
for r in us eu asia; do in_region "$r" -c "VACUUM (ANALYZE) " >/dev/null; done
in_region us -c "ANALYZE orders_eu" -c "ANALYZE orders_asia" >/dev/null
in_region us -c "SELECT count(pg_prewarm(c)) FROM unnest(ARRAY['orders_us', 'orders_pkey_us', 'orders_plain', 'orders_plain_pkey']) c" >/dev/null
in_region eu -c "SELECT count(pg_prewarm(c)) FROM unnest(ARRAY['orders_eu', 'orders_pkey_eu']) c" >/dev/null

# The ids of a region are consecutive (one cluster's sequence, from 0): a
# pgbench script draws base + random(0, rows - 1).
ids_of() { # ids_of REGION TABLE: prints the base id; dies unless ROWS consecutive ids
  local min max n
  read -r min max n < <(in_region "$1" -F ' ' -c "SELECT min(id), max(id), count(*) FROM $2")
  [ "$n" = "$ROWS" ] && [ "$((max - min + 1))" = "$ROWS" ] || die "$1 $2: $n rows, ids $min..$max (expected $ROWS consecutive ids)"
  echo "$min"
}
BASE_US=$(ids_of us orders_us)
[ "$(ids_of us orders_plain)" = "$BASE_US" ] || die "orders_plain does not have the ids of orders_us"
BASE_EU=$(ids_of eu orders_eu)
[ "$(in_region us -c "SELECT count(*) FROM orders WHERE region = 'eu'")" = "$ROWS" ] || die "the us cluster does not see the EU rows"

COLS="id, region, customer, total, payload"
write_script() { # write_script NAME SQL
  printf '\\set id :base + random(0, :rows - 1)\n%s;\n' "$2" >"$SCRIPTS/$1.sql"
}
write_script plain "SELECT $COLS FROM orders_plain WHERE id = :id"
write_script distributed "SELECT $COLS FROM orders WHERE region = 'us' AND id = :id"
write_script no_region "SELECT $COLS FROM orders WHERE id = :id"
write_script us_via_parent "SELECT $COLS FROM orders WHERE region = 'eu' AND id = :id"
write_script us_via_foreign "SELECT $COLS FROM orders_eu WHERE id = :id"
write_script eu_local "SELECT $COLS FROM orders WHERE region = 'eu' AND id = :id"

# The plans (and a check that each reads what it should).
{
  for s in plain distributed no_region us_via_parent us_via_foreign; do
    q=$(sed -n 2p "$SCRIPTS/$s.sql" | sed "s/:id/$((BASE_US + 7))/; s/;$//")
    [[ "$s" == us_via* ]] && q=${q//$((BASE_US + 7))/$((BASE_EU + 7))}
    echo "-- us: $s"; in_region us -c "EXPLAIN (VERBOSE, COSTS OFF) $q"
  done
  q=$(sed -n 2p "$SCRIPTS/eu_local.sql" | sed "s/:id/$((BASE_EU + 7))/; s/;$//")
  echo "-- eu: eu_local"; in_region eu -c "EXPLAIN (VERBOSE, COSTS OFF) $q"
} >"$OUT/plans.txt"
grep -A1 -- '-- us: distributed' "$OUT/plans.txt" | grep -q 'Index Scan using orders_pkey_us on public.orders_us' \
  || die "the region predicate does not select the us partition alone (see $OUT/plans.txt)"
grep -A1 -- '-- us: us_via_parent' "$OUT/plans.txt" | grep -q 'Foreign Scan on public.orders_eu' \
  || die "the EU read through the parent is not one foreign scan (see $OUT/plans.txt)"

# ---- CPU use by other work during a run (another engineer's build, tests) --------
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }
PM_PIDS=""
for r in us eu asia; do
  d=$(in_region "$r" -c "SHOW data_directory")
  PM_PIDS="$PM_PIDS $(head -n 1 "$d/postmaster.pid")"
done
# Ticks of the three clusters: the postmasters (with the backends they
# reaped), their live children.
server_ticks() {
  local pm kids
  {
    for pm in $PM_PIDS; do
      awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
      kids=$(ps -o pid= --ppid "$pm" 2>/dev/null | sed 's#^ *\(.*\)$#/proc/\1/stat#')
      # shellcheck disable=SC2086
      [ -z "$kids" ] || cat $kids 2>/dev/null | awk '{ print $14 + $15 }'
    done
  } | awk '{ s += $1 } END { print s + 0 }'
}
# Ticks of this benchmark: the clusters and what this script reaped (pgbench, psql).
own_ticks() { echo $(($(server_ticks) + $(awk '{ print $16 + $17 }' "/proc/$$/stat"))); }
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
other_pct() { # other_pct BUSY0 IDLE0 OWN0 BUSY1 IDLE1 OWN1
  awk -v b=$(($4 - $1)) -v i=$(($5 - $2)) -v o=$(($6 - $3)) \
    'BEGIN { t = b + i; if (t <= 0) t = 1; x = 100 * (b - o) / t; printf "%.0f", (x < 0 ? 0 : x) }'
}
QUIET_PCT=0
wait_quiet() {
  local waited=0 b0 i0 o0 b1 i1 o1
  while :; do
    read -r b0 i0 < <(cpu_ticks); o0=$(own_ticks)
    sleep 2
    read -r b1 i1 < <(cpu_ticks); o1=$(own_ticks)
    QUIET_PCT=$(other_pct "$b0" "$i0" "$o0" "$b1" "$i1" "$o1")
    [ "$QUIET_PCT" -le "$QUIET_LIMIT" ] && return 0
    if [ "$waited" -ge "$QUIET_WAIT" ]; then
      say "other work still uses ${QUIET_PCT}% of the CPUs after ${waited} s; measuring anyway"
      return 0
    fi
    [ "$waited" -gt 0 ] || say "other work uses ${QUIET_PCT}% of the CPUs; waiting up to ${QUIET_WAIT} s"
    sleep 3; waited=$((waited + 5))
  done
}

# The libraries a reader runs. georoute is in shared_preload_libraries
# (cluster.sh): every backend runs the build its postmaster loaded at start,
# whatever is installed later (the postmaster's mapping then reads
# "(deleted)"). postgres_fdw.so is loaded by each backend that uses it: a
# replacement during the runs is noted in the results.
fdw_sum() { sha256sum "$LIBDIR/postgres_fdw.so" | cut -c1-12; }
FDW0=$(fdw_sum)

# ---- one measured run ---------------------------------------------------------------
printf 'part\tcase\tregion\tmode\tclients\trun\tattempt\tused\ttps\tlat_avg_ms\tlog_avg_ms\tlog_p99_ms\ttransactions\tserver_cpu_us_per_tx\tother_cpu_pct\tquiet_before_pct\tfdw_lib_changed\n' >"$RESULTS"
measure() { # measure PART CASE REGION MODE CLIENTS RUN BASE LOG(0|1)
  local part=$1 case=$2 r=$3 mode=$4 c=$5 run=$6 base=$7 log=$8
  local attempt tag pout cmd rc b0 i0 o0 b1 i1 o1 s0 s1 other tps lat tx failed lavg lp99 used note libs cpu_tx
  for ((attempt = 1; ; attempt++)); do
    tag="p$part-$case-$mode-c$c-r$run-a$attempt"
    pout="$RUNDIR/$tag.txt"
    cmd=("$PGBENCH" -n -h "${HOST[$r]}" -p "${PORT[$r]}" -U postgres -M "$mode" -c "$c" -j "$c" -T "$SECS"
         -D "base=$base" -D "rows=$ROWS" -f "$SCRIPTS/$case.sql")
    [ "$log" = 1 ] && cmd+=(-l "--log-prefix=$RUNDIR/$tag.txlog")
    cmd+=(casebook)
    printf '%s\n' "${cmd[*]}" >>"$COMMANDS"
    wait_quiet
    read -r b0 i0 < <(cpu_ticks); o0=$(own_ticks); s0=$(server_ticks)
    rc=0; "${cmd[@]}" >"$pout" 2>&1 || rc=$?
    sleep 0.2   # the postmasters reap the finished backends
    read -r b1 i1 < <(cpu_ticks); o1=$(own_ticks); s1=$(server_ticks)
    other=$(other_pct "$b0" "$i0" "$o0" "$b1" "$i1" "$o1")
    [ "$rc" -eq 0 ] || { tail -n 20 "$pout" >&2; die "pgbench failed ($tag, status $rc)"; }
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$pout")
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$pout")
    tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$pout")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$pout")
    [ -n "$tps" ] && [ -n "$lat" ] && [ -n "$tx" ] || { cat "$pout" >&2; die "could not read pgbench's output ($pout)"; }
    [ "${failed:-0}" -eq 0 ] || { cat "$pout" >&2; die "$failed failed transactions ($tag)"; }
    lavg=""; lp99=""
    if [ "$log" = 1 ]; then
      # Per-transaction log: column 3 is the latency in microseconds.
      read -r lavg lp99 < <(cat "$RUNDIR/$tag.txlog".* | awk '{ print $3 }' | sort -n | awk '
        { v[NR] = $1; s += $1 }
        END { if (NR == 0) { print "NaN NaN"; exit }
              i = int(NR * 0.99); if (i < NR * 0.99) i++
              printf "%.3f %.3f\n", s / NR / 1000, v[i] / 1000 }')
      [ -n "${READS_KEEP_LOGS:-}" ] || rm -f "$RUNDIR/$tag.txlog".*
    fi
    libs=no; [ "$(fdw_sum)" = "$FDW0" ] || libs=yes
    cpu_tx=$(awk -v t=$((s1 - s0)) -v hz="$HZ" -v n="$tx" 'BEGIN { printf "%.1f", 1e6 * t / hz / (n < 1 ? 1 : n) }')
    used=yes; note=""
    if [ "$other" -gt "$MAX_OTHER" ]; then
      if [ "$attempt" -le "$RETRIES" ]; then used=no; note="  DISTURBED (other work ${other}% CPU): measuring again"
      else note="  other work ${other}% CPU, no retries left: used anyway"; fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$part" "$case" "$r" "$mode" "$c" "$run" \
      "$attempt" "$used" "$tps" "$lat" "$lavg" "$lp99" "$tx" "$cpu_tx" "$other" "$QUIET_PCT" "$libs" >>"$RESULTS"
    printf 'georoute_reads: part %s %-15s %-8s %s client(s) run %d/%d  %10.1f tps  avg %.3f ms%s  server %s us cpu/tx  other cpu %s%%%s\n' \
      "$part" "$case" "$mode" "$c" "$run" "$RUNS" "$tps" "$lat" "${lp99:+  p99 $lp99 ms}" "$cpu_tx" "$other" "$note" >&2
    [ "$used" = yes ] && return 0
  done
}

# ---- part 1: local point reads --------------------------------------------------------
if [[ " $PARTS " == *" 1 "* ]]; then
  cases=(plain distributed no_region)
  for ((run = 1; run <= RUNS; run++)); do
    for mode in prepared simple; do
      for c in 1 2; do
        for ((k = 0; k < 3; k++)); do   # the order of the cases rotates from run to run
          measure 1 "${cases[$(((k + run - 1) % 3))]}" us "$mode" "$c" "$run" "$BASE_US" 0
        done
      done
    done
  done
fi

# ---- part 2: an EU row, read from the us cluster and in the eu cluster ---------------------
if [[ " $PARTS " == *" 2 "* ]]; then
  for ((run = 1; run <= RUNS; run++)); do
    for mode in prepared simple; do
      measure 2 us_via_parent us "$mode" 1 "$run" "$BASE_EU" 1
      measure 2 us_via_foreign us "$mode" 1 "$run" "$BASE_EU" 1
      measure 2 eu_local eu "$mode" 1 "$run" "$BASE_EU" 1
    done
  done
fi

# ---- planning and execution time of each statement (server side) ---------------------------
# One session per cluster, N EXPLAIN ANALYZE of each statement (interleaved,
# random ids), medians. Inside the DO block the statements share one
# transaction, so a foreign read's execution time here leaves out the remote
# START TRANSACTION and COMMIT that each pgbench transaction pays.
N_EXPLAIN=500
explain_sql() { # explain_sql "label|statement with %s for the id|base" ...
  local spec label stmt base
  echo "SET client_min_messages = warning;"
  echo "CREATE TEMP TABLE t (n serial, label text, plan_ms float8, exec_ms float8);"
  echo "DO \$do\$ DECLARE j json; BEGIN FOR i IN 1..$N_EXPLAIN LOOP"
  for spec in "$@"; do
    IFS='|' read -r label stmt base <<<"$spec"
    echo "  EXECUTE format('EXPLAIN (ANALYZE, SUMMARY, FORMAT JSON) ${stmt//\'/\'\'}', $base + floor(random() * $ROWS)::bigint) INTO j;"
    echo "  INSERT INTO t (label, plan_ms, exec_ms) VALUES ('$label', (j->0->>'Planning Time')::float8, (j->0->>'Execution Time')::float8);"
  done
  echo "END LOOP; END \$do\$;"
  echo "SELECT label, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY plan_ms)::numeric, 4),
               round(percentile_cont(0.5) WITHIN GROUP (ORDER BY exec_ms)::numeric, 4) FROM t GROUP BY label ORDER BY min(n);"
}
stmt_of() { sed -n 2p "$SCRIPTS/$1.sql" | sed 's/:id/%s/; s/;$//'; }
{
  explain_sql "plain|$(stmt_of plain)|$BASE_US" "distributed|$(stmt_of distributed)|$BASE_US" \
              "no_region|$(stmt_of no_region)|$BASE_US" "us_via_parent|$(stmt_of us_via_parent)|$BASE_EU" \
              "us_via_foreign|$(stmt_of us_via_foreign)|$BASE_EU" | in_region us -F $'\t'
  explain_sql "eu_local|$(stmt_of eu_local)|$BASE_EU" | in_region eu -F $'\t'
} >"$OUT/explain.tsv"

# ---- summary -------------------------------------------------------------------------------
{
  echo "machine:     $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "postgres:    $(in_region us -c 'SELECT version()')"
  echo "settings us: $(in_region us -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings
                                       WHERE name IN ('shared_buffers', 'fsync', 'jit', 'plan_cache_mode', 'enable_partition_pruning',
                                                      'shared_preload_libraries', 'georoute.enforce_home_region')")"
  echo "extensions:  $(in_region us -c "SELECT string_agg(extname || ' ' || extversion, ', ' ORDER BY extname) FROM pg_extension WHERE extname <> 'plpgsql'")"
  echo "sizes us:    $(in_region us -c "SELECT string_agg(c || ' ' || pg_size_pretty(pg_relation_size(c)), ', ') FROM unnest(ARRAY['orders_us', 'orders_pkey_us', 'orders_plain', 'orders_plain_pkey']) c")"
  echo "fdw host:    $FDW_HOST ($(in_region us -c "SELECT array_to_string(srvoptions, ' ') FROM pg_foreign_server WHERE srvname = 'cluster_eu'"))"
  replaced=no; for pm in $PM_PIDS; do grep -q 'georoute\.so (deleted)' "/proc/$pm/maps" && replaced=yes; done
  echo "libraries:   georoute.so $GEOROUTE_SUM when the clusters started (preloaded; installed file now $(sha256sum "$LIBDIR/georoute.so" | cut -c1-12), replaced since the clusters loaded it: $replaced), postgres_fdw.so $FDW0 (sha256 prefixes)"
  echo "rows:        $ROWS in orders_us, orders_plain and orders_eu; ids $BASE_US.. (us), $BASE_EU.. (eu)"
  echo "runs:        $RUNS x $SECS s per case and setting, cases alternating; medians"
} >"$OUT/machine.txt"

echo
echo "## Commands"
echo
echo '```sh'
echo "CASEBOOK_REGION_SET=$CASEBOOK_REGION_SET CASEBOOK_REGION_PORT_BASE=$CASEBOOK_REGION_PORT_BASE bash test/harness/regions.sh start"
echo "# pgbench runs (run 1 of $RUNS; the other runs repeat them; all are in $COMMANDS):"
grep -e '-r1-a1' "$COMMANDS" | sed "s#$OUT/#\$OUT/#g; s#-r1-a1#-rN-aN#"
echo '```'
echo
echo "\$OUT is $OUT. pgbench scripts (-D base, -D rows as above):"
echo
for s in plain distributed no_region us_via_parent us_via_foreign eu_local; do
  echo "* \`$s.sql\`: \`$(tail -n 1 "$SCRIPTS/$s.sql")\` (\`$(head -n 1 "$SCRIPTS/$s.sql")\`)"
done
echo
sed 's/^/    /' "$OUT/machine.txt"
echo
python3 - "$RESULTS" "$OUT/explain.tsv" "$RUNS" "$SECS" "$MAX_OTHER" <<'PY'
import csv, statistics, sys
results, explain, runs, secs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = [r for r in csv.DictReader(open(results), delimiter='\t') if r['used'] == 'yes']
def med(xs): return statistics.median(xs) if xs else float('nan')
def sel(**k): return [r for r in rows if all(r[a] == str(b) for a, b in k.items())]
def f(r, k): return float(r[k])
disturbed = sum(1 for r in csv.DictReader(open(results), delimiter='\t') if r['used'] == 'no')
other_max = max((int(r['other_cpu_pct']) for r in rows), default=0)
libs = any(r['fdw_lib_changed'] == 'yes' for r in rows)
max_other = int(sys.argv[5])
anyway = sum(1 for r in rows if int(r['other_cpu_pct']) > max_other)

if any(r['part'] == '1' for r in rows):
    print(f"### Local point reads in the us cluster (median of {runs} x {secs} s)\n")
    print("| read | mode | clients | TPS | TPS min-max | latency avg (ms) | vs plain (TPS) | server CPU per read (µs) |")
    print("|---|---|---:|---:|---|---:|---:|---:|")
    names = {'plain': '`orders_plain WHERE id = :id` (unpartitioned)',
             'distributed': "`orders WHERE region = 'us' AND id = :id` (distributed)",
             'no_region': '`orders WHERE id = :id` (all partitions: 2 foreign)'}
    for mode in ('prepared', 'simple'):
        for c in ('1', '2'):
            base = med([f(r, 'tps') for r in sel(part=1, case='plain', mode=mode, clients=c)])
            for case in ('plain', 'distributed', 'no_region'):
                rs = sel(part=1, case=case, mode=mode, clients=c)
                if not rs: continue
                tps = [f(r, 'tps') for r in rs]
                ratio = '1' if case == 'plain' else f"**{med(tps) / base:.2f}x**" if case == 'distributed' else f"{med(tps) / base:.3f}x"
                print(f"| {names[case]} | {mode} | {c} | {med(tps):,.0f} | {min(tps):,.0f}-{max(tps):,.0f} | "
                      f"{med([f(r, 'lat_avg_ms') for r in rs]):.3f} | {ratio} | {med([f(r, 'server_cpu_us_per_tx') for r in rs]):.1f} |")
    print()

if any(r['part'] == '2' for r in rows):
    print(f"### An EU row by primary key, 1 client (median of {runs} x {secs} s; from the per-transaction logs)\n")
    print("| read | where | mode | latency avg (ms) | p99 (ms) | TPS | vs local in eu (avg) | server CPU per read (µs) |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    names = {'us_via_parent': ("`orders WHERE region = 'eu' AND id = :id`", 'us cluster, through the parent'),
             'us_via_foreign': ('`orders_eu WHERE id = :id`', 'us cluster, the foreign partition'),
             'eu_local': ("`orders WHERE region = 'eu' AND id = :id`", 'eu cluster, local')}
    for mode in ('prepared', 'simple'):
        local = med([f(r, 'log_avg_ms') for r in sel(part=2, case='eu_local', mode=mode)])
        for case in ('us_via_parent', 'us_via_foreign', 'eu_local'):
            rs = sel(part=2, case=case, mode=mode)
            if not rs: continue
            avg = med([f(r, 'log_avg_ms') for r in rs])
            print(f"| {names[case][0]} | {names[case][1]} | {mode} | {avg:.3f} | {med([f(r, 'log_p99_ms') for r in rs]):.3f} | "
                  f"{med([f(r, 'tps') for r in rs]):,.0f} | {avg / local:.1f}x | {med([f(r, 'server_cpu_us_per_tx') for r in rs]):.1f} |")
    print()

print("### Server time per statement (EXPLAIN ANALYZE, median of 500 in one session)\n")
print("| statement | cluster | planning (ms) | execution (ms) |")
print("|---|---|---:|---:|")
where = {'eu_local': 'eu'}
for line in open(explain):
    label, plan, ex = line.rstrip('\n').split('\t')
    print(f"| {label} | {where.get(label, 'us')} | {float(plan):.4f} | {float(ex):.4f} |")
print()
print(f"Other work on the machine: at most {other_max}% of the CPUs during a run used"
      f"{f'; {disturbed} disturbed run(s) measured again' if disturbed else ''}"
      f"{f'; {anyway} run(s) used although other work took more than {max_other}%' if anyway else ''}."
      + (" WARNING: postgres_fdw.so was replaced during the runs." if libs else ""))
print("Server CPU per read: CPU time of the three clusters' processes per transaction (remote backends included).")
PY
