#!/usr/bin/env bash
# Upgrade test (make upgradecheck; a step of make test). For each extension
# and each older version V that can still be installed (<ext>--V.sql):
#
#   1. database A: CREATE EXTENSION <ext> VERSION 'V' CASCADE, data written
#      through the extension's functions (data/<ext>.sql), then ALTER
#      EXTENSION <ext> UPDATE, which walks the chain of upgrade scripts to
#      the default version of control/<ext>.control;
#   2. database B: CREATE EXTENSION <ext> CASCADE (the default version), the
#      same data;
#   3. checks, each printed as "ok" or "not ok" (data/<ext>_cleanup.sql, if
#      present, runs in both databases between the data checks and pgTAP):
#      - A reaches the default version;
#      - the data reads the same before and after the update, and as in
#        expected/<ext>.out (data/<ext>_check.sql), in A and in B;
#      - catalog.sql prints the same description of the extension's objects
#        in A and B (the differences are printed);
#      - the extension's pgTAP suites (test/pgtap/<ext>_*.sql) pass in A and
#        print the same results in A and B. The suites named <ext>_cron*.sql
#        are left out: they install the extension themselves, in the one
#        database where pg_cron can live (test/pgtap/<ext>_cron_drop.sql
#        covers the upgrade of pg_cron jobs there);
#      - DROP EXTENSION works in A (no pg_cron in this database).
#
# Ends with "N passed, N failed"; exit 1 if anything failed. Runs against the
# server of the libpq environment (PGHOST, PGPORT, PGUSER), by default the
# harness's cluster (test/harness/cluster.sh env). Outputs and diffs are kept
# in build/upgrade/. The databases are dropped afterwards unless a check
# failed.
#
# Environment: CASEBOOK_PGBIN (PostgreSQL's bin directory),
# CASEBOOK_UPGRADE_EXTENSIONS (default: commerce eventstore feed).
set -uo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO"

PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
if [ -z "${PGPORT:-}" ]; then
  eval "$(bash "$REPO/test/harness/cluster.sh" env)"
fi
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1)
OUT="$REPO/build/upgrade"
rm -rf "$OUT"
mkdir -p "$OUT"
EXTENSIONS=${CASEBOOK_UPGRADE_EXTENSIONS:-commerce eventstore feed}

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
# check NAME CMD...: one check; its output is shown only when it fails.
check() {
  local name=$1 log
  shift
  log=$(mktemp)
  if "$@" >"$log" 2>&1; then ok "$name"; else not_ok "$name"; sed 's/^/    /' "$log" | head -n 200; fi
  rm -f "$log"
}

recreate_db() {
  "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}
drop_db() {
  "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)"
}
# The default version of an extension, from its control file.
default_version() {
  sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" "control/$1.control"
}
# Versions with a full install script other than the default one, oldest first.
older_versions() {
  local e=$1 f v def
  def=$(default_version "$e")
  for f in extensions/"$e"/"$e"--*.sql; do
    v=${f##*/"$e"--}
    v=${v%.sql}
    case "$v" in *--*) continue ;; esac
    [ "$v" = "$def" ] || echo "$v"
  done | sort -V
}

same_file() {  # same_file EXPECTED ACTUAL: diff, printed when they differ
  diff -u "$1" "$2"
}
# The pgTAP results without what varies between runs (timings, totals).
tap_lines() {
  grep -E '^[[:space:]]*(ok|not ok) [0-9]+|^[[:space:]]*#|^[[:space:]]*[0-9]+\.\.[0-9]+|^test/pgtap/' "$1" |
    sed -E 's/[[:space:]]+[0-9]+ ms$//'
}
tap_passes() {  # tap_passes LOG RC
  [ "$2" -eq 0 ] && grep -qE '^Result: PASS' "$1" && ! grep -qE '^[[:space:]]*not ok' "$1"
}
catalog_same() {  # catalog_same EXT DB_UPGRADED DB_FRESH PREFIX
  "${PSQL[@]}" -d "$2" -v ext="$1" -f test/upgrade/catalog.sql >"$4.catalog-upgraded" || return 1
  "${PSQL[@]}" -d "$3" -v ext="$1" -f test/upgrade/catalog.sql >"$4.catalog-fresh" || return 1
  # An empty description would compare equal and prove nothing.
  [ -s "$4.catalog-fresh" ] || { echo "empty catalog description"; return 1; }
  echo "--- fresh install, +++ upgraded (what the upgrade scripts left different):"
  diff -u "$4.catalog-fresh" "$4.catalog-upgraded"
}

for e in $EXTENSIONS; do
  def=$(default_version "$e")
  if [ -z "$def" ]; then not_ok "$e: no default_version in control/$e.control"; continue; fi
  suites=()
  for f in test/pgtap/"$e"_*.sql; do
    [ -e "$f" ] || continue
    case "$f" in test/pgtap/"$e"_cron*) continue ;; esac
    suites+=("$f")
  done
  fresh="upgrade_${e}_fresh"
  fresh_ready=0
  olds=$(older_versions "$e")
  if [ -z "$olds" ]; then
    echo "# $e: only version $def can be installed, nothing to upgrade from"
    continue
  fi
  for v in $olds; do
    echo "# $e: $v -> $def"
    old="upgrade_${e}_${v//[^0-9a-zA-Z]/_}"
    prefix="$OUT/$e-$v"
    failed_before=$failed

    # 1. install V, write data, update.
    if ! { recreate_db "$old" &&
           "${PSQL[@]}" -d "$old" -c "SET client_min_messages = warning" \
             -c "CREATE EXTENSION $e VERSION '$v' CASCADE" &&
           "${PSQL[@]}" -d "$old" -f "test/upgrade/data/$e.sql" &&
           "${PSQL[@]}" -d "$old" -f "test/upgrade/data/${e}_check.sql" >"$prefix.data-before" &&
           "${PSQL[@]}" -d "$old" -c "ALTER EXTENSION $e UPDATE"; } >"$prefix.setup.log" 2>&1; then
      not_ok "$e $v: install $v, write data, ALTER EXTENSION $e UPDATE"
      sed 's/^/    /' "$prefix.setup.log" | tail -n 40
      continue
    fi
    ok "$e $v: install $v, write data, ALTER EXTENSION $e UPDATE"
    got=$("${PSQL[@]}" -At -d "$old" -c "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = '$e'")
    if [ "$got" = "$def" ]; then ok "$e $v: the update reaches $def"
    else not_ok "$e $v: the update reaches $def (extversion is '$got')"; fi
    "${PSQL[@]}" -d "$old" -f "test/upgrade/data/${e}_check.sql" >"$prefix.data-after" 2>&1
    check "$e $v: the data written by $v reads as expected/$e.out before the update" \
      same_file "test/upgrade/expected/$e.out" "$prefix.data-before"
    check "$e $v: the data written by $v reads the same after the update" \
      same_file "test/upgrade/expected/$e.out" "$prefix.data-after"

    # 2. the fresh install of the default version, once per extension.
    if [ "$fresh_ready" -eq 0 ]; then
      if { recreate_db "$fresh" &&
           "${PSQL[@]}" -d "$fresh" -c "SET client_min_messages = warning" -c "CREATE EXTENSION $e CASCADE" &&
           "${PSQL[@]}" -d "$fresh" -f "test/upgrade/data/$e.sql"; } >"$OUT/$e-fresh.setup.log" 2>&1; then
        fresh_ready=1
        "${PSQL[@]}" -d "$fresh" -f "test/upgrade/data/${e}_check.sql" >"$OUT/$e-fresh.data" 2>&1
        check "$e $def: a fresh install with the same data reads as expected/$e.out" \
          same_file "test/upgrade/expected/$e.out" "$OUT/$e-fresh.data"
      else
        not_ok "$e $def: fresh install and data"
        sed 's/^/    /' "$OUT/$e-fresh.setup.log" | tail -n 40
        continue
      fi
    fi

    # 3. the catalog.
    check "$e $v: every object of $e is the same after the update as in a fresh install" \
      catalog_same "$e" "$old" "$fresh" "$prefix"

    # 4. pgTAP on both, after data/<ext>_cleanup.sql (if any) removed what
    # a suite would count as its own.
    if [ -f "test/upgrade/data/${e}_cleanup.sql" ]; then
      if [ "$fresh_ready" -eq 1 ] && [ ! -e "$OUT/$e-fresh.cleaned" ]; then
        "${PSQL[@]}" -d "$fresh" -f "test/upgrade/data/${e}_cleanup.sql" >"$OUT/$e-fresh.cleaned" 2>&1
      fi
      "${PSQL[@]}" -d "$old" -f "test/upgrade/data/${e}_cleanup.sql" >"$prefix.cleaned" 2>&1
    fi
    if [ "${#suites[@]}" -eq 0 ]; then
      not_ok "$e $v: no pgTAP suite test/pgtap/${e}_*.sql to run"
    else
      rc_old=0; rc_new=0
      pg_prove --psql-bin "$PGBIN/psql" --verbose --ext .sql -d "$old" "${suites[@]}" >"$prefix.pgtap-upgraded" 2>&1 || rc_old=$?
      pg_prove --psql-bin "$PGBIN/psql" --verbose --ext .sql -d "$fresh" "${suites[@]}" >"$prefix.pgtap-fresh" 2>&1 || rc_new=$?
      if tap_passes "$prefix.pgtap-upgraded" "$rc_old"; then
        ok "$e $v: pgTAP passes on the upgraded database ($(grep -cE '^[[:space:]]*ok [0-9]' "$prefix.pgtap-upgraded") tests: ${suites[*]})"
      else
        not_ok "$e $v: pgTAP passes on the upgraded database (pg_prove exit $rc_old)"
        grep -E '^[[:space:]]*not ok|^[[:space:]]*#|Failed|Dubious|Parse errors' "$prefix.pgtap-upgraded" | head -n 60 | sed 's/^/    /'
      fi
      tap_lines "$prefix.pgtap-fresh" >"$prefix.tap-fresh"
      tap_lines "$prefix.pgtap-upgraded" >"$prefix.tap-upgraded"
      if [ ! -s "$prefix.tap-fresh" ]; then
        not_ok "$e $v: pgTAP prints the same results on the upgraded database as on a fresh one (no results)"
      else
        check "$e $v: pgTAP prints the same results on the upgraded database as on a fresh one" \
          same_file "$prefix.tap-fresh" "$prefix.tap-upgraded"
      fi
    fi

    # 5. DROP EXTENSION without pg_cron.
    check "$e $v: DROP EXTENSION $e on the upgraded database (no pg_cron there)" \
      "${PSQL[@]}" -d "$old" -c "DROP EXTENSION $e"

    if [ "$failed" -eq "$failed_before" ]; then drop_db "$old" >/dev/null 2>&1
    else echo "# kept database $old for inspection; outputs in $OUT"; fi
  done
  if [ "$fresh_ready" -eq 1 ] && [ "$failed" -eq 0 ]; then drop_db "$fresh" >/dev/null 2>&1; fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
