# shellcheck shell=bash disable=SC2034
# tenancy: a tenant's point query and 100-row range query under tenancy's RLS
# guard, against the same table without RLS and the tenant predicate written
# by hand. Sourced by test/bench/run.sh.
#
# Data: 1,000 tenants (ids md5(n)::uuid, n = 1..1000) of 1,000 rows each,
# id = (n - 1) * 1000 + k, k = 1..1000: 1,000,000 rows with a ~100-byte
# payload, loaded identically (same rows, same physical order) into three
# tables, each with only PRIMARY KEY (tenant_id, id):
#
#   plain.items     no RLS; the query carries `tenant_id = ... AND`   (baseline)
#   guarded.items   tenancy.protect(); tenant entered with tenancy.enter() (casebook)
#   textbook.items  ENABLE + FORCE RLS, USING (tenant_id =
#                   current_setting('app.tenant_id')::uuid)            (reference)
#
# Every transaction is BEGIN; set the tenant; the query; COMMIT on every side
# (the baseline sets app.tenant_id too, and does not read it), so the cases
# differ only in how the tenant reaches the query.
#
# The queries run as bench_app, a LOGIN role without SUPERUSER or BYPASSRLS
# (a superuser bypasses row security: measured as one, the guarded and
# textbook cases would run without their policies and still return the same
# rows). run.sh has no per-case or per-definition user, so bench_setup ends
# by exporting PGUSER=bench_app: the runner runs each definition in a
# subshell, so this reaches pgbench (and the runner's own bookkeeping
# queries, for which bench_app is granted pg_read_all_settings) for this
# definition only. bench_reset and bench_check check that pgbench will
# connect, and did connect, as a role under row security.
#
# The plans (custom and generic, EXPLAIN as bench_app with the tenant
# entered) and a plan-shape comparison are printed in the setup log
# (test/bench/out/tenancy-runs/setup.log).

BENCH_NAME=tenancy
BENCH_TITLE="tenancy (RLS guard vs hand-written tenant predicate without RLS; reference: textbook current_setting policy)"

TENANCY_APP_ROLE=bench_app

# label|script|clients|seconds|group|role
BENCH_CASES=(
  "hand-written|tenancy/point_plain.sql|8|30|point-8-clients|baseline"
  "tenancy.enter|tenancy/point_guarded.sql|8|30|point-8-clients|casebook"
  "textbook-rls|tenancy/point_textbook.sql|8|30|point-8-clients|reference"
  "hand-written|tenancy/range_plain.sql|8|30|range-8-clients|baseline"
  "tenancy.enter|tenancy/range_guarded.sql|8|30|range-8-clients|casebook"
  "textbook-rls|tenancy/range_textbook.sql|8|30|range-8-clients|reference"
)
# From the issue: at most 3% overhead against the hand-written predicate.
BENCH_TARGETS=("point-8-clients|0.97" "range-8-clients|0.97")

# ---- plan printing -----------------------------------------------------------------

# One line describing a plan's shape, from EXPLAIN (COSTS OFF) text on stdin:
# the node lines, and for every condition the columns and operators it
# compares (constants, parameters and expressions left out). The guard's
# InitPlan (the scalar subquery that reads the context once per statement)
# is left out, so a guarded plan and a hand-written one compare equal when
# the tenant comparison sits where the hand-written one does.
plan_shape() {
  awk -v skip=-1 '
    { line = $0; match(line, /^ */); ind = RLENGTH; sub(/^ */, "", line) }
    skip >= 0 && ind > skip { next }
    { skip = -1 }
    line ~ /^InitPlan / { skip = ind; next }
    line ~ /^(Index Cond|Recheck Cond|Filter|Join Filter|Hash Cond|Merge Cond):/ {
      label = line; sub(/:.*/, "", label); s = line; sub(/^[^:]*:/, "", s); cols = ""
      while (match(s, /\([a-z_]+ (=|<>|<|>|<=|>=) /)) {
        c = substr(s, RSTART + 1, RLENGTH - 2); gsub(/ /, "", c); cols = cols (cols == "" ? "" : ",") c
        s = substr(s, RSTART + RLENGTH)
      }
      out = out " [" label ": " cols "]"; next
    }
    { sub(/^->  */, "", line); out = out (out == "" ? "" : " | ") line }
    END { print out }'
}

# $1 caption, $2 statements run as the application role inside a transaction
# with tenant 42 entered (tenancy.enter and app.tenant_id). Prints the plan
# and its shape; the shape is left in PLAN_SHAPE.
PLAN_SHAPE=""
show_plan() {
  local out
  out=$(bench_psql -U "$TENANCY_APP_ROLE" -At <<SQL
BEGIN;
SELECT tenancy.enter(md5('42')::uuid) AS entered, set_config('app.tenant_id', md5('42'), true) AS app_tenant_id \gset
$2
COMMIT;
SQL
) || return 1
  PLAN_SHAPE=$(printf '%s\n' "$out" | plan_shape)
  echo "-- $1"
  printf '%s\n' "$out" | sed 's/^/     /'
  echo "   shape: $PLAN_SHAPE"
}

# $1 title, then the baseline's, casebook's and reference's statements.
compare_plans() {
  local title=$1 base cb ref verdict=same
  echo; echo "== $title =="
  show_plan "plain.items (hand-written predicate, no RLS)" "$2" || return 1; base=$PLAN_SHAPE
  show_plan "guarded.items (tenancy.protect, tenancy.enter)" "$3" || return 1; cb=$PLAN_SHAPE
  show_plan "textbook.items (current_setting policy)" "$4" || return 1; ref=$PLAN_SHAPE
  [ "$cb" = "$base" ] || verdict="DIFFERENT"
  echo "plan shape, $title: guarded vs hand-written: $verdict$( [ "$ref" = "$base" ] && echo "; textbook vs hand-written: same" || echo "; textbook vs hand-written: DIFFERENT")"
}

print_plans() {
  local gen="SET LOCAL plan_cache_mode = force_generic_plan;"
  compare_plans "point query, custom plan (literal values)" \
    "EXPLAIN (COSTS OFF) SELECT * FROM plain.items WHERE tenant_id = md5('42')::uuid AND id = 41500;" \
    "EXPLAIN (COSTS OFF) SELECT * FROM guarded.items WHERE id = 41500;" \
    "EXPLAIN (COSTS OFF) SELECT * FROM textbook.items WHERE id = 41500;" || return 1
  # What pgbench -M prepared runs once the plan cache switches to the generic
  # plan (parameters numbered as pgbench numbers the script's variables).
  compare_plans "point query, generic plan (as prepared by pgbench)" \
    "$gen PREPARE q AS SELECT * FROM plain.items WHERE tenant_id = md5(\$1::text)::uuid AND id = \$2;
     EXPLAIN (COSTS OFF) EXECUTE q('42', 41500);" \
    "$gen PREPARE q AS SELECT * FROM guarded.items WHERE id = \$1;
     EXPLAIN (COSTS OFF) EXECUTE q(41500);" \
    "$gen PREPARE q AS SELECT * FROM textbook.items WHERE id = \$1;
     EXPLAIN (COSTS OFF) EXECUTE q(41500);" || return 1
  compare_plans "range query, custom plan (literal values)" \
    "EXPLAIN (COSTS OFF) SELECT * FROM plain.items WHERE tenant_id = md5('42')::uuid AND id > 41017 ORDER BY id LIMIT 100;" \
    "EXPLAIN (COSTS OFF) SELECT * FROM guarded.items WHERE id > 41017 ORDER BY id LIMIT 100;" \
    "EXPLAIN (COSTS OFF) SELECT * FROM textbook.items WHERE id > 41017 ORDER BY id LIMIT 100;" || return 1
  compare_plans "range query, generic plan (as prepared by pgbench)" \
    "$gen PREPARE q AS SELECT * FROM plain.items WHERE tenant_id = md5(\$1::text)::uuid AND id > (\$2 - 1) * 1000 + \$3 ORDER BY id LIMIT 100;
     EXPLAIN (COSTS OFF) EXECUTE q('42', 42, 17);" \
    "$gen PREPARE q AS SELECT * FROM guarded.items WHERE id > (\$1 - 1) * 1000 + \$2 ORDER BY id LIMIT 100;
     EXPLAIN (COSTS OFF) EXECUTE q(42, 17);" \
    "$gen PREPARE q AS SELECT * FROM textbook.items WHERE id > (\$1 - 1) * 1000 + \$2 ORDER BY id LIMIT 100;
     EXPLAIN (COSTS OFF) EXECUTE q(42, 17);" || return 1
}

# ---- the definition's functions ------------------------------------------------------

bench_setup() {
  bench_psql -v app="$TENANCY_APP_ROLE" <<'SQL' || return 1
\set ON_ERROR_STOP 1
CREATE EXTENSION tenancy;

CREATE SCHEMA plain;
CREATE SCHEMA guarded;
CREATE SCHEMA textbook;
CREATE TABLE plain.items (
    id         bigint      NOT NULL,
    tenant_id  uuid        NOT NULL,
    title      text        NOT NULL,
    status     text        NOT NULL,
    created_at timestamptz NOT NULL,
    payload    text        NOT NULL
);
CREATE TABLE guarded.items (LIKE plain.items INCLUDING ALL);
CREATE TABLE textbook.items (LIKE plain.items INCLUDING ALL);

-- A tenant's rows are contiguous, in id order, in all three tables.
INSERT INTO plain.items
SELECT (n - 1) * 1000 + k,
       md5(n::text)::uuid,
       'item ' || k || ' of tenant ' || n,
       (ARRAY['open', 'in_progress', 'done', 'archived'])[1 + k % 4],
       timestamptz '2024-01-01 00:00+00' + ((n - 1) * 1000 + k) * interval '7 seconds',
       left(repeat(md5(((n - 1) * 1000 + k)::text), 4), 100)
  FROM generate_series(1, 1000) n, generate_series(1, 1000) k
 ORDER BY n, k;
INSERT INTO guarded.items SELECT * FROM plain.items ORDER BY id;
INSERT INTO textbook.items SELECT * FROM plain.items ORDER BY id;

-- The only index on each: the tenant column leads.
ALTER TABLE plain.items ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE guarded.items ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE textbook.items ADD PRIMARY KEY (tenant_id, id);

SELECT tenancy.protect('guarded.items') AS protected_relations;

-- The textbook policy of the case study.
ALTER TABLE textbook.items ENABLE ROW LEVEL SECURITY;
ALTER TABLE textbook.items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON textbook.items
    USING (tenant_id = current_setting('app.tenant_id')::uuid);

-- The application role: no SUPERUSER, no BYPASSRLS.
CREATE ROLE :"app" LOGIN NOSUPERUSER NOBYPASSRLS;
GRANT USAGE ON SCHEMA plain, guarded, textbook TO :"app";
GRANT SELECT ON plain.items, guarded.items, textbook.items TO :"app";
GRANT EXECUTE ON FUNCTION tenancy.enter(uuid, boolean) TO :"app";
-- For run.sh's own queries, which run as PGUSER too (SHOW data_directory).
GRANT pg_read_all_settings TO :"app";

VACUUM (FREEZE, ANALYZE) plain.items, guarded.items, textbook.items;
CHECKPOINT;

SELECT c.oid::regclass AS relation, pg_size_pretty(pg_relation_size(c.oid)) AS size,
       c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
       (SELECT string_agg(p.polname || CASE WHEN p.polpermissive THEN ' (permissive)' ELSE ' (restrictive)' END,
                          ', ' ORDER BY p.polname)
          FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
  FROM pg_class c
 WHERE c.relnamespace IN ('plain'::regnamespace, 'guarded'::regnamespace, 'textbook'::regnamespace)
 ORDER BY 1;

-- All three tables and their indexes in shared_buffers (1 GB), so that no
-- case pays for reads the others do not.
CREATE EXTENSION pg_prewarm;
SELECT c.oid::regclass AS relation, pg_prewarm(c.oid) AS blocks
  FROM pg_class c
 WHERE c.relnamespace IN ('plain'::regnamespace, 'guarded'::regnamespace, 'textbook'::regnamespace)
   AND c.relkind IN ('r', 'i')
 ORDER BY 1;
SQL

  # The role the queries run as is under row security, and sees what it should.
  bench_psql -U "$TENANCY_APP_ROLE" <<'SQL' || return 1
\set ON_ERROR_STOP 1
SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user;
DO $$
BEGIN
    IF (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION '% bypasses row security', current_user;
    END IF;
    IF (SELECT count(*) FROM plain.items) <> 1000000 THEN
        RAISE EXCEPTION 'plain.items does not hold 1,000,000 rows';
    END IF;
END $$;
SQL

  print_plans || return 1

  # From here on, pgbench (and run.sh's bookkeeping queries, bench_reset's
  # and bench_check's too) connect as the application role.
  export PGUSER=$TENANCY_APP_ROLE
}

# Read-only workload: nothing to undo. Make sure pgbench is about to connect
# as the application role.
bench_reset() {
  [ "$PGUSER" = "$TENANCY_APP_ROLE" ] || { echo "PGUSER is '$PGUSER', not $TENANCY_APP_ROLE" >&2; return 1; }
  [ "$(bench_sql "SELECT current_user")" = "$TENANCY_APP_ROLE" ] || { echo "cannot connect as $TENANCY_APP_ROLE" >&2; return 1; }
}

# $1 label, $2 role, $3 transactions. Checked as the application role (the
# user pgbench connected as): it is under row security; the guarded table
# fails closed without a context and shows only the entered tenant's rows
# with one (whole table, the benchmark's point and range queries, and another
# tenant's id); the textbook table likewise under app.tenant_id.
bench_check() {
  [ "$3" -gt 0 ] || { echo "no transactions in $1" >&2; return 1; }
  [ "$PGUSER" = "$TENANCY_APP_ROLE" ] || { echo "pgbench connected as '$PGUSER', not $TENANCY_APP_ROLE" >&2; return 1; }
  bench_psql <<'SQL'
DO $check$
DECLARE
    n      int;
    t      uuid;
    other  uuid;
    total  bigint;
    rows   bigint;
    tenants bigint;
BEGIN
    IF (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'checks run as %, which bypasses row security', current_user;
    END IF;

    -- No context: the guarded table fails closed (KB401), never rows.
    BEGIN
        SELECT count(*) INTO total FROM guarded.items;
        RAISE EXCEPTION 'guarded.items returned % rows without a tenant context', total;
    EXCEPTION WHEN SQLSTATE 'KB401' THEN
        NULL;
    END;

    FOREACH n IN ARRAY ARRAY[1, 42, 500 + (random() * 499)::int, 1000] LOOP
        t := md5(n::text)::uuid;
        other := md5((n % 1000 + 1)::text)::uuid;
        PERFORM tenancy.enter(t);
        PERFORM set_config('app.tenant_id', t::text, true);

        SELECT count(*), count(DISTINCT tenant_id), count(*) FILTER (WHERE tenant_id <> t)
          INTO rows, tenants, total FROM guarded.items;
        IF rows <> 1000 OR tenants <> 1 OR total <> 0 THEN
            RAISE EXCEPTION 'guarded.items under tenant %: % rows of % tenants (% of others)', n, rows, tenants, total;
        END IF;
        SELECT count(*), count(*) FILTER (WHERE tenant_id <> t) INTO rows, total FROM textbook.items;
        IF rows <> 1000 OR total <> 0 THEN
            RAISE EXCEPTION 'textbook.items under tenant %: % rows (% of others)', n, rows, total;
        END IF;

        -- The benchmark's queries: a row of the tenant, 100 rows of the
        -- tenant, and nothing for an id of the next tenant.
        SELECT count(*), count(*) FILTER (WHERE tenant_id <> t) INTO rows, total
          FROM guarded.items WHERE id = (n - 1) * 1000 + 500;
        IF rows <> 1 OR total <> 0 THEN
            RAISE EXCEPTION 'guarded point query under tenant %: % rows (% of others)', n, rows, total;
        END IF;
        SELECT count(*), count(*) FILTER (WHERE tenant_id <> t) INTO rows, total
          FROM (SELECT * FROM guarded.items WHERE id > (n - 1) * 1000 + 900 ORDER BY id LIMIT 100) s;
        IF rows <> 100 OR total <> 0 THEN
            RAISE EXCEPTION 'guarded range query under tenant %: % rows (% of others)', n, rows, total;
        END IF;
        SELECT count(*) INTO rows FROM guarded.items WHERE id = (n % 1000) * 1000 + 500;
        IF rows <> 0 THEN RAISE EXCEPTION 'guarded.items under tenant % shows a row of tenant %', n, n % 1000 + 1; END IF;
        SELECT count(*) INTO rows FROM textbook.items WHERE id = (n % 1000) * 1000 + 500;
        IF rows <> 0 THEN RAISE EXCEPTION 'textbook.items under tenant % shows a row of tenant %', n, n % 1000 + 1; END IF;
        SELECT count(*) INTO rows FROM guarded.items WHERE tenant_id = other;
        IF rows <> 0 THEN RAISE EXCEPTION 'guarded.items under tenant % shows % rows of tenant %', n, rows, n % 1000 + 1; END IF;
    END LOOP;
    RAISE NOTICE 'check ok as %: guarded.items fails closed without a context and shows one tenant''s rows with one; textbook.items too',
        current_user;
END
$check$;
SQL
}
