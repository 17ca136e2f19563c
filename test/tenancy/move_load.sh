#!/usr/bin/env bash
# tenancy.isolate() of a whale while 8 clients read and write (pgbench):
# the benchmark test/bench/tenancy_move.sh with 15-second runs, on the test
# cluster; its checks (nothing lost or doubled, no failed transaction,
# amcheck, the guard) are this test's. Ends with "N passed, N failed".
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MOVE_SECONDS=${MOVE_SECONDS:-15} exec bash "$REPO/test/bench/tenancy_move.sh" test
