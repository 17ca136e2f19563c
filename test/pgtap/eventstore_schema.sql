-- eventstore: schema shape of the store, reads and subscriptions. Tables,
-- view, columns and types, keys, the indexes reads and optimistic
-- concurrency rely on, the append-only triggers, the composite types event
-- and delivery, every function's signature, language, volatility, SECURITY
-- DEFINER and fixed search_path, and the pg_dump registration of the
-- tables. (Projections and upcasters are checked by their own suite; the
-- checks over the whole schema here hold for any object.) Everything runs in
-- one transaction and rolls back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS eventstore;

SELECT plan(111);

-------------------------------------------------------------------------------
-- Extension and schema
-------------------------------------------------------------------------------
SELECT has_schema('eventstore', 'schema eventstore exists');
SELECT has_extension('eventstore', 'eventstore', 'extension eventstore lives in schema eventstore');
SELECT is((SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'eventstore'),
          '0.2.0', 'eventstore is installed at version 0.2.0');
SELECT is((SELECT extrelocatable FROM pg_catalog.pg_extension WHERE extname = 'eventstore'),
          false, 'eventstore is not relocatable (its functions name eventstore.* directly)');
SELECT ok(pg_catalog.current_setting('shared_preload_libraries') ~ '(^|[ ,])eventstore($|[ ,])',
          'eventstore is in shared_preload_libraries (the global order lives in shared memory)');

-------------------------------------------------------------------------------
-- Tables and the status view
-------------------------------------------------------------------------------
SELECT has_table('eventstore', 'events', 'table eventstore.events exists');
SELECT has_table('eventstore', 'subscriptions', 'table eventstore.subscriptions exists');
SELECT has_table('eventstore', 'subscription_checkpoints', 'table eventstore.subscription_checkpoints exists');
SELECT has_view('eventstore', 'subscription_status', 'view eventstore.subscription_status exists');
SELECT has_table('eventstore', 'storage_layout', 'table eventstore.storage_layout exists');
SELECT results_eq(
    $$SELECT l.partition_positions, c.relkind::text
        FROM eventstore.storage_layout l, pg_catalog.pg_class c
       WHERE c.oid = 'eventstore.events'::regclass$$,
    $$VALUES (0::bigint, 'r')$$,
    'without eventstore.partition_positions the store is one plain table (partition_positions 0)');
SELECT throws_ok('INSERT INTO eventstore.storage_layout VALUES (5)', '23505', NULL,
                 'storage_layout holds one row');
SELECT sequences_are('eventstore', ARRAY['position_reserve']::name[],
                     'eventstore has one sequence, the position reserve mark (positions come from the shared-memory allocator)');

-- events
SELECT columns_are('eventstore', 'events',
    ARRAY['position', 'stream_id', 'version', 'event_id', 'event_type', 'schema_version', 'event_data',
          'personal', 'metadata', 'created_at', 'category'],
    'events has exactly the designed columns');
SELECT results_eq(
    $$SELECT a.attname::text COLLATE "default", pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'eventstore.events'::regclass AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum$$,
    $$VALUES ('position', 'bigint', true), ('stream_id', 'text', true), ('version', 'bigint', true),
             ('event_id', 'uuid', true), ('event_type', 'text', true), ('schema_version', 'integer', true),
             ('event_data', 'jsonb', true), ('personal', 'jsonb', false), ('metadata', 'jsonb', true),
             ('created_at', 'timestamp with time zone', true), ('category', 'text', true)$$,
    'events: column order, types, every column NOT NULL');
SELECT col_type_is('eventstore', 'events', 'position', 'bigint', 'events.position is bigint');
SELECT col_type_is('eventstore', 'events', 'stream_id', 'text', 'events.stream_id is text');
SELECT col_type_is('eventstore', 'events', 'version', 'bigint', 'events.version is bigint');
SELECT col_type_is('eventstore', 'events', 'event_id', 'uuid', 'events.event_id is uuid');
SELECT col_type_is('eventstore', 'events', 'event_type', 'text', 'events.event_type is text');
SELECT col_type_is('eventstore', 'events', 'schema_version', 'integer', 'events.schema_version is integer');
SELECT col_type_is('eventstore', 'events', 'event_data', 'jsonb', 'events.event_data is jsonb');
SELECT col_type_is('eventstore', 'events', 'metadata', 'jsonb', 'events.metadata is jsonb');
SELECT col_type_is('eventstore', 'events', 'created_at', 'timestamp with time zone', 'events.created_at is timestamptz');
SELECT col_type_is('eventstore', 'events', 'category', 'text', 'events.category is text');
SELECT results_eq(
    $$SELECT a.attname::text COLLATE "default", pg_catalog.pg_get_expr(d.adbin, d.adrelid) COLLATE "default"
        FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = 'eventstore.events'::regclass
       ORDER BY a.attnum$$,
    $$VALUES ('position', 'eventstore._next_position()'), ('schema_version', '1'),
             ('metadata', '''{}''::jsonb'), ('created_at', 'now()')$$,
    'events defaults: position from _next_position(), schema_version 1, metadata {}, created_at now()');
SELECT col_is_pk('eventstore', 'events', 'position', 'events: primary key (position)');
SELECT results_eq(
    $$SELECT c.conname::text COLLATE "default", c.contype::text, pg_catalog.pg_get_constraintdef(c.oid)
        FROM pg_catalog.pg_constraint c
       WHERE c.conrelid = 'eventstore.events'::regclass
       ORDER BY 1$$,
    $$VALUES ('events_event_id_key', 'u', 'UNIQUE (event_id)'),
             ('events_pkey', 'p', 'PRIMARY KEY ("position")'),
             ('events_stream_version_key', 'u', 'UNIQUE (stream_id, version)'),
             ('events_version_check', 'c', 'CHECK ((version > 0))')$$,
    'events constraints: primary key, unique (stream_id, version), unique event_id, version > 0');
SELECT indexes_are('eventstore', 'events',
    ARRAY['events_pkey', 'events_stream_version_key', 'events_event_id_key', 'events_category_position_idx'],
    'events has exactly its four indexes');
SELECT has_index('eventstore', 'events', 'events_pkey', ARRAY['"position"'], 'events_pkey is on (position)');
SELECT index_is_unique('eventstore', 'events', 'events_pkey', 'events_pkey is unique');
SELECT index_is_primary('eventstore', 'events', 'events_pkey', 'events_pkey is the primary key');
SELECT has_index('eventstore', 'events', 'events_stream_version_key', ARRAY['stream_id', 'version'],
                 'events_stream_version_key is on (stream_id, version): stream replay');
SELECT index_is_unique('eventstore', 'events', 'events_stream_version_key',
                       'events_stream_version_key is unique: the optimistic-concurrency backstop');
SELECT has_index('eventstore', 'events', 'events_event_id_key', ARRAY['event_id'], 'events_event_id_key is on (event_id)');
SELECT index_is_unique('eventstore', 'events', 'events_event_id_key', 'events_event_id_key is unique');
SELECT has_index('eventstore', 'events', 'events_category_position_idx', ARRAY['category', '"position"'],
                 'events_category_position_idx is on (category, position): category reads in order');
SELECT index_is_type('eventstore', 'events', 'events_category_position_idx', 'btree',
                     'events_category_position_idx is a btree');
SELECT ok(NOT (SELECT i.indisunique FROM pg_catalog.pg_index i
                WHERE i.indexrelid = 'eventstore.events_category_position_idx'::regclass),
          'events_category_position_idx is not unique');
SELECT is_empty(
    $$SELECT i.indexrelid::regclass::text FROM pg_catalog.pg_index i
       WHERE i.indrelid = 'eventstore.events'::regclass AND (i.indpred IS NOT NULL OR i.indexprs IS NOT NULL)$$,
    'events indexes are plain: no partial or expression index');
SELECT ok((SELECT obj_description('eventstore.events'::regclass, 'pg_class')) LIKE 'Append-only event log.%',
          'events has a comment saying how to write and read it');

-- subscriptions
SELECT columns_are('eventstore', 'subscriptions', ARRAY['name', 'category', 'members', 'created_at'],
                   'subscriptions has exactly name, category, members, created_at');
SELECT col_type_is('eventstore', 'subscriptions', 'name', 'text', 'subscriptions.name is text');
SELECT col_type_is('eventstore', 'subscriptions', 'category', 'text', 'subscriptions.category is text');
SELECT col_type_is('eventstore', 'subscriptions', 'members', 'integer', 'subscriptions.members is integer');
SELECT col_type_is('eventstore', 'subscriptions', 'created_at', 'timestamp with time zone',
                   'subscriptions.created_at is timestamptz');
SELECT col_is_null('eventstore', 'subscriptions', 'category', 'subscriptions.category is nullable (NULL = all)');
SELECT col_not_null('eventstore', 'subscriptions', 'members', 'subscriptions.members is NOT NULL');
SELECT col_not_null('eventstore', 'subscriptions', 'created_at', 'subscriptions.created_at is NOT NULL');
SELECT col_is_pk('eventstore', 'subscriptions', 'name', 'subscriptions: primary key (name)');

-- subscription_checkpoints
SELECT columns_are('eventstore', 'subscription_checkpoints', ARRAY['subscription', 'member', 'position', 'updated_at'],
                   'subscription_checkpoints has exactly subscription, member, position, updated_at');
SELECT col_type_is('eventstore', 'subscription_checkpoints', 'subscription', 'text',
                   'subscription_checkpoints.subscription is text');
SELECT col_type_is('eventstore', 'subscription_checkpoints', 'member', 'integer',
                   'subscription_checkpoints.member is integer');
SELECT col_type_is('eventstore', 'subscription_checkpoints', 'position', 'bigint',
                   'subscription_checkpoints.position is bigint');
SELECT col_type_is('eventstore', 'subscription_checkpoints', 'updated_at', 'timestamp with time zone',
                   'subscription_checkpoints.updated_at is timestamptz');
SELECT col_not_null('eventstore', 'subscription_checkpoints', 'position', 'subscription_checkpoints.position is NOT NULL');
SELECT col_not_null('eventstore', 'subscription_checkpoints', 'updated_at',
                    'subscription_checkpoints.updated_at is NOT NULL');
SELECT col_default_is('eventstore', 'subscription_checkpoints', 'updated_at', '-infinity'::timestamptz,
                      'subscription_checkpoints.updated_at defaults to -infinity (never served)');
SELECT col_is_pk('eventstore', 'subscription_checkpoints', ARRAY['subscription', 'member'],
                 'subscription_checkpoints: primary key (subscription, member)');
SELECT fk_ok('eventstore', 'subscription_checkpoints', 'subscription', 'eventstore', 'subscriptions', 'name',
             'subscription_checkpoints.subscription references subscriptions.name');
SELECT is((SELECT c.confdeltype::text FROM pg_catalog.pg_constraint c
            WHERE c.conrelid = 'eventstore.subscription_checkpoints'::regclass AND c.contype = 'f'),
          'c', 'dropping a subscription cascades to its checkpoints');

-- subscription_status
SELECT columns_are('eventstore', 'subscription_status',
    ARRAY['subscription', 'member', 'members', 'category', 'checkpoint', 'head', 'positions_behind', 'last_poll_or_ack'],
    'subscription_status has exactly the designed columns');
SELECT results_eq(
    $$SELECT a.attname::text COLLATE "default", pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'eventstore.subscription_status'::regclass AND a.attnum > 0
       ORDER BY a.attnum$$,
    $$VALUES ('subscription', 'text'), ('member', 'integer'), ('members', 'integer'), ('category', 'text'),
             ('checkpoint', 'bigint'), ('head', 'bigint'), ('positions_behind', 'bigint'),
             ('last_poll_or_ack', 'timestamp with time zone')$$,
    'subscription_status column types');

-------------------------------------------------------------------------------
-- Types: event is the events row without the internal `personal` column
-- (sealed-field bookkeeping); delivery is the member, then the event.
-------------------------------------------------------------------------------
SELECT has_composite('eventstore', 'event', 'composite type eventstore.event exists');
SELECT has_composite('eventstore', 'delivery', 'composite type eventstore.delivery exists');
SELECT results_eq(
    $$SELECT a.attnum::int, a.attname::text COLLATE "default", a.atttypid
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'eventstore.event'::regclass AND a.attnum > 0
       ORDER BY a.attnum$$,
    $$SELECT (row_number() OVER (ORDER BY a.attnum))::int, a.attname::text COLLATE "default", a.atttypid
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'eventstore.events'::regclass AND a.attnum > 0 AND NOT a.attisdropped
         AND a.attname <> 'personal'
       ORDER BY a.attnum$$,
    'type event has the columns of events but personal, same names, types and order');
SELECT results_eq(
    $$SELECT a.attnum::int, a.attname::text COLLATE "default", a.atttypid
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'eventstore.delivery'::regclass AND a.attnum > 0
       ORDER BY a.attnum$$,
    $$SELECT 1, 'member', 'integer'::regtype::oid
      UNION ALL
      SELECT (row_number() OVER (ORDER BY a.attnum))::int + 1, a.attname::text COLLATE "default", a.atttypid
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = 'eventstore.events'::regclass AND a.attnum > 0 AND NOT a.attisdropped
         AND a.attname <> 'personal'
      ORDER BY 1$$,
    'type delivery is member integer followed by the columns of eventstore.event');

-------------------------------------------------------------------------------
-- Triggers: append-only, statement level, fired ALWAYS (also in replica mode)
-------------------------------------------------------------------------------
SELECT triggers_are('eventstore', 'events', ARRAY['events_append_only', 'events_no_truncate'],
                    'events has exactly the triggers events_append_only and events_no_truncate');
SELECT trigger_is('eventstore', 'events', 'events_append_only', 'eventstore', '_append_only',
                  'events_append_only calls _append_only()');
SELECT trigger_is('eventstore', 'events', 'events_no_truncate', 'eventstore', '_append_only',
                  'events_no_truncate calls _append_only()');
SELECT results_eq(
    $$SELECT t.tgname::text COLLATE "default", pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled::text
        FROM pg_catalog.pg_trigger t
       WHERE t.tgrelid = 'eventstore.events'::regclass AND NOT t.tgisinternal
       ORDER BY 1$$,
    $$VALUES
      ('events_append_only',
       'CREATE TRIGGER events_append_only BEFORE DELETE OR UPDATE ON eventstore.events FOR EACH STATEMENT EXECUTE FUNCTION eventstore._append_only()',
       'A'),
      ('events_no_truncate',
       'CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON eventstore.events FOR EACH STATEMENT EXECUTE FUNCTION eventstore._append_only()',
       'A')$$,
    'UPDATE/DELETE and TRUNCATE triggers: BEFORE, FOR EACH STATEMENT, enabled ALWAYS');
SELECT is_empty(
    $$SELECT t.tgname FROM pg_catalog.pg_trigger t
       WHERE t.tgrelid IN ('eventstore.subscriptions'::regclass, 'eventstore.subscription_checkpoints'::regclass)
         AND NOT t.tgisinternal$$,
    'subscriptions and subscription_checkpoints have no user trigger');

-------------------------------------------------------------------------------
-- Functions
-------------------------------------------------------------------------------
-- The functions of the store, reads and subscriptions (one of each name).
CREATE TEMP TABLE store_functions AS
SELECT p.oid, p.proname::text COLLATE "default" AS name
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'eventstore'::regnamespace
   AND p.proname IN ('_next_position', '_append_only', 'append', 'read_stream', 'read_category', 'read_all',
                     'head', 'subscribe', 'unsubscribe', 'poll', 'ack');
SELECT results_eq(
    $$SELECT p.oid::regprocedure::text, pg_catalog.pg_get_function_arguments(p.oid),
             pg_catalog.pg_get_function_result(p.oid)
        FROM pg_catalog.pg_proc p JOIN store_functions f ON f.oid = p.oid
       ORDER BY 1$$,
    $$VALUES
      ('eventstore._append_only()', '', 'trigger'),
      ('eventstore._next_position()', '', 'bigint'),
      ('eventstore.ack(text,bigint,bigint)', 'name text, "position" bigint, member bigint DEFAULT NULL::bigint',
       'bigint'),
      ('eventstore.append(text,jsonb,bigint,text)',
       'stream text, events jsonb, expected_version bigint DEFAULT NULL::bigint, category text DEFAULT NULL::text',
       'bigint'),
      ('eventstore.head()', '', 'bigint'),
      ('eventstore.poll(text,bigint,bigint)', 'name text, max bigint DEFAULT 100, member bigint DEFAULT NULL::bigint',
       'SETOF eventstore.delivery'),
      ('eventstore.read_all(bigint,bigint)', 'after_position bigint DEFAULT 0, max bigint DEFAULT 1000',
       'SETOF eventstore.event'),
      ('eventstore.read_category(text,bigint,bigint)',
       'category text, after_position bigint DEFAULT 0, max bigint DEFAULT 1000', 'SETOF eventstore.event'),
      ('eventstore.read_stream(text,bigint,bigint,boolean)',
       'stream text, from_version bigint DEFAULT NULL::bigint, max bigint DEFAULT 1000, backward boolean DEFAULT false',
       'SETOF eventstore.event'),
      ('eventstore.subscribe(text,text,bigint,bigint)',
       'name text, category text DEFAULT NULL::text, members bigint DEFAULT 1, start_after bigint DEFAULT 0', 'void'),
      ('eventstore.unsubscribe(text)', 'name text', 'boolean')$$,
    'store, read and subscription functions: one of each name, argument names, defaults and result type');

SELECT has_function('eventstore', 'append', ARRAY['text', 'jsonb', 'bigint', 'text'], 'append(text, jsonb, bigint, text) exists');
SELECT has_function('eventstore', 'read_stream', ARRAY['text', 'bigint', 'bigint', 'boolean'],
                    'read_stream(text, bigint, bigint, boolean) exists');
SELECT has_function('eventstore', 'read_category', ARRAY['text', 'bigint', 'bigint'],
                    'read_category(text, bigint, bigint) exists');
SELECT has_function('eventstore', 'read_all', ARRAY['bigint', 'bigint'], 'read_all(bigint, bigint) exists');
SELECT has_function('eventstore', 'head', ARRAY[]::text[], 'head() exists');
SELECT has_function('eventstore', 'subscribe', ARRAY['text', 'text', 'bigint', 'bigint'],
                    'subscribe(text, text, bigint, bigint) exists');
SELECT has_function('eventstore', 'unsubscribe', ARRAY['text'], 'unsubscribe(text) exists');
SELECT has_function('eventstore', 'poll', ARRAY['text', 'bigint', 'bigint'], 'poll(text, bigint, bigint) exists');
SELECT has_function('eventstore', 'ack', ARRAY['text', 'bigint', 'bigint'], 'ack(text, bigint, bigint) exists');
SELECT has_function('eventstore', '_next_position', ARRAY[]::text[], '_next_position() exists');
SELECT has_function('eventstore', '_append_only', ARRAY[]::text[], '_append_only() exists');
SELECT hasnt_function('eventstore', '_prepare_install', ARRAY[]::text[],
                      '_prepare_install() was dropped by the install script');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p JOIN store_functions f ON f.oid = p.oid
       WHERE p.prolang <> (SELECT oid FROM pg_catalog.pg_language WHERE lanname = 'c')
          OR p.probin <> '$libdir/eventstore'$$,
    'each of them is C in $libdir/eventstore');
SELECT results_eq(
    $$SELECT p.proname::text COLLATE "default", p.provolatile::text, p.proparallel::text, p.proisstrict, p.proretset
        FROM pg_catalog.pg_proc p JOIN store_functions f ON f.oid = p.oid
       ORDER BY 1$$,
    $$VALUES ('_append_only', 'v', 'u', false, false), ('_next_position', 'v', 'u', false, false),
             ('ack', 'v', 'u', false, false), ('append', 'v', 'u', false, false),
             ('head', 'v', 'u', false, false), ('poll', 'v', 'u', false, true),
             ('read_all', 'v', 'u', false, true), ('read_category', 'v', 'u', false, true),
             ('read_stream', 's', 'u', false, true), ('subscribe', 'v', 'u', false, false),
             ('unsubscribe', 'v', 'u', false, false)$$,
    'volatility (read_stream STABLE, the rest VOLATILE), PARALLEL UNSAFE, not STRICT (NULLs raise 22004), set-returning reads');
SELECT volatility_is('eventstore', 'read_stream', ARRAY['text', 'bigint', 'bigint', 'boolean'], 'stable',
                     'read_stream is STABLE');
SELECT volatility_is('eventstore', 'read_all', ARRAY['bigint', 'bigint'], 'volatile',
                     'read_all is VOLATILE (each call takes the horizon, then a fresh snapshot)');
SELECT volatility_is('eventstore', 'read_category', ARRAY['text', 'bigint', 'bigint'], 'volatile',
                     'read_category is VOLATILE');
SELECT volatility_is('eventstore', 'head', ARRAY[]::text[], 'volatile', 'head is VOLATILE');
SELECT volatility_is('eventstore', 'append', ARRAY['text', 'jsonb', 'bigint', 'text'], 'volatile', 'append is VOLATILE');
SELECT volatility_is('eventstore', 'poll', ARRAY['text', 'bigint', 'bigint'], 'volatile', 'poll is VOLATILE');
SELECT volatility_is('eventstore', 'ack', ARRAY['text', 'bigint', 'bigint'], 'volatile', 'ack is VOLATILE');

-- SECURITY DEFINER with a fixed search_path on every function that runs SQL.
SELECT is_definer('eventstore', 'append', ARRAY['text', 'jsonb', 'bigint', 'text'], 'append is SECURITY DEFINER');
SELECT is_definer('eventstore', 'read_stream', ARRAY['text', 'bigint', 'bigint', 'boolean'], 'read_stream is SECURITY DEFINER');
SELECT is_definer('eventstore', 'read_category', ARRAY['text', 'bigint', 'bigint'], 'read_category is SECURITY DEFINER');
SELECT is_definer('eventstore', 'read_all', ARRAY['bigint', 'bigint'], 'read_all is SECURITY DEFINER');
SELECT is_definer('eventstore', 'head', ARRAY[]::text[], 'head is SECURITY DEFINER');
SELECT is_definer('eventstore', 'subscribe', ARRAY['text', 'text', 'bigint', 'bigint'], 'subscribe is SECURITY DEFINER');
SELECT is_definer('eventstore', 'unsubscribe', ARRAY['text'], 'unsubscribe is SECURITY DEFINER');
SELECT is_definer('eventstore', 'poll', ARRAY['text', 'bigint', 'bigint'], 'poll is SECURITY DEFINER');
SELECT is_definer('eventstore', 'ack', ARRAY['text', 'bigint', 'bigint'], 'ack is SECURITY DEFINER');
SELECT is_definer('eventstore', '_next_position', ARRAY[]::text[], '_next_position is SECURITY DEFINER');
-- The trigger function runs no SQL: it only raises KB207.
SELECT isnt_definer('eventstore', '_append_only', ARRAY[]::text[], '_append_only is SECURITY INVOKER');
SELECT results_eq(
    $$SELECT p.oid::regprocedure::text, p.proconfig COLLATE "default"
        FROM pg_catalog.pg_proc p JOIN store_functions f ON f.oid = p.oid
       WHERE p.prosecdef
       ORDER BY 1$$,
    $$SELECT f, ARRAY['search_path=pg_catalog, pg_temp']
        FROM unnest(ARRAY['eventstore._next_position()', 'eventstore.ack(text,bigint,bigint)',
                          'eventstore.append(text,jsonb,bigint,text)', 'eventstore.head()',
                          'eventstore.poll(text,bigint,bigint)', 'eventstore.read_all(bigint,bigint)',
                          'eventstore.read_category(text,bigint,bigint)',
                          'eventstore.read_stream(text,bigint,bigint,boolean)',
                          'eventstore.subscribe(text,text,bigint,bigint)', 'eventstore.unsubscribe(text)']) AS f
       ORDER BY 1$$,
    'all of them but the trigger are SECURITY DEFINER, each with proconfig {search_path=pg_catalog, pg_temp}');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'eventstore'::regnamespace AND p.prosecdef
         AND p.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp']$$,
    'no SECURITY DEFINER function of schema eventstore runs without search_path=pg_catalog, pg_temp');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'eventstore'::regnamespace AND p.prosecdef
         AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = p.proowner)$$,
    'every SECURITY DEFINER function is owned by a superuser (the extension is superuser-only)');
SELECT results_eq(
    $$SELECT p.oid::regprocedure::text, pg_catalog.obj_description(p.oid, 'pg_proc') IS NOT NULL
        FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'eventstore'::regnamespace AND p.proname IN ('append', 'head')
       ORDER BY 1$$,
    $$VALUES ('eventstore.append(text,jsonb,bigint,text)', true), ('eventstore.head()', true)$$,
    'append and head carry comments');

-------------------------------------------------------------------------------
-- Extension membership and pg_dump registration
-------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT c.relname::text COLLATE "default", cond COLLATE "default"
        FROM pg_catalog.pg_extension e,
             unnest(e.extconfig, e.extcondition) AS x(relid, cond)
        JOIN pg_catalog.pg_class c ON c.oid = x.relid
       WHERE e.extname = 'eventstore'
         AND c.relname IN ('events', 'subscriptions', 'subscription_checkpoints')
       ORDER BY 1$$,
    $$VALUES ('events', ''), ('subscription_checkpoints', ''), ('subscriptions', '')$$,
    'pg_dump keeps all rows of events, subscriptions and subscription_checkpoints (pg_extension_config_dump)');
SELECT is_empty(
    $$SELECT c.oid::regclass::text FROM pg_catalog.pg_class c
       WHERE c.relnamespace = 'eventstore'::regnamespace AND c.relkind IN ('r', 'v', 'S', 'c')
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                            AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e')
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t
                          JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_type'::regclass
                                                     AND d.objid = t.oid AND d.deptype = 'e'
                          WHERE t.typrelid = c.oid)$$,
    'every table, view and type of schema eventstore belongs to the extension');

SELECT * FROM finish();
ROLLBACK;
