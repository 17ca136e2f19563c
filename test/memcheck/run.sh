#!/usr/bin/env bash
# Memory check of the C++/PostgreSQL boundary: runs test/memcheck/workload.sql
# (guarded PostgreSQL errors while C++ objects are alive, C++ exceptions,
# commerce, eventstore and feed paths and error paths) in a single-user backend under valgrind memcheck, and
# fails on any invalid access or leak whose stack passes through casebook's
# own modules. Needs the extensions installed (make install). One statement
# per line: single-user mode ends a command at a newline.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
# A stack frame is ours when it names one of our modules or, with debug
# info, one of our source files.
OURS="casebook_selftest[.]so|commerce[.]so|eventstore[.]so|feed[.]so"
for src in "$REPO"/extensions/*/*.[ch]pp "$REPO"/test/selftest/*.cpp; do
  OURS="$OURS|$(basename "$src" | sed 's/[.]/[.]/'):"
done

command -v valgrind >/dev/null || { echo "valgrind is not installed"; echo "0 passed, 1 failed"; exit 1; }
WORK=$(mktemp -d /tmp/casebook-memcheck.XXXXXX)
trap '[ -n "${KEEP_MEMCHECK:-}" ] || rm -rf "$WORK"' EXIT
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK"
chmod 755 "$WORK"
cp "$SCRIPT_DIR/workload.sql" "$WORK/workload.sql"

as_owner "$PGBIN/initdb" -A trust -U postgres --no-sync -D "$WORK/data" >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log"; echo "0 passed, 1 failed"; exit 1; }

echo "running the workload in a single-user backend under valgrind (takes a minute)..."
( cd "$WORK" && as_owner valgrind --tool=memcheck --leak-check=full \
      --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
      --num-callers=50 --error-limit=no --log-file="$WORK/valgrind.log" \
      --suppressions="$SCRIPT_DIR/postgres.supp" \
      "$PGBIN/postgres" --single -D "$WORK/data" -c fsync=off -c shared_preload_libraries=eventstore postgres \
      <"$WORK/workload.sql" >"$WORK/out.log" 2>&1 ) || true

passed=0; failed=0
check() { # name, ok(0/1), detail
  if [ "$2" -eq 1 ]; then passed=$((passed + 1)); echo "ok     $1"; else failed=$((failed + 1)); echo "FAILED $1: $3"; fi
}

# 1. The workload really ran: its errors came back and it reached the end.
ran=1
for want in "division by zero" "custom failure" "variant 7 has 2 available" "insufficient stock for variant 1" \
            "idempotency key" "cannot go from pending to shipped" "is at version 2, expected 0" \
            "increment of" "must be a string" "needs exactly one of" "cursor is not a feed.home cursor" \
            "limit must be 1 to 1000" "user 99 does not exist" "memcheck workload done"; do
  grep -q "$want" "$WORK/out.log" || { ran=0; echo "  missing in backend output: $want"; }
done
check "workload ran to the end with its expected errors" "$ran" "see backend output below"
[ "$ran" -eq 1 ] || tail -n 40 "$WORK/out.log"

# valgrind reports are blocks separated by blank "==pid== " lines.
blocks() { awk -v RS='==[0-9]+== \n' '{print $0 "\n----"}' "$WORK/valgrind.log"; }
ours_blocks() { blocks | awk -v RS='----\n' -v pat="$OURS" -v kind="$1" '$0 ~ kind && $0 ~ pat {print; print "----"}'; }

invalid=$(ours_blocks 'Invalid (read|write|free)|uninitialised|Mismatched free|overlap' | grep -c -- '^----$' || true)
check "no invalid memory access from casebook code" "$([ "$invalid" -eq 0 ] && echo 1 || echo 0)" "$invalid report(s)"
[ "$invalid" -eq 0 ] || ours_blocks 'Invalid (read|write|free)|uninitialised|Mismatched free|overlap' | head -n 80

# The positive control: leak_control() leaks one 4,242-byte block on purpose.
# Seeing it proves this check sees leaks in our modules; every other leak
# through our code is a failure.
control=$(ours_blocks 'definitely lost' | grep -c '4,242 bytes in 1 blocks are definitely lost' || true)
check "leak check sees the deliberate 4,242-byte control leak" "$([ "$control" -eq 1 ] && echo 1 || echo 0)" \
  "found $control control record(s)"
leaks=$(ours_blocks 'definitely lost|indirectly lost' | grep -v '4,242 bytes in 1 blocks' | grep -c -- '^----$' || true)
leaks=$((leaks - control))
check "no leak from casebook code (besides the control)" "$([ "$leaks" -le 0 ] && echo 1 || echo 0)" "$leaks leak record(s)"
[ "$leaks" -le 0 ] || ours_blocks 'definitely lost|indirectly lost' | head -n 80

summary=$(grep -E "ERROR SUMMARY|definitely lost:" "$WORK/valgrind.log" | sed 's/^==[0-9]*== //' | tr '\n' ' ')
echo "valgrind: $summary"
check "valgrind log is complete" "$(grep -q 'ERROR SUMMARY' "$WORK/valgrind.log" && echo 1 || echo 0)" "no summary (valgrind died?)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
