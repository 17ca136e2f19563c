#!/usr/bin/env bash
# Cost of the guard per statement, without the client, the network and
# pgbench's scheduling (whose run-to-run spread on this host, ±10 %, is
# larger than the 3 % target): the benchmark's point query, its 100-row
# range query and a 1-row range query, each 20,000 times in a PL/pgSQL
# loop, on tenancy.protect()ed table against the same table without row
# security and the tenant predicate written by hand; µs per statement,
# 5 alternating runs, as a role under row security.
#
#   bash test/bench/tenancy_guard_cost.sh          on the test cluster (port 55415)
#   bash test/bench/tenancy_guard_cost.sh bench    on the bench cluster (port $BENCH_PORT, default 55416)
#
# Data as test/bench/tenancy.bench.sh: 1,000 tenants of 1,000 rows, PRIMARY
# KEY (tenant_id, id) only. The tenant is entered once (tenancy.enter) before
# each loop, so the loop measures the statement alone; generic plans on both
# sides (plan_cache_mode = force_generic_plan), printed at the end.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER_SH="$REPO/test/harness/cluster.sh"
PGBIN=${CASEBOOK_PGBIN:-/usr/lib/postgresql/15/bin}
die() { echo "tenancy_guard_cost: ERROR: $*" >&2; exit 1; }
case "${1:-test}" in
  test)  ;;
  bench) export CASEBOOK_CLUSTER_NAME=bench CASEBOOK_PORT=${BENCH_PORT:-55416} ;;
  *)     die "usage: $0 [test|bench]" ;;
esac
bash "$CLUSTER_SH" status >/dev/null || die "the ${1:-test} cluster is not running"
eval "$(bash "$CLUSTER_SH" env)"
DB=tenancy_guard_cost_$$
APP=tenancy_guard_cost_app_$$
psql_admin() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
  psql_admin -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  psql_admin -d postgres -c "DROP ROLE IF EXISTS $APP" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql_admin -d postgres -c "CREATE DATABASE $DB" -c "CREATE ROLE $APP LOGIN NOSUPERUSER NOBYPASSRLS" >/dev/null
psql_admin -d "$DB" -v app="$APP" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION tenancy;
CREATE SCHEMA plain; CREATE SCHEMA guarded;
CREATE TABLE plain.items (id bigint NOT NULL, tenant_id uuid NOT NULL, title text NOT NULL, status text NOT NULL,
                          created_at timestamptz NOT NULL, payload text NOT NULL);
CREATE TABLE guarded.items (LIKE plain.items INCLUDING ALL);
INSERT INTO plain.items
SELECT (n - 1) * 1000 + k, md5(n::text)::uuid, 'item ' || k || ' of tenant ' || n,
       (ARRAY['open', 'in_progress', 'done', 'archived'])[1 + k % 4],
       timestamptz '2024-01-01 00:00+00' + ((n - 1) * 1000 + k) * interval '7 seconds',
       left(repeat(md5(((n - 1) * 1000 + k)::text), 4), 100)
  FROM generate_series(1, 1000) n, generate_series(1, 1000) k ORDER BY n, k;
INSERT INTO guarded.items SELECT * FROM plain.items ORDER BY id;
ALTER TABLE plain.items ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE guarded.items ADD PRIMARY KEY (tenant_id, id);
SELECT tenancy.protect('guarded.items');
GRANT USAGE ON SCHEMA plain, guarded TO :"app";
GRANT SELECT ON plain.items, guarded.items TO :"app";
GRANT EXECUTE ON FUNCTION tenancy.enter(uuid, boolean) TO :"app";
VACUUM (FREEZE, ANALYZE) plain.items, guarded.items;
SQL
PGUSER=$APP psql_admin -d "$DB" <<'SQL'
-- Generic plans on both sides: with custom plans the hand-written query is
-- planned again at every execution (its generic plan is costed higher), and
-- the loop would measure the planner.
SET plan_cache_mode = force_generic_plan;
CREATE FUNCTION pg_temp.run(kind text, n int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; tid uuid := md5('42')::uuid; base bigint := 41000;
BEGIN
  PERFORM tenancy.enter(tid);
  t0 := clock_timestamp();
  FOR i IN 1..n LOOP
    CASE kind
      WHEN 'point, hand-written' THEN PERFORM * FROM plain.items WHERE tenant_id = tid AND id = base + 1 + i % 900;
      WHEN 'point, guard' THEN PERFORM * FROM guarded.items WHERE id = base + 1 + i % 900;
      WHEN '100 rows, hand-written' THEN PERFORM * FROM plain.items WHERE tenant_id = tid AND id > base + i % 900 ORDER BY id LIMIT 100;
      WHEN '100 rows, guard' THEN PERFORM * FROM guarded.items WHERE id > base + i % 900 ORDER BY id LIMIT 100;
      WHEN '1 row, hand-written' THEN PERFORM * FROM plain.items WHERE tenant_id = tid AND id > base + i % 900 ORDER BY id LIMIT 1;
      WHEN '1 row, guard' THEN PERFORM * FROM guarded.items WHERE id > base + i % 900 ORDER BY id LIMIT 1;
    END CASE;
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END $$;
CREATE TEMP TABLE results (kind text, run int, us float8);
-- warm-up (plans cached, pages in shared_buffers)
SELECT count(pg_temp.run(k, 2000)) FROM unnest(ARRAY['point, hand-written', 'point, guard', '100 rows, hand-written',
                                                     '100 rows, guard', '1 row, hand-written', '1 row, guard']) k;
DO $$ BEGIN
  FOR r IN 1..5 LOOP
    INSERT INTO results SELECT k, r, pg_temp.run(k, 20000)
      FROM unnest(ARRAY['point, hand-written', 'point, guard', '100 rows, hand-written', '100 rows, guard',
                        '1 row, hand-written', '1 row, guard']) WITH ORDINALITY u(k, o) ORDER BY o;
  END LOOP;
END $$;
\echo µs per statement (median of 5 runs of 20,000; min-max):
SELECT split_part(kind, ',', 1) AS query,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FILTER (WHERE kind LIKE '%hand-written'))::numeric, 2) AS hand_written_us,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FILTER (WHERE kind LIKE '%guard'))::numeric, 2) AS guard_us,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FILTER (WHERE kind LIKE '%guard')
            - percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FILTER (WHERE kind LIKE '%hand-written'))::numeric, 2) AS guard_cost_us,
       round(min(us)::numeric, 2) || '-' || round(max(us)::numeric, 2) AS spread_us
  FROM results GROUP BY 1 ORDER BY 1 DESC;
\echo plans (generic, as in the loop):
SET plan_cache_mode = force_generic_plan;
BEGIN;
SELECT tenancy.enter(md5('42')::uuid) IS NOT NULL AS entered;
PREPARE g(bigint) AS SELECT * FROM guarded.items WHERE id > $1 ORDER BY id LIMIT 100;
PREPARE p(uuid, bigint) AS SELECT * FROM plain.items WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT 100;
EXPLAIN (COSTS OFF) EXECUTE p(md5('42')::uuid, 41017);
EXPLAIN (COSTS OFF) EXECUTE g(41017);
COMMIT;
SQL
