#!/usr/bin/env bash
# casebook demo (what `make demo` runs):
# builds and installs everything, starts a fresh demo cluster, runs every
# extension's demo script (extensions/<name>/demo.sql), and prints the
# scoreboard the demos fill in (casebook_demo.scoreboard). The cluster is left
# running so it can be explored; stop it with `make stop`.
# Exit status is non-zero if any workflow failed (or none ran).
#
# Environment: CASEBOOK_SKIP_DEPS=1 skips the package check; CASEBOOK_PORT.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO"

HARNESS="$REPO/test/harness"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
LOGDIR="$REPO/build/demo"
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d casebook)

step() { printf '\n==> %s\n' "$*"; }
die() { echo "demo: ERROR: $*" >&2; exit 1; }

# Record a failed workflow on the scoreboard: fail_row EXT WORKFLOW INVARIANT DETAIL
fail_row() {
  "${PSQL[@]}" -v ext="$1" -v wf="$2" -v inv="$3" -v det="$4" <<'SQL' || echo "demo: could not record failure for $1" >&2
INSERT INTO casebook_demo.scoreboard (extension, workflow, ok, invariant, detail)
VALUES (:'ext', :'wf', false, :'inv', :'det');
SQL
}

# The most telling error line of a psql log (or its last line).
last_error() {
  local line
  line=$(grep -E 'ERROR|FATAL|PANIC|psql:' "$1" | tail -n 1 || true)
  [ -n "$line" ] || line=$(tail -n 1 "$1")
  echo "${line:-psql failed without output}"
}

show_log() {
  echo "---- last 60 lines of $1 ----"
  tail -n 60 "$1"
  echo "----"
}

# ---- 1. dependencies, build, cluster ----------------------------------------------
step "dependencies"
if [ "${CASEBOOK_SKIP_DEPS:-0}" = "1" ]; then
  echo "skipped (CASEBOOK_SKIP_DEPS=1)"
else
  bash "$HARNESS/deps.sh" || die "missing dependencies"
fi

step "build and install"
make -s all || die "build failed"
make -s install || die "install failed"

step "demo cluster"
bash "$HARNESS/cluster.sh" start --mode demo || die "could not start the demo cluster"
eval "$(bash "$HARNESS/cluster.sh" env)"

# ---- 2. scoreboard ----------------------------------------------------------------------
"${PSQL[@]}" <<'SQL' || die "could not set up the scoreboard"
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE SCHEMA IF NOT EXISTS casebook_demo;
CREATE TABLE IF NOT EXISTS casebook_demo.scoreboard (
  extension text,
  workflow  text,
  ok        boolean,
  invariant text,
  detail    text,
  at        timestamptz DEFAULT clock_timestamp()
);
TRUNCATE casebook_demo.scoreboard;
SQL

# ---- 3. run each extension's demo ---------------------------------------------------------
mkdir -p "$LOGDIR"
rm -f "$LOGDIR"/*.log
shopt -s nullglob
for dir in extensions/*/; do
  name=$(basename "$dir")
  [ -f "control/$name.control" ] || continue          # not an extension (e.g. shared code)
  if [ ! -f "extensions/$name/demo.sql" ] && [ ! -f "extensions/$name/demo.sh" ]; then
    echo "demo: $name has no demo.sql or demo.sh, skipping"
    continue
  fi
  if ! [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]]; then
    echo "demo: skipping '$name' (not a plain extension name)" >&2
    continue
  fi

  step "demo: $name"
  log="$LOGDIR/$name.log"
  if ! "${PSQL[@]}" -c "CREATE EXTENSION IF NOT EXISTS $name CASCADE" >"$log" 2>&1; then
    show_log "$log"
    fail_row "$name" "create extension" "extension installs" "$(last_error "$log")"
    continue
  fi
  # A demo across several clusters is a script (extensions/<name>/demo.sh,
  # with this cluster's PGHOST/PGPORT for the scoreboard); others are SQL.
  if [ -f "extensions/$name/demo.sh" ]; then
    demo_cmd=(bash "extensions/$name/demo.sh")
  else
    demo_cmd=("${PSQL[@]}" -f "extensions/$name/demo.sql")
  fi
  if "${demo_cmd[@]}" >>"$log" 2>&1; then
    rows=$("${PSQL[@]}" -At -v ext="$name" <<'SQL'
SELECT count(*) FROM casebook_demo.scoreboard WHERE extension = :'ext';
SQL
)
    echo "ran to the end, $rows scoreboard row(s) (log: ${log#"$REPO"/})"
    if [ "$rows" = "0" ]; then
      fail_row "$name" "demo script" "demo records its workflows" "demo.sql wrote no scoreboard rows"
    fi
  else
    show_log "$log"
    fail_row "$name" "demo script" "script ran to the end" "$(last_error "$log")"
  fi
done
shopt -u nullglob

# ---- 4. scoreboard, totals, how to connect ----------------------------------------------------
step "scoreboard"
"$PGBIN/psql" -X -P pager=off -d casebook <<'SQL'
SELECT extension,
       workflow,
       CASE WHEN ok THEN 'PASS' ELSE 'FAIL' END AS result,
       invariant AS "invariant checked",
       detail
FROM casebook_demo.scoreboard
ORDER BY extension, at, workflow;
SQL

read -r passed failed < <("$PGBIN/psql" -X -At -F ' ' -d casebook -c \
  "SELECT count(*) FILTER (WHERE ok), count(*) FILTER (WHERE ok IS NOT TRUE) FROM casebook_demo.scoreboard")
echo "demo: $passed workflows passed, $failed failed"
echo
echo "The demo cluster is still running. Connect with:"
echo "  psql -h $PGHOST -p $PGPORT -U postgres casebook"
echo "Stop it with: make stop"

if [ $((passed + failed)) -eq 0 ]; then
  echo "demo: no workflows ran (no extensions/<name>/demo.sql with a control/<name>.control)" >&2
  exit 1
fi
[ "$failed" -eq 0 ]
