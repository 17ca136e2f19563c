-- georoute in one region's cluster, as installed and in use (run by
-- test/georoute/regions.sh in each of us, eu and asia, after the region
-- suite): the cluster knows which region it is, the guard is loaded in
-- every session, nothing breaks residency, no password is kept in a
-- catalog, and application roles have only the documented grants.
-- Changes nothing.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(13);

SELECT ok(georoute._local_region() IN (SELECT code FROM georoute.regions),
          'georoute.local_region is this cluster''s, a registered region');
SELECT ok(georoute._preloaded(), 'georoute is loaded from shared_preload_libraries (its hooks are in every session)');
SELECT set_has('SELECT code FROM georoute.regions', $$VALUES ('us'), ('eu'), ('asia')$$, 'us, eu and asia are registered');
SELECT is_empty('SELECT * FROM georoute.residency_violations()', 'no residency violation');
SELECT is_empty('SELECT * FROM georoute.credential_problems()', 'no password in a user mapping of a region''s server');
SELECT is_empty(
    $$SELECT d.tbl FROM georoute.distributed d
       WHERE NOT EXISTS (SELECT FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
                          WHERE i.inhparent = d.tbl AND k.relkind = 'r'
                            AND pg_get_expr(k.relpartbound, k.oid) = format('FOR VALUES IN (%L)', georoute._local_region()))$$,
    'every distributed table has a local partition for this region');
SELECT is_empty(
    $$SELECT d.tbl, r.code FROM georoute.distributed d CROSS JOIN georoute.regions r
       WHERE r.code <> georoute._local_region() AND r.server IS NOT NULL
         AND NOT EXISTS (SELECT FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
                          JOIN pg_foreign_table f ON f.ftrelid = k.oid JOIN pg_foreign_server s ON s.oid = f.ftserver
                          WHERE i.inhparent = d.tbl AND s.srvname = r.server
                            AND pg_get_expr(k.relpartbound, k.oid) = format('FOR VALUES IN (%L)', r.code))$$,
    'and a foreign partition on each other region''s server');
SELECT is_empty(
    $$SELECT d.tbl FROM georoute.distributed d
       WHERE NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = d.tbl AND t.tgname = 'georoute_region_change'
                            AND t.tgenabled = 'A')$$,
    'every distributed table has its region-change trigger, enabled always');
SELECT is((SELECT string_agg(evtname || ':' || evtenabled::text, ' ' ORDER BY evtname) FROM pg_event_trigger
            WHERE evtname LIKE 'georoute%'),
          'georoute_credentials:A georoute_residency:A georoute_sql_drop:O',
          'the residency and credential guards run after DDL, always');
SELECT is((SELECT context FROM pg_settings WHERE name = 'georoute.enforce_home_region'), 'superuser',
          'enforce_home_region is set by superusers only');
SELECT ok(NOT has_table_privilege('public', 'georoute.regions', 'INSERT,UPDATE,DELETE,TRUNCATE'),
          'no role but the owner writes the registry');
SELECT ok(NOT has_function_privilege('public', 'georoute.proxy(regprocedure,name,text)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'georoute._remote(text,text,text)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'georoute.add_region(text,name,text,geography,integer)', 'EXECUTE'),
          'proxy(), _remote() and add_region() are not for every role');
SELECT is_empty(
    $$SELECT srvname FROM pg_foreign_server WHERE array_to_string(srvoptions, ',') ~ 'password='$$,
    'no password in a foreign server''s options');

SELECT * FROM finish();
ROLLBACK;
