# Shared set-up of the analytics benchmarks, sourced by them with NAME set
# and the script's arguments: "test" (default, the test cluster on port
# 55415) or "bench" (the bench cluster). Makes a throwaway database $DB
# with pg_partman and analytics (hll and tdigest with it), a work folder
# $WORK readable by the server, q() to run SQL there (unaligned, tuples
# only, stop on error), and drops both on exit.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER_SH="$REPO/test/harness/cluster.sh"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
die() { echo "$NAME: ERROR: $*" >&2; exit 1; }
case "${1:-test}" in
  test)  ;;
  bench) export CASEBOOK_CLUSTER_NAME=bench CASEBOOK_PORT=${BENCH_PORT:-55416} ;;
  *)     die "usage: $0 [test|bench]" ;;
esac
bash "$CLUSTER_SH" status >/dev/null || die "the cluster is not running"
eval "$(bash "$CLUSTER_SH" env)"
DB=${NAME}_$$
WORK=$(mktemp -d); chmod 777 "$WORK"
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
cleanup() { "$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
"$PGBIN/psql" -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman;
CREATE EXTENSION analytics CASCADE;
SQL
