-- tenancy: per-tenant limits, applied on enter and not raisable by the
-- application (attempt, then check).
\i sql/include/try.psql
\i sql/include/try_ddl.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS tenancy CASCADE;
DROP ROLE IF EXISTS lim_app;
CREATE EXTENSION tenancy;
RESET client_min_messages;
CREATE ROLE lim_app;
GRANT EXECUTE ON FUNCTION tenancy.enter(uuid, boolean) TO lim_app;
CREATE FUNCTION pg_temp.limits() RETURNS text LANGUAGE sql AS $$
    SELECT format('statement_timeout=%s lock_timeout=%s work_mem=%s',
                  current_setting('statement_timeout'), current_setting('lock_timeout'), current_setting('work_mem'))
$$;

SELECT tenancy.set_plan_limits('free', statement_timeout => '2 s', lock_timeout => '500 ms', work_mem => '4MB');
SELECT tenancy.set_plan_limits('whale', statement_timeout => '60 s', work_mem => '256MB');
SELECT tenancy.set_tenant_limits('aaaaaaaa-0000-4000-8000-000000000001', plan => 'free');
-- A tenant's own value overrides its plan's.
SELECT tenancy.set_tenant_limits('bbbbbbbb-0000-4000-8000-000000000002', plan => 'whale', lock_timeout => '5 s');
SELECT * FROM tenancy.plan_limits ORDER BY plan;
SELECT * FROM tenancy.tenant_limits ORDER BY tenant;

SET ROLE lim_app;
SELECT pg_temp.limits() AS before_enter;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SELECT pg_temp.limits() AS free_plan;
-- Lowering is fine.
SET LOCAL work_mem = '1MB';
SELECT pg_temp.limits() AS lowered;
-- Raising by SET, set_config() or RESET: the next statement is refused.
SET LOCAL statement_timeout = 0;
SELECT 1 AS after_set_unlimited;
ROLLBACK;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SELECT set_config('work_mem', '1GB', true) IS NOT NULL AS raised;
SELECT 1;
ROLLBACK;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
RESET lock_timeout;
SELECT 1;
ROLLBACK;
-- A function of the application's own that raises a limit and then runs a
-- query: the query inside is refused.
CREATE FUNCTION pg_temp.raise_and_query() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('statement_timeout', '0', true);
    RETURN (SELECT count(*) FROM pg_class);
END $$;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SELECT pg_temp.try($$SELECT pg_temp.raise_and_query()$$) AS raise_inside_function;
COMMIT;
-- The plan and the tenant's own values.
BEGIN;
SELECT tenancy.enter('bbbbbbbb-0000-4000-8000-000000000002');
SELECT pg_temp.limits() AS whale_with_own_lock_timeout;
COMMIT;
-- A tenant without limits keeps the session's settings; the limits end
-- with the context.
BEGIN;
SELECT tenancy.enter('cccccccc-0000-4000-8000-000000000003');
SELECT pg_temp.limits() AS no_limits;
COMMIT;
SELECT pg_temp.limits() AS after_commit;
-- Only superusers set limits.
SELECT pg_temp.try($$SELECT tenancy.set_tenant_limits('aaaaaaaa-0000-4000-8000-000000000001')$$) AS app_sets_limits;
SELECT pg_temp.try($$SELECT count(*) FROM tenancy.tenant_limits$$) AS app_reads_limits;
RESET ROLE;
-- A change applies at the next enter() in every session.
SELECT tenancy.set_plan_limits('free', statement_timeout => '3 s', lock_timeout => '500 ms', work_mem => '4MB');
SET ROLE lim_app;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SELECT pg_temp.limits() AS free_plan_changed;
COMMIT;
RESET ROLE;
-- Bad values change nothing.
SELECT pg_temp.try($$SELECT tenancy.set_plan_limits('tiny', work_mem => '8kB')$$) AS work_mem_too_small;
SELECT pg_temp.try($$SELECT tenancy.set_plan_limits('neg', statement_timeout => '-1 s')$$) AS negative_timeout;
SELECT pg_temp.try($$SELECT tenancy.set_tenant_limits('aaaaaaaa-0000-4000-8000-000000000001', plan => 'nope')$$) AS unknown_plan;
SELECT pg_temp.try($$SELECT tenancy.set_plan_limits('bad', work_mem => 'lots')$$) AS bad_size;
SELECT count(*) AS plans FROM tenancy.plan_limits;

DROP FUNCTION pg_temp.raise_and_query();
REVOKE ALL ON FUNCTION tenancy.enter(uuid, boolean) FROM lim_app;
DROP ROLE lim_app;
TRUNCATE tenancy.tenant_limits, tenancy.plan_limits;
