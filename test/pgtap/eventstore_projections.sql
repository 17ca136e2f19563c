-- eventstore: projections, snapshots and upcasters. Schema shape of
-- projections, projection_state, snapshots, upcasters and the view
-- projection_status; privileges (PUBLIC has none; every SQL entry point is
-- SECURITY DEFINER with a pinned search_path and not executable by PUBLIC);
-- and attacks: a role allowed to create projections registers an apply
-- function (or an upcaster) that tries to use the extension's rights. The
-- function runs as that role, so the attempt fails and the store is
-- unchanged. Everything runs in one transaction and rolls back.
--
-- Events appended in this transaction are in flight (readers and catch-up
-- folds stop below in-flight positions): the attacks are driven by inline
-- folds at append time and by rebuild of one stream, which see the
-- transaction's own events.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS eventstore;

SELECT plan(85);

-------------------------------------------------------------------------------
-- Tables and the status view
-------------------------------------------------------------------------------
SELECT has_table('eventstore', 'projections', 'table eventstore.projections exists');
SELECT has_table('eventstore', 'projection_state', 'table eventstore.projection_state exists');
SELECT has_table('eventstore', 'snapshots', 'table eventstore.snapshots exists');
SELECT has_table('eventstore', 'upcasters', 'table eventstore.upcasters exists');
SELECT has_view('eventstore', 'projection_status', 'view eventstore.projection_status exists');

-- projections
SELECT results_eq(
    $$SELECT a.attname::text COLLATE "default", pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'eventstore.projections'::regclass AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum$$,
    $$VALUES ('name', 'text', true), ('category', 'text', false), ('reducer', 'jsonb', false),
             ('apply_function', 'regprocedure', false), ('owner', 'regrole', true),
             ('initial_state', 'jsonb', true), ('mode', 'text', true), ('snapshot_every', 'integer', false),
             ('created_at', 'timestamp with time zone', true)$$,
    'projections: columns, types and NOT NULL (category NULL = every category)');
SELECT col_is_pk('eventstore', 'projections', 'name', 'projections: primary key (name)');
SELECT col_default_is('eventstore', 'projections', 'initial_state', '{}'::jsonb, 'projections.initial_state defaults to {}');
SELECT results_eq(
    $$SELECT pg_catalog.pg_get_constraintdef(c.oid)
        FROM pg_catalog.pg_constraint c
       WHERE c.conrelid = 'eventstore.projections'::regclass AND c.contype = 'c'
       ORDER BY 1$$,
    $$VALUES ('CHECK (((reducer IS NULL) <> (apply_function IS NULL)))'),
             ('CHECK ((mode = ANY (ARRAY[''inline''::text, ''async''::text])))'),
             ('CHECK ((snapshot_every > 0))')$$,
    'projections checks: exactly one of reducer and apply_function, mode inline|async, snapshot_every > 0');

-- projection_state
SELECT results_eq(
    $$SELECT a.attname::text COLLATE "default", pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'eventstore.projection_state'::regclass AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum$$,
    $$VALUES ('projection', 'text', true), ('stream_id', 'text', true), ('state', 'jsonb', true),
             ('version', 'bigint', true), ('position', 'bigint', true),
             ('updated_at', 'timestamp with time zone', true)$$,
    'projection_state: columns, types, every column NOT NULL');
SELECT col_is_pk('eventstore', 'projection_state', ARRAY['projection', 'stream_id'],
                 'projection_state: primary key (projection, stream_id): one state per stream');
SELECT fk_ok('eventstore', 'projection_state', 'projection', 'eventstore', 'projections', 'name',
             'projection_state.projection references projections.name');

-- snapshots
SELECT results_eq(
    $$SELECT a.attname::text COLLATE "default", pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'eventstore.snapshots'::regclass AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum$$,
    $$VALUES ('projection', 'text', true), ('stream_id', 'text', true), ('version', 'bigint', true),
             ('position', 'bigint', true), ('state', 'jsonb', true),
             ('created_at', 'timestamp with time zone', true)$$,
    'snapshots: columns, types, every column NOT NULL');
SELECT col_is_pk('eventstore', 'snapshots', ARRAY['projection', 'stream_id', 'version'],
                 'snapshots: primary key (projection, stream_id, version): state_at finds the nearest one by index');
SELECT fk_ok('eventstore', 'snapshots', 'projection', 'eventstore', 'projections', 'name',
             'snapshots.projection references projections.name');
SELECT results_eq(
    $$SELECT c.conrelid::regclass::text, c.confdeltype::text
        FROM pg_catalog.pg_constraint c
       WHERE c.contype = 'f' AND c.confrelid = 'eventstore.projections'::regclass
       ORDER BY 1$$,
    $$VALUES ('eventstore.projection_state', 'c'), ('eventstore.snapshots', 'c')$$,
    'dropping a projection cascades to its states and snapshots (and nothing else references it)');

-- upcasters
SELECT results_eq(
    $$SELECT a.attname::text COLLATE "default", pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'eventstore.upcasters'::regclass AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum$$,
    $$VALUES ('event_type', 'text', true), ('from_version', 'integer', true), ('spec', 'jsonb', false),
             ('function', 'regprocedure', false), ('owner', 'regrole', true),
             ('created_at', 'timestamp with time zone', true)$$,
    'upcasters: columns, types and NOT NULL');
SELECT col_is_pk('eventstore', 'upcasters', ARRAY['event_type', 'from_version'],
                 'upcasters: primary key (event_type, from_version): one step per schema version');
SELECT results_eq(
    $$SELECT pg_catalog.pg_get_constraintdef(c.oid)
        FROM pg_catalog.pg_constraint c
       WHERE c.conrelid = 'eventstore.upcasters'::regclass AND c.contype = 'c'
       ORDER BY 1$$,
    $$VALUES ('CHECK (((spec IS NULL) <> (function IS NULL)))'), ('CHECK ((from_version > 0))')$$,
    'upcasters checks: exactly one of spec and function, from_version > 0');

-- Definition changes invalidate every backend's cache: statement triggers on
-- the definition tables only.
SELECT results_eq(
    $$SELECT t.tgrelid::regclass::text, t.tgname::text COLLATE "default", pg_catalog.pg_get_triggerdef(t.oid)
        FROM pg_catalog.pg_trigger t
       WHERE t.tgrelid IN ('eventstore.projections'::regclass, 'eventstore.projection_state'::regclass,
                           'eventstore.snapshots'::regclass, 'eventstore.upcasters'::regclass)
         AND NOT t.tgisinternal
       ORDER BY 1$$,
    $$VALUES
      ('eventstore.projections', 'projections_invalidate',
       'CREATE TRIGGER projections_invalidate AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON eventstore.projections FOR EACH STATEMENT EXECUTE FUNCTION eventstore._invalidate()'),
      ('eventstore.upcasters', 'upcasters_invalidate',
       'CREATE TRIGGER upcasters_invalidate AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON eventstore.upcasters FOR EACH STATEMENT EXECUTE FUNCTION eventstore._invalidate()')$$,
    'projections and upcasters invalidate the definition caches after every change; states and snapshots have no trigger');

-- projection_status
SELECT results_eq(
    $$SELECT a.attname::text COLLATE "default", pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'eventstore.projection_status'::regclass AND a.attnum > 0
       ORDER BY a.attnum$$,
    $$VALUES ('name', 'text'), ('mode', 'text'), ('category', 'text'), ('streams', 'bigint'),
             ('checkpoint', 'bigint'), ('head', 'bigint'), ('positions_behind', 'bigint'),
             ('last_run', 'timestamp with time zone')$$,
    'projection_status: columns and types');

-- pg_dump keeps the definitions, states and snapshots.
SELECT results_eq(
    $$SELECT c.relname::text COLLATE "default", cond COLLATE "default"
        FROM pg_catalog.pg_extension e,
             unnest(e.extconfig, e.extcondition) AS x(relid, cond)
        JOIN pg_catalog.pg_class c ON c.oid = x.relid
       WHERE e.extname = 'eventstore'
         AND c.relname IN ('projections', 'projection_state', 'snapshots', 'upcasters')
       ORDER BY 1$$,
    $$VALUES ('projection_state', ''), ('projections', ''), ('snapshots', ''), ('upcasters', '')$$,
    'pg_dump keeps all rows of projections, projection_state, snapshots and upcasters');

-------------------------------------------------------------------------------
-- Functions: signatures, SECURITY DEFINER, pinned search_path
-------------------------------------------------------------------------------
CREATE TEMP TABLE projection_functions AS
SELECT p.oid, p.proname::text COLLATE "default" AS name
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'eventstore'::regnamespace
   AND p.proname IN ('create_projection', 'drop_projection', 'rebuild', 'run_projection', 'run_projections',
                     'state_at', 'register_upcaster');
SELECT results_eq(
    $$SELECT p.oid::regprocedure::text, pg_catalog.pg_get_function_arguments(p.oid),
             pg_catalog.pg_get_function_result(p.oid)
        FROM pg_catalog.pg_proc p JOIN projection_functions f ON f.oid = p.oid
       ORDER BY 1$$,
    $$VALUES
      ('eventstore.create_projection(text,text,jsonb,regprocedure,text,bigint,jsonb)',
       'name text, category text, reducer jsonb DEFAULT NULL::jsonb, apply_function regprocedure DEFAULT NULL::regprocedure, mode text DEFAULT ''inline''::text, snapshot_every bigint DEFAULT NULL::bigint, initial_state jsonb DEFAULT ''{}''::jsonb',
       'bigint'),
      ('eventstore.drop_projection(text)', 'name text', 'boolean'),
      ('eventstore.rebuild(text,text)', 'projection text, stream text DEFAULT NULL::text', 'bigint'),
      ('eventstore.register_upcaster(text,bigint,jsonb,regprocedure)',
       'event_type text, from_version bigint, spec jsonb DEFAULT NULL::jsonb, function regprocedure DEFAULT NULL::regprocedure',
       'void'),
      ('eventstore.run_projection(text,bigint)', 'name text, max bigint DEFAULT 1000', 'bigint'),
      ('eventstore.run_projections(bigint)', 'max bigint DEFAULT 10000', 'bigint'),
      ('eventstore.state_at(text,bigint,text)', 'stream text, version bigint, projection text DEFAULT NULL::text', 'jsonb'),
      ('eventstore.state_at(text,timestamp with time zone,text)',
       'stream text, at timestamp with time zone, projection text DEFAULT NULL::text', 'jsonb')$$,
    'projection and upcaster functions: exactly these, with argument names, defaults and result types');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p JOIN projection_functions f ON f.oid = p.oid
       WHERE p.prolang <> (SELECT oid FROM pg_catalog.pg_language WHERE lanname = 'c')
          OR p.probin <> '$libdir/eventstore' OR p.proisstrict OR p.proretset$$,
    'each of them is C in $libdir/eventstore, not STRICT (NULLs raise 22004), not set-returning');
SELECT results_eq(
    $$SELECT p.oid::regprocedure::text, p.provolatile::text, p.proparallel::text
        FROM pg_catalog.pg_proc p JOIN projection_functions f ON f.oid = p.oid
       ORDER BY 1$$,
    $$VALUES ('eventstore.create_projection(text,text,jsonb,regprocedure,text,bigint,jsonb)', 'v', 'u'),
             ('eventstore.drop_projection(text)', 'v', 'u'),
             ('eventstore.rebuild(text,text)', 'v', 'u'),
             ('eventstore.register_upcaster(text,bigint,jsonb,regprocedure)', 'v', 'u'),
             ('eventstore.run_projection(text,bigint)', 'v', 'u'),
             ('eventstore.run_projections(bigint)', 'v', 'u'),
             ('eventstore.state_at(text,bigint,text)', 's', 'u'),
             ('eventstore.state_at(text,timestamp with time zone,text)', 's', 'u')$$,
    'state_at is STABLE, the others VOLATILE; all PARALLEL UNSAFE');
SELECT is_definer('eventstore', 'create_projection',
                  ARRAY['text', 'text', 'jsonb', 'regprocedure', 'text', 'bigint', 'jsonb'],
                  'create_projection is SECURITY DEFINER');
SELECT is_definer('eventstore', 'drop_projection', ARRAY['text'], 'drop_projection is SECURITY DEFINER');
SELECT is_definer('eventstore', 'rebuild', ARRAY['text', 'text'], 'rebuild is SECURITY DEFINER');
SELECT is_definer('eventstore', 'run_projection', ARRAY['text', 'bigint'], 'run_projection is SECURITY DEFINER');
SELECT is_definer('eventstore', 'run_projections', ARRAY['bigint'], 'run_projections is SECURITY DEFINER');
SELECT is_definer('eventstore', 'state_at', ARRAY['text', 'bigint', 'text'], 'state_at(stream, version) is SECURITY DEFINER');
SELECT is_definer('eventstore', 'state_at', ARRAY['text', 'timestamp with time zone', 'text'],
                  'state_at(stream, timestamp) is SECURITY DEFINER');
SELECT is_definer('eventstore', 'register_upcaster', ARRAY['text', 'bigint', 'jsonb', 'regprocedure'],
                  'register_upcaster is SECURITY DEFINER');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p JOIN projection_functions f ON f.oid = p.oid
       WHERE p.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp']$$,
    'each of them runs with proconfig {search_path=pg_catalog, pg_temp}');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p JOIN projection_functions f ON f.oid = p.oid
       WHERE NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = p.proowner)$$,
    'each of them is owned by a superuser');
-- The async loop: a plpgsql procedure that commits between rounds, so it
-- cannot be SECURITY DEFINER; it runs with its caller's rights.
SELECT results_eq(
    $$SELECT p.oid::regprocedure::text, p.prokind::text, p.prosecdef, l.lanname::text COLLATE "default",
             pg_catalog.pg_get_function_arguments(p.oid)
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
       WHERE p.pronamespace = 'eventstore'::regnamespace AND p.proname = 'run_projections_loop'$$,
    $$VALUES ('eventstore.run_projections_loop(integer,interval)', 'p', false, 'plpgsql',
              'IN seconds integer DEFAULT 58, IN pause interval DEFAULT ''00:00:00.2''::interval')$$,
    'run_projections_loop(seconds, pause) is a plpgsql procedure, SECURITY INVOKER');
SELECT isnt_definer('eventstore', '_invalidate', ARRAY[]::text[], '_invalidate (a trigger) is SECURITY INVOKER');

-------------------------------------------------------------------------------
-- What PUBLIC is given, read from the catalog
-------------------------------------------------------------------------------
SELECT is_empty(
    $$SELECT c.relname, a.privilege_type
        FROM pg_catalog.pg_class c,
             pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))) a
       WHERE c.oid IN ('eventstore.projections'::regclass, 'eventstore.projection_state'::regclass,
                       'eventstore.snapshots'::regclass, 'eventstore.upcasters'::regclass,
                       'eventstore.projection_status'::regclass)
         AND a.grantee = 0$$,
    'PUBLIC has no privilege on projections, projection_state, snapshots, upcasters, projection_status');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text
        FROM pg_catalog.pg_proc p,
             pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
       WHERE p.pronamespace = 'eventstore'::regnamespace
         AND (p.proname IN ('create_projection', 'drop_projection', 'rebuild', 'run_projection', 'run_projections',
                            'state_at', 'register_upcaster', 'run_projections_loop', '_schedule_async_projections',
                            '_invalidate'))
         AND a.grantee = 0 AND a.privilege_type = 'EXECUTE'$$,
    'PUBLIC may execute none of the projection and upcaster functions, nor the procedure run_projections_loop');
SELECT is((SELECT count(*)::int FROM pg_catalog.pg_proc
            WHERE pronamespace = 'eventstore'::regnamespace
              AND proname IN ('create_projection', 'drop_projection', 'rebuild', 'run_projection', 'run_projections',
                              'state_at', 'register_upcaster', 'run_projections_loop', '_schedule_async_projections',
                              '_invalidate')),
          11, 'the check above looked at 11 routines');

-------------------------------------------------------------------------------
-- As a plain role, without any grant
-------------------------------------------------------------------------------
CREATE ROLE eventstore_tap_nobody NOLOGIN;
CREATE FUNCTION public.tap_harmless_apply(state jsonb, e eventstore.event) RETURNS jsonb
    LANGUAGE sql AS $$SELECT state$$;
-- (The event is in flight in this transaction: the catch-up of
-- create_projection stops below it; rebuild of its stream folds it.)
DO $$
BEGIN
    PERFORM eventstore.append('tapproj-1', '[{"type": "Opened", "data": {"n": 1}}]', 0);
    PERFORM eventstore.create_projection('tap_owner_view', 'tapproj', '{"*": [{"increment": "n", "from": "n"}]}');
    PERFORM eventstore.rebuild('tap_owner_view', 'tapproj-1');
    PERFORM eventstore.create_projection('tap_owner_async', 'tapproj', '{"*": [{"increment": "n", "from": "n"}]}',
                                         mode => 'async');
END
$$;
CREATE TEMP TABLE before_attacks AS
SELECT (SELECT count(*) FROM eventstore.events) AS events,
       (SELECT string_agg(stream_id || ':' || version || ':' || event_type || ':' || event_data::text, ',' ORDER BY position)
          FROM eventstore.events) AS content,
       (SELECT string_agg(projection || ':' || stream_id || ':' || state::text || ':' || version, ',' ORDER BY projection, stream_id)
          FROM eventstore.projection_state) AS states,
       (SELECT count(*) FROM eventstore.snapshots) AS snapshots,
       (SELECT count(*) FROM eventstore.upcasters) AS upcasters;
SELECT is((SELECT state FROM eventstore.projection_state WHERE projection = 'tap_owner_view' AND stream_id = 'tapproj-1'),
          '{"n": 1}'::jsonb, 'the owner''s projection folded its event');

SET ROLE eventstore_tap_nobody;
SELECT throws_ok($$SELECT eventstore.create_projection('tap_x', 'tapproj', '{"*": [{"set": "a", "value": 1}]}')$$,
                 '42501', 'permission denied for function create_projection', 'the role cannot create_projection');
SELECT throws_ok($$SELECT eventstore.drop_projection('tap_owner_view')$$,
                 '42501', 'permission denied for function drop_projection', 'the role cannot drop_projection');
SELECT throws_ok($$SELECT eventstore.rebuild('tap_owner_view')$$,
                 '42501', 'permission denied for function rebuild', 'the role cannot rebuild');
SELECT throws_ok($$SELECT eventstore.run_projection('tap_owner_async')$$,
                 '42501', 'permission denied for function run_projection', 'the role cannot run_projection');
SELECT throws_ok($$SELECT eventstore.run_projections()$$,
                 '42501', 'permission denied for function run_projections', 'the role cannot run_projections');
SELECT throws_ok($$SELECT eventstore.state_at('tapproj-1', 1)$$,
                 '42501', 'permission denied for function state_at', 'the role cannot call state_at(stream, version)');
SELECT throws_ok($$SELECT eventstore.state_at('tapproj-1', now())$$,
                 '42501', 'permission denied for function state_at', 'the role cannot call state_at(stream, timestamp)');
SELECT throws_ok($$SELECT eventstore.register_upcaster('Opened', 1, '[{"set": "forged", "value": true}]')$$,
                 '42501', 'permission denied for function register_upcaster', 'the role cannot register_upcaster');
SELECT throws_ok($$CALL eventstore.run_projections_loop(0)$$,
                 '42501', 'permission denied for procedure run_projections_loop', 'the role cannot CALL run_projections_loop');
SELECT throws_ok($$SELECT eventstore._schedule_async_projections()$$,
                 '42501', 'permission denied for function _schedule_async_projections',
                 'the role cannot call _schedule_async_projections');
SELECT throws_ok($$SELECT eventstore._invalidate()$$,
                 '42501', 'permission denied for function _invalidate', 'the role cannot call _invalidate');
SELECT throws_ok('SELECT * FROM eventstore.projections', '42501', 'permission denied for table projections',
                 'the role cannot read projections');
SELECT throws_ok('SELECT * FROM eventstore.projection_state', '42501', 'permission denied for table projection_state',
                 'the role cannot read projection_state');
SELECT throws_ok('SELECT * FROM eventstore.snapshots', '42501', 'permission denied for table snapshots',
                 'the role cannot read snapshots');
SELECT throws_ok('SELECT * FROM eventstore.upcasters', '42501', 'permission denied for table upcasters',
                 'the role cannot read upcasters');
SELECT throws_ok('SELECT * FROM eventstore.projection_status', '42501', 'permission denied for view projection_status',
                 'the role cannot read projection_status');
SELECT throws_ok($$UPDATE eventstore.projection_state SET state = '{"n": 1000}'$$, '42501',
                 'permission denied for table projection_state', 'the role cannot forge a state');
SELECT throws_ok($$INSERT INTO eventstore.snapshots (projection, stream_id, version, position, state)
                   VALUES ('tap_owner_view', 'tapproj-1', 1, 1, '{"n": 1000}')$$, '42501',
                 'permission denied for table snapshots', 'the role cannot plant a snapshot (state_at would replay from it)');
SELECT throws_ok($$INSERT INTO eventstore.upcasters (event_type, from_version, spec, owner)
                   VALUES ('Opened', 1, '[{"set": "n", "value": 1000}]', 'eventstore_tap_nobody')$$, '42501',
                 'permission denied for table upcasters', 'the role cannot insert an upcaster directly');
SELECT throws_ok($$INSERT INTO eventstore.projections (name, category, apply_function, owner, mode)
                   VALUES ('tap_forged', 'tapproj', 'public.tap_harmless_apply(jsonb, eventstore.event)', 'postgres', 'inline')$$,
                 '42501', 'permission denied for table projections',
                 'the role cannot insert a projection directly (with another role as owner)');
SELECT throws_ok($$DELETE FROM eventstore.projections$$, '42501', 'permission denied for table projections',
                 'the role cannot delete projections');
SELECT throws_ok($$UPDATE eventstore.subscription_checkpoints SET position = 0 WHERE subscription = 'projection:tap_owner_async'$$,
                 '42501', 'permission denied for table subscription_checkpoints',
                 'the role cannot move an async projection''s checkpoint');
RESET ROLE;

-------------------------------------------------------------------------------
-- Attacks: a role granted EXECUTE on create_projection (and on
-- register_upcaster) registers functions of its own that try to use the
-- extension's rights. They run as that role: every attempt fails with
-- 42501 and changes nothing.
-------------------------------------------------------------------------------
CREATE ROLE eventstore_tap_author NOLOGIN;
CREATE SCHEMA tap_author AUTHORIZATION eventstore_tap_author;
GRANT EXECUTE ON FUNCTION eventstore.create_projection(text, text, jsonb, regprocedure, text, bigint, jsonb),
                          eventstore.register_upcaster(text, bigint, jsonb, regprocedure)
    TO eventstore_tap_author;
-- A table the role has no right on.
CREATE TABLE public.tap_secret (secret text);
INSERT INTO public.tap_secret VALUES ('the launch codes');

SET ROLE eventstore_tap_author;
-- One apply function, one attempt per event type.
CREATE FUNCTION tap_author.sneaky_apply(state jsonb, e eventstore.event) RETURNS jsonb LANGUAGE plpgsql AS $fn$
BEGIN
    CASE e.event_type
    WHEN 'ReadSecret' THEN
        state := state || jsonb_build_object('stolen', (SELECT secret FROM public.tap_secret LIMIT 1));
    WHEN 'ReadEvents' THEN
        state := state || jsonb_build_object('events', (SELECT count(*) FROM eventstore.events));
    WHEN 'ForgeEvent' THEN
        INSERT INTO eventstore.events (stream_id, version, event_id, event_type, event_data, category)
        VALUES ('tapproj-1', 2, '0190a5b0-0000-7000-8000-00000000f001', 'Forged', '{}', 'tapproj');
    WHEN 'ForgeState' THEN
        UPDATE eventstore.projection_state SET state = '{"n": 1000}' WHERE projection = 'tap_owner_view';
    WHEN 'Append' THEN
        PERFORM eventstore.append('tapproj-1', '[{"type": "Forged", "data": {}}]');
    WHEN 'BecomeOwner' THEN
        EXECUTE 'SET ROLE ' || (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = 10);
    ELSE
        NULL;
    END CASE;
    RETURN state || jsonb_build_object('applied_by', current_user::text);
END
$fn$;
SELECT lives_ok($$SELECT eventstore.create_projection('tap_sneaky', 'tapvictim', apply_function => 'tap_author.sneaky_apply(jsonb, eventstore.event)')$$,
                'the author creates an inline projection with its own apply function');
RESET ROLE;
SELECT is((SELECT owner::text FROM eventstore.projections WHERE name = 'tap_sneaky'), 'eventstore_tap_author',
          'the projection''s owner is the author, not the extension owner');

-- Each append by the superuser folds the event inline: the function runs
-- as the author and fails; the append is refused.
SELECT throws_ok($$SELECT eventstore.append('tapvictim-1', '[{"type": "ReadSecret", "data": {}}]')$$,
                 '42501', 'permission denied for table tap_secret',
                 'the apply function cannot read a table its author has no right on');
SELECT throws_ok($$SELECT eventstore.append('tapvictim-1', '[{"type": "ReadEvents", "data": {}}]')$$,
                 '42501', 'permission denied for table events',
                 'the apply function cannot read eventstore.events (it does not run as the extension owner)');
SELECT throws_ok($$SELECT eventstore.append('tapvictim-1', '[{"type": "ForgeEvent", "data": {}}]')$$,
                 '42501', 'permission denied for table events', 'the apply function cannot INSERT into eventstore.events');
SELECT throws_ok($$SELECT eventstore.append('tapvictim-1', '[{"type": "ForgeState", "data": {}}]')$$,
                 '42501', 'permission denied for table projection_state',
                 'the apply function cannot rewrite another projection''s state');
SELECT throws_ok($$SELECT eventstore.append('tapvictim-1', '[{"type": "Append", "data": {}}]')$$,
                 '42501', 'permission denied for function append', 'the apply function cannot append');
SELECT throws_ok($$SELECT eventstore.append('tapvictim-1', '[{"type": "BecomeOwner", "data": {}}]')$$,
                 '42501', NULL, 'the apply function cannot SET ROLE to the bootstrap superuser');
-- A harmless event folds, as the author.
SELECT is(eventstore.append('tapvictim-1', '[{"type": "Harmless", "data": {}}]'), 1::bigint,
          'a harmless event is appended and folded');
SELECT is((SELECT state FROM eventstore.projection_state WHERE projection = 'tap_sneaky' AND stream_id = 'tapvictim-1'),
          '{"applied_by": "eventstore_tap_author"}'::jsonb,
          'the apply function ran as its author (current_user), although the superuser appended');

-- An upcaster function runs as its registrar too, on every read.
SET ROLE eventstore_tap_author;
CREATE FUNCTION tap_author.sneaky_upcast(data jsonb) RETURNS jsonb LANGUAGE sql
    AS $$SELECT data || jsonb_build_object('stolen', (SELECT secret FROM public.tap_secret LIMIT 1))$$;
SELECT lives_ok($$SELECT eventstore.register_upcaster('Harmless', 1, function => 'tap_author.sneaky_upcast(jsonb)')$$,
                'the author registers an upcaster function of its own');
RESET ROLE;
SELECT throws_ok($$SELECT * FROM eventstore.read_stream('tapvictim-1')$$, '42501', 'permission denied for table tap_secret',
                 'read by the superuser, the upcaster cannot read a table its author has no right on');
SELECT throws_ok($$SELECT eventstore.rebuild('tap_sneaky', 'tapvictim-1')$$, '42501', 'permission denied for table tap_secret',
                 'a rebuild fails the same way (and keeps the stored state)');
SELECT is((SELECT state FROM eventstore.projection_state WHERE projection = 'tap_sneaky' AND stream_id = 'tapvictim-1'),
          '{"applied_by": "eventstore_tap_author"}'::jsonb, 'the stored state is unchanged after the failed rebuild');
DELETE FROM eventstore.upcasters WHERE event_type = 'Harmless';

-- The author cannot register someone else's function it may not execute,
-- nor take over an existing projection.
CREATE FUNCTION public.tap_private_apply(state jsonb, e eventstore.event) RETURNS jsonb
    LANGUAGE sql AS $$SELECT state || '{"private": true}'::jsonb$$;
REVOKE ALL ON FUNCTION public.tap_private_apply(jsonb, eventstore.event) FROM PUBLIC;
SET ROLE eventstore_tap_author;
SELECT throws_ok($$SELECT eventstore.create_projection('tap_private', 'tapproj', apply_function => 'public.tap_private_apply(jsonb, eventstore.event)')$$,
                 '42501', 'permission denied for the apply function',
                 'the author cannot make the extension run a function the author may not execute');
SELECT throws_ok($$SELECT eventstore.create_projection('tap_owner_view', 'tapproj', apply_function => 'tap_author.sneaky_apply(jsonb, eventstore.event)')$$,
                 'KB213', 'projection "tap_owner_view" already exists', 'the author cannot replace the owner''s projection');
SELECT throws_ok($$SELECT eventstore.drop_projection('tap_owner_view')$$,
                 '42501', 'permission denied for function drop_projection', 'the author cannot drop projections (no grant)');
SELECT throws_ok($$SELECT eventstore.register_upcaster('Opened', 1, function => 'public.tap_private_apply(jsonb, eventstore.event)')$$,
                 'KB210', 'an upcaster function must take (data jsonb) and return jsonb',
                 'an apply-shaped function is no upcaster');
RESET ROLE;

-- After the attacks: the events, the other projections' states, the
-- snapshots and the upcasters are as they were.
SELECT results_eq(
    $$SELECT (SELECT count(*) FROM eventstore.events WHERE stream_id NOT LIKE 'tapvictim-%'),
             (SELECT string_agg(stream_id || ':' || version || ':' || event_type || ':' || event_data::text, ',' ORDER BY position)
                FROM eventstore.events WHERE stream_id NOT LIKE 'tapvictim-%'),
             (SELECT string_agg(projection || ':' || stream_id || ':' || state::text || ':' || version, ',' ORDER BY projection, stream_id)
                FROM eventstore.projection_state WHERE projection <> 'tap_sneaky'),
             (SELECT count(*) FROM eventstore.snapshots),
             (SELECT count(*) FROM eventstore.upcasters)$$,
    $$SELECT events, content, states, snapshots, upcasters FROM before_attacks$$,
    'after the attacks: the same events, states, snapshots and upcasters');
SELECT results_eq(
    $$SELECT version::int, event_type COLLATE "default" FROM eventstore.events WHERE stream_id LIKE 'tapvictim-%' ORDER BY position$$,
    $$VALUES (1, 'Harmless')$$,
    'of the attacker''s stream only the harmless event was stored');
SELECT is_empty($$SELECT 1 FROM eventstore.events WHERE event_type = 'Forged'$$, 'no forged event exists');
SELECT is((SELECT string_agg(name, ',' ORDER BY name) FROM eventstore.projections),
          'tap_owner_async,tap_owner_view,tap_sneaky', 'projections: the owner''s two and the author''s one');

SELECT * FROM finish();
ROLLBACK;
