-- georoute: schema shape and privileges (the registry, the id sequence, the
-- functions, who may call what). Everything rolls back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET LOCAL client_min_messages = warning;
DROP EXTENSION IF EXISTS georoute CASCADE;
CREATE EXTENSION georoute CASCADE;   -- postgres_fdw, postgis
RESET client_min_messages;

SELECT plan(21);

SELECT is((SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'georoute'), '0.2.0',
          'georoute is installed at version 0.2.0');
SELECT results_eq(
    $$SELECT r.extname::text COLLATE "default" FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_extension e ON e.oid = d.objid JOIN pg_catalog.pg_extension r ON r.oid = d.refobjid
       WHERE d.classid = 'pg_catalog.pg_extension'::regclass AND e.extname = 'georoute' AND d.deptype = 'n' ORDER BY 1$$,
    ARRAY['postgis', 'postgres_fdw'], 'georoute requires postgres_fdw and postgis');
SELECT tables_are('georoute', ARRAY['regions', 'distributed', 'reference_tables', 'placements', 'moves'], 'the region registry, the distributed tables and the reference tables');
SELECT columns_are('georoute', 'regions', ARRAY['code', 'number', 'server', 'jurisdiction', 'area', 'added_at'],
                   'regions has its columns');
SELECT col_is_pk('georoute', 'regions', 'code', 'a region is known by its code');
SELECT col_is_unique('georoute', 'regions', 'number', 'and by its number (in the ids)');
SELECT has_index('georoute', 'regions', 'regions_area_idx', 'a GiST index on the areas (region_of())');
SELECT has_sequence('georoute', 'id_sequence', 'the sequence ids are minted from');
SELECT has_trigger('georoute', 'regions', 'registry_changed', 'a change of the registry reaches every backend''s cache');
SELECT results_eq(
    $$SELECT p.proname::text COLLATE "default" FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'georoute'::regnamespace AND p.prosecdef ORDER BY 1$$,
    ARRAY['_assert_credentials', '_assert_residency', '_conninfo', '_on_sql_drop', '_residency_check', '_residency_guard', '_target',
          'credential_problems', 'residency_violations'],
    'run as their owner: the residency guard (it reads every distributed table''s partitions) and _target (host, port and dbname of a server)');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'georoute'::regnamespace AND p.prolang <> (SELECT oid FROM pg_catalog.pg_language WHERE lanname = 'c')
         AND p.prokind <> 'p'
         AND NOT EXISTS (SELECT FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=pg\_catalog, %' AND s LIKE '%pg\_temp')$$,
    'every SQL function pins search_path (pg_catalog first, pg_temp last)');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'georoute'::regnamespace AND p.prokind = 'p'
         AND p.prosrc NOT LIKE '%set_config(''search_path'', ''pg_catalog, pg_temp'', false)%'
         AND p.prosrc NOT LIKE '%CALL georoute._move(%'$$,
    'procedures (they commit, so no SET clause) set search_path themselves, or only call one that does');
SELECT results_eq(
    $$SELECT p.oid::regprocedure::text COLLATE "default" FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'georoute'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE') ORDER BY 1$$,
    ARRAY['georoute._forward_moved()', 'georoute._key_partition(bigint)', 'georoute._key_partition(text)', 'georoute._local_region()',
          'georoute._preloaded()', 'georoute._region_change()', 'georoute._table_name(regclass)', 'georoute._target(text)',
          'georoute.distribute(regclass,name)', 'georoute.next_id(text)', 'georoute.region_for(regclass,bigint,name)',
          'georoute.region_for(regclass,text,name)', 'georoute.region_of(geography)', 'georoute.region_of_id(bigint)',
          'georoute.residency_violations()', 'georoute.route(bigint)', 'georoute.route(text)'],
    'every role may mint, route and place, and distribute its own tables; nothing else');
SELECT ok(NOT has_function_privilege('public', 'georoute.add_region(text,name,text,geography,integer)', 'EXECUTE'),
          'registering a region is not for every role');
SELECT ok(has_table_privilege('public', 'georoute.regions', 'SELECT'), 'every role reads the registry');
SELECT ok(NOT has_table_privilege('public', 'georoute.regions', 'INSERT,UPDATE,DELETE,TRUNCATE'),
          'and no role but its owner writes it');
SELECT ok(NOT has_sequence_privilege('public', 'georoute.id_sequence', 'USAGE,UPDATE'),
          'the id sequence is next_id()''s alone');

SELECT results_eq(
    $$SELECT (evtname::text || ' ' || evtevent::text || ' ' || evtenabled::text) COLLATE "default"
        FROM pg_catalog.pg_event_trigger WHERE evtname LIKE 'georoute%' ORDER BY 1$$,
    ARRAY['georoute_credentials ddl_command_end A', 'georoute_residency ddl_command_end A', 'georoute_sql_drop sql_drop O'],
    'the residency guard runs after DDL, always (also under session_replication_role = replica)');
SELECT has_trigger('georoute', 'regions', 'residency_check', 'and at the commit of a change of the registry');

SELECT results_eq(
    $$SELECT (name || ' ' || context) COLLATE "default" FROM pg_catalog.pg_settings
       WHERE name IN ('georoute.enforce_home_region', 'georoute.local_region', 'georoute.router') ORDER BY 1$$,
    ARRAY['georoute.enforce_home_region superuser', 'georoute.local_region sighup', 'georoute.router superuser'],
    'enforce_home_region and the router are set by superusers (ALTER ROLE ... SET for a role), local_region by the cluster');
CREATE ROLE georoute_tap_reader;
SET LOCAL ROLE georoute_tap_reader;
SELECT throws_ok($$SELECT current_setting('georoute.router')$$, '42501', NULL,
    'an ordinary role cannot read the router''s connection string');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
