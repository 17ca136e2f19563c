#!/usr/bin/env bash
# Cost of entering a tenant: tenancy.enter_token() (HS256 JWT verified and
# the context set) and tenancy.enter(uuid), in microseconds per call, against
# a built-in no-op over the same rows.
#
#   bash test/bench/tenancy_enter_cost.sh          on the test cluster (port 55415)
#   bash test/bench/tenancy_enter_cost.sh bench    on the bench cluster (port $BENCH_PORT,
#                                                  default 55416; e.g. kept by BENCH_KEEP_CLUSTER=1)
#
# The cluster must be running (it is neither started nor stopped here). The
# script works in a scratch database and role of its own, dropped at the end.
# Environment: ENTER_COST_CALLS=100000 (calls per run), ENTER_COST_RUNS=5
# (measured runs; one warm-up run comes first and is not counted).
#
# Method: as a superuser, add a signing key and issue ENTER_COST_CALLS tokens
# for tenants drawn at random among 1,000 (md5(n)::uuid) into a temp table.
# Then, as a role without SUPERUSER or BYPASSRLS, each run times, in one
# transaction each, with clock_timestamp() before and after:
#   SELECT count(octet_length(tok))         FROM tokens   -- no-op: a C built-in reading the length word
#   SELECT count(tenancy.enter(tenant))     FROM tokens
#   SELECT count(tenancy.enter_token(tok))  FROM tokens
# The three alternate within a run. Reported: median, min and max of the
# runs in µs per call, and the median minus the no-op's (the function's own
# cost, without the scan and the aggregate).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER_SH="$REPO/test/harness/cluster.sh"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
CALLS=${ENTER_COST_CALLS:-100000}
RUNS=${ENTER_COST_RUNS:-5}

die() { echo "tenancy_enter_cost: ERROR: $*" >&2; exit 1; }

[[ "$CALLS" =~ ^[1-9][0-9]*$ ]] || die "ENTER_COST_CALLS must be a positive integer"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "ENTER_COST_RUNS must be a positive integer"

case "${1:-test}" in
  test)  ;;
  bench) export CASEBOOK_CLUSTER_NAME=bench CASEBOOK_PORT=${BENCH_PORT:-55416} ;;
  *)     die "usage: $0 [test|bench]" ;;
esac
bash "$CLUSTER_SH" status >/dev/null || die "the ${1:-test} cluster is not running (port ${CASEBOOK_PORT:-55415})"
eval "$(bash "$CLUSTER_SH" env)"

DB=tenancy_enter_cost_$$
APP=tenancy_enter_cost_app_$$
psql_admin() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

cleanup() {
  psql_admin -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  psql_admin -d postgres -c "DROP ROLE IF EXISTS $APP" >/dev/null 2>&1 || true
}
trap cleanup EXIT

psql_admin -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql_admin -d postgres -c "CREATE ROLE $APP LOGIN NOSUPERUSER NOBYPASSRLS" >/dev/null

# The measured part, one psql session (the temp tables live in it).
script=$(
  cat <<'SQL'
\set ON_ERROR_STOP 1
CREATE EXTENSION tenancy;
SELECT tenancy.add_token_key(decode(md5(random()::text) || md5(random()::text), 'hex'), 'bench') AS kid \gset
CREATE TEMP TABLE tokens AS
SELECT i, tenant, tenancy.issue_token(tenant, '1 hour') AS tok
  FROM (SELECT i, md5((1 + floor(random() * 1000))::int::text)::uuid AS tenant
          FROM generate_series(1, :calls) i) s;
ANALYZE tokens;
CREATE TEMP TABLE results (fn text, run int, us_per_call float8);
GRANT SELECT ON tokens TO :"app";
GRANT INSERT ON results TO :"app";
GRANT EXECUTE ON FUNCTION tenancy.enter(uuid, boolean) TO :"app";
\echo tokens: :calls for 1,000 tenants
SELECT count(*) AS tokens, count(DISTINCT tenant) AS tenants, round(avg(length(tok))) AS avg_token_chars FROM tokens;

SET ROLE :"app";
SELECT current_user AS measured_as, rolsuper AS superuser, rolbypassrls AS bypassrls
  FROM pg_roles WHERE rolname = current_user;
-- Every token enters the tenant it was issued for (and warms the key cache).
DO $$
DECLARE wrong bigint;
BEGIN
    SELECT count(*) FILTER (WHERE tenancy.enter_token(tok) IS DISTINCT FROM tenant) INTO wrong FROM tokens;
    IF wrong <> 0 THEN RAISE EXCEPTION '% tokens entered another tenant than their own', wrong; END IF;
END $$;
SQL
  for ((r = 0; r <= RUNS; r++)); do
    for fn in no-op enter enter_token; do
      case $fn in
        no-op)       q="SELECT count(octet_length(tok)) FROM tokens" ;;
        enter)       q="SELECT count(tenancy.enter(tenant)) FROM tokens" ;;
        enter_token) q="SELECT count(tenancy.enter_token(tok)) FROM tokens" ;;
      esac
      cat <<SQL
BEGIN;
SELECT clock_timestamp() AS t0 \\gset
$q \\gset
INSERT INTO results VALUES ('$fn', $r, extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1e6 / :calls);
COMMIT;
SQL
    done
  done
  cat <<'SQL'
RESET ROLE;
\echo
\echo µs per call over :calls calls, run 0 (warm-up) not counted
SELECT fn AS function,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us_per_call)::numeric, 3) AS median_us,
       round(min(us_per_call)::numeric, 3) AS min_us,
       round(max(us_per_call)::numeric, 3) AS max_us,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY us_per_call)
              - (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY us_per_call)
                   FROM results WHERE fn = 'no-op' AND run > 0))::numeric, 3) AS minus_noop_us,
       count(*) AS runs
  FROM results
 WHERE run > 0
 GROUP BY fn
 ORDER BY median_us;
SQL
)

echo "tenancy_enter_cost: cluster port $PGPORT, database $DB, $CALLS calls x $RUNS runs (+1 warm-up)"
echo "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown cpu)"
libdir=$("$PGBIN/pg_config" --pkglibdir 2>/dev/null || pg_config --pkglibdir)
[ -f "$libdir/tenancy.so" ] && echo "library: $libdir/tenancy.so ($(date -u -r "$libdir/tenancy.so" '+%Y-%m-%d %H:%M:%S UTC'), sha256 $(sha256sum "$libdir/tenancy.so" | cut -c1-12))"
printf '%s\n' "$script" | psql_admin -d "$DB" -v calls="$CALLS" -v app="$APP"
