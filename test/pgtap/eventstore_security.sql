-- eventstore: privileges and attacks on the store, reads and subscriptions.
-- Roles are created inside the test transaction; every attack is an attempt
-- followed by a check that it failed.
--
-- The design: USAGE on schema eventstore is PUBLIC, nothing else is. The
-- owner grants EXECUTE on the functions a role needs; the SECURITY DEFINER
-- functions then work without any table privilege, with a fixed search_path
-- that a caller cannot subvert. Nobody, the owner included, can UPDATE,
-- DELETE or TRUNCATE the events (KB207), also in replica mode.
--
-- Everything here runs in one transaction: events appended in it are in
-- flight, so read_all, read_category and poll (which stop below in-flight
-- positions) are only checked for their privileges; read_stream sees the
-- transaction's own events.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS eventstore;

SELECT plan(72);

-------------------------------------------------------------------------------
-- A hostile search_path does not change what append stores or what
-- read_stream returns. This runs before any other eventstore call in this
-- backend, so the kept plans are prepared while the hostile path is set.
-------------------------------------------------------------------------------
CREATE SCHEMA tap_evil;
-- text = text is always true: a stream filter would match every stream.
CREATE FUNCTION tap_evil.text_always_eq(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR tap_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = tap_evil.text_always_eq);
-- uuid = uuid is never true: an idempotent retry would go unnoticed.
CREATE FUNCTION tap_evil.uuid_never_eq(uuid, uuid) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
CREATE OPERATOR tap_evil.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = tap_evil.uuid_never_eq);
-- bigint + bigint adds 1000: positions and versions would be shifted.
CREATE FUNCTION tap_evil.int8_plus_1000(bigint, bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
    AS 'SELECT $1 OPERATOR(pg_catalog.+) $2 OPERATOR(pg_catalog.+) 1000';
CREATE OPERATOR tap_evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = tap_evil.int8_plus_1000);
-- Set-returning functions an implementation might call.
CREATE FUNCTION tap_evil.unnest(text[]) RETURNS SETOF text LANGUAGE sql IMMUTABLE
    AS $$SELECT 'Hijacked'::pg_catalog.text FROM pg_catalog.unnest($1)$$;
CREATE FUNCTION tap_evil.jsonb_array_elements(jsonb) RETURNS SETOF jsonb LANGUAGE sql IMMUTABLE
    AS $$SELECT '{"type": "Hijacked", "data": {}}'::pg_catalog.jsonb$$;
CREATE FUNCTION tap_evil.hashtextextended(text, bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT 0::bigint';

-- pgTAP is not called while the hostile path is set (its own SQL would
-- resolve these operators too): outcomes are recorded, then checked.
CREATE TEMP TABLE hostile (step integer, what text, result text);
SET search_path = tap_evil, pg_catalog, public;
INSERT INTO hostile SELECT 1, 'text = is hijacked', ('a'::text = 'b'::text)::text;
INSERT INTO hostile SELECT 2, 'unnest is hijacked', (SELECT u FROM unnest(ARRAY['x']::text[]) u);
INSERT INTO hostile SELECT 3, 'append new stream',
    eventstore.append('tap-hostile-1', '[{"type": "Opened", "data": {"n": 1}}, {"type": "Noted", "data": {"n": 2}}]', 0)::text;
INSERT INTO hostile SELECT 4, 'append other stream',
    eventstore.append('tap-hostile-2', '[{"type": "Opened", "data": {}}]', 0)::text;
INSERT INTO hostile SELECT 5, 'append at version 2',
    eventstore.append('tap-hostile-1', '[{"type": "Closed", "data": {}}]', 2)::text;
INSERT INTO hostile SELECT 6, 'retry with a stored id',
    eventstore.append('tap-hostile-2', '[{"type": "Tagged", "data": {}, "id": "0190a5b0-0000-7000-8000-00000000e001"}]')::text;
INSERT INTO hostile SELECT 7, 'retry with a stored id',
    eventstore.append('tap-hostile-2', '[{"type": "Tagged", "data": {}, "id": "0190a5b0-0000-7000-8000-00000000e001"}]')::text;
INSERT INTO hostile SELECT 8, 'read_stream', string_agg(stream_id || ' v' || version || ' ' || event_type, ', ' ORDER BY version)
    FROM eventstore.read_stream('tap-hostile-1');
DO $$
BEGIN
    PERFORM eventstore.append('tap-hostile-1', '[{"type": "Late", "data": {}}]', 0);
    INSERT INTO hostile SELECT 9, 'wrong expected version', 'no error';
EXCEPTION WHEN OTHERS THEN
    INSERT INTO hostile SELECT 9, 'wrong expected version', SQLSTATE;
END
$$;
RESET search_path;

SELECT results_eq(
    $$SELECT step, result FROM hostile WHERE step <= 2 ORDER BY step$$,
    $$VALUES (1, 'true'), (2, 'Hijacked')$$,
    'the hostile schema is live for the session: text = is always true, unnest(text[]) is replaced');
SELECT results_eq(
    $$SELECT step, result FROM hostile WHERE step BETWEEN 3 AND 7 ORDER BY step$$,
    $$VALUES (3, '2'), (4, '1'), (5, '3'), (6, '2'), (7, '2')$$,
    'under the hostile search_path append returns the right versions, and a retried id its stored version');
SELECT results_eq(
    $$SELECT stream_id COLLATE "default", version, event_type COLLATE "default", event_data,
             category COLLATE "default" FROM eventstore.events
       WHERE stream_id LIKE 'tap-hostile-%' ORDER BY position$$,
    $$VALUES ('tap-hostile-1', 1::bigint, 'Opened', '{"n": 1}'::jsonb, 'tap'),
             ('tap-hostile-1', 2::bigint, 'Noted', '{"n": 2}'::jsonb, 'tap'),
             ('tap-hostile-2', 1::bigint, 'Opened', '{}'::jsonb, 'tap'),
             ('tap-hostile-1', 3::bigint, 'Closed', '{}'::jsonb, 'tap'),
             ('tap-hostile-2', 2::bigint, 'Tagged', '{}'::jsonb, 'tap')$$,
    'what append stored is exactly what was asked: types, data, versions, categories, nothing twice');
SELECT is((SELECT max(position) - min(position) FROM eventstore.events WHERE stream_id LIKE 'tap-hostile-%'),
          4::bigint, 'the five events have five consecutive positions (no shifted arithmetic)');
SELECT is((SELECT result FROM hostile WHERE step = 8),
          'tap-hostile-1 v1 Opened, tap-hostile-1 v2 Noted, tap-hostile-1 v3 Closed',
          'under the hostile search_path read_stream returns only its stream, in version order');
SELECT is((SELECT result FROM hostile WHERE step = 9), 'KB201',
          'under the hostile search_path a wrong expected version is still KB201');

-------------------------------------------------------------------------------
-- What PUBLIC is given, read from the catalog
-------------------------------------------------------------------------------
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text
        FROM pg_catalog.pg_proc p,
             pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
       WHERE p.pronamespace = 'eventstore'::regnamespace AND p.prokind = 'f'
         AND a.grantee = 0 AND a.privilege_type = 'EXECUTE'$$,
    'PUBLIC may execute no function of eventstore');
SELECT is_empty(
    $$SELECT c.relname, a.privilege_type
        FROM pg_catalog.pg_class c,
             pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))) a
       WHERE c.relnamespace = 'eventstore'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
         AND a.grantee = 0$$,
    'PUBLIC has no privilege on any table or view of eventstore');
SELECT results_eq(
    $$SELECT a.privilege_type
        FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
       WHERE n.nspname = 'eventstore' AND a.grantee = 0$$,
    $$VALUES ('USAGE')$$,
    'PUBLIC has USAGE on schema eventstore, not CREATE');

-------------------------------------------------------------------------------
-- As a plain role, without any grant
-------------------------------------------------------------------------------
CREATE ROLE eventstore_tap_intruder NOLOGIN;
DO $$
BEGIN
    PERFORM eventstore.subscribe('tap_security_sub');
    PERFORM eventstore.append('tap-secure-1', '[{"type": "Opened", "data": {}}]', 0);
END
$$;
CREATE TEMP TABLE before_attacks AS
SELECT (SELECT count(*) FROM eventstore.events) AS events,
       (SELECT string_agg(event_type || ':' || event_data::text, ',' ORDER BY position) FROM eventstore.events) AS content,
       (SELECT count(*) FROM eventstore.subscriptions) AS subscriptions,
       (SELECT string_agg(subscription || ':' || member || ':' || position, ',' ORDER BY subscription, member)
          FROM eventstore.subscription_checkpoints) AS checkpoints;

SET ROLE eventstore_tap_intruder;
SELECT is(current_user::text, 'eventstore_tap_intruder', 'now running as the plain role');

-- Functions.
SELECT throws_ok($$SELECT eventstore.append('tap-secure-1', '[{"type": "Forged", "data": {}}]')$$,
                 '42501', 'permission denied for function append', 'the role cannot append');
SELECT throws_ok($$SELECT * FROM eventstore.read_stream('tap-secure-1')$$,
                 '42501', 'permission denied for function read_stream', 'the role cannot read_stream');
SELECT throws_ok($$SELECT * FROM eventstore.read_category('tap')$$,
                 '42501', 'permission denied for function read_category', 'the role cannot read_category');
SELECT throws_ok($$SELECT * FROM eventstore.read_all()$$,
                 '42501', 'permission denied for function read_all', 'the role cannot read_all');
SELECT throws_ok($$SELECT eventstore.head()$$,
                 '42501', 'permission denied for function head', 'the role cannot call head');
SELECT throws_ok($$SELECT eventstore.subscribe('tap_intruder_sub')$$,
                 '42501', 'permission denied for function subscribe', 'the role cannot subscribe');
SELECT throws_ok($$SELECT eventstore.unsubscribe('tap_security_sub')$$,
                 '42501', 'permission denied for function unsubscribe', 'the role cannot unsubscribe');
SELECT throws_ok($$SELECT * FROM eventstore.poll('tap_security_sub')$$,
                 '42501', 'permission denied for function poll', 'the role cannot poll');
SELECT throws_ok($$SELECT eventstore.ack('tap_security_sub', 0)$$,
                 '42501', 'permission denied for function ack', 'the role cannot ack');
SELECT throws_ok($$SELECT eventstore._next_position()$$,
                 '42501', 'permission denied for function _next_position',
                 'the role cannot take positions (and so cannot hold readers back)');
SELECT throws_ok($$SELECT eventstore._append_only()$$,
                 '42501', 'permission denied for function _append_only', 'the role cannot call the trigger function');

-- Tables and the view: no read, no write.
SELECT throws_ok('SELECT * FROM eventstore.events', '42501', 'permission denied for table events',
                 'the role cannot read eventstore.events');
SELECT throws_ok('SELECT * FROM eventstore.subscriptions', '42501', 'permission denied for table subscriptions',
                 'the role cannot read eventstore.subscriptions');
SELECT throws_ok('SELECT * FROM eventstore.subscription_checkpoints', '42501',
                 'permission denied for table subscription_checkpoints',
                 'the role cannot read eventstore.subscription_checkpoints');
SELECT throws_ok('SELECT * FROM eventstore.subscription_status', '42501',
                 'permission denied for view subscription_status', 'the role cannot read eventstore.subscription_status');
SELECT throws_ok(
    $$INSERT INTO eventstore.events (position, stream_id, version, event_id, event_type, event_data, category)
      VALUES (1000000, 'tap-secure-1', 2, '0190a5b0-0000-7000-8000-00000000e002', 'Forged', '{}', 'tap')$$,
    '42501', 'permission denied for table events', 'the role cannot INSERT into events (not even with its own position)');
SELECT throws_ok($$UPDATE eventstore.events SET event_data = '{"forged": true}'$$, '42501',
                 'permission denied for table events', 'the role cannot UPDATE events');
SELECT throws_ok('DELETE FROM eventstore.events', '42501', 'permission denied for table events',
                 'the role cannot DELETE FROM events');
SELECT throws_ok('TRUNCATE eventstore.events', '42501', 'permission denied for table events',
                 'the role cannot TRUNCATE events');
SELECT throws_ok($$INSERT INTO eventstore.subscriptions (name, members) VALUES ('tap_forged', 1)$$, '42501',
                 'permission denied for table subscriptions', 'the role cannot INSERT into subscriptions');
SELECT throws_ok($$UPDATE eventstore.subscription_checkpoints SET position = 1000000$$, '42501',
                 'permission denied for table subscription_checkpoints',
                 'the role cannot move a checkpoint (skip events for a consumer)');
SELECT throws_ok($$DELETE FROM eventstore.subscription_checkpoints$$, '42501',
                 'permission denied for table subscription_checkpoints',
                 'the role cannot delete checkpoints (replay everything for a consumer)');
SELECT throws_ok('DELETE FROM eventstore.subscriptions', '42501', 'permission denied for table subscriptions',
                 'the role cannot delete subscriptions');
-- The schema: no new objects, no replica mode to dodge triggers.
SELECT throws_ok('CREATE TABLE eventstore.tap_intruder (x int)', '42501', 'permission denied for schema eventstore',
                 'the role cannot create a table in schema eventstore');
SELECT throws_ok($$CREATE FUNCTION eventstore.head(integer) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint'$$,
                 '42501', 'permission denied for schema eventstore',
                 'the role cannot add a function (an overload) to schema eventstore');
SELECT throws_ok('SET session_replication_role = replica', '42501',
                 'permission denied to set parameter "session_replication_role"',
                 'the role cannot switch to replica mode');
SELECT throws_ok('ALTER TABLE eventstore.events DISABLE TRIGGER events_append_only', '42501',
                 'must be owner of table events', 'the role cannot disable the append-only trigger');
SELECT throws_ok('DROP TABLE eventstore.events', '42501', 'must be owner of table events',
                 'the role cannot drop the events table');
RESET ROLE;

SELECT is(current_user::text, session_user::text, 'back to the owner');
SELECT results_eq(
    $$SELECT (SELECT count(*) FROM eventstore.events),
             (SELECT string_agg(event_type || ':' || event_data::text, ',' ORDER BY position) FROM eventstore.events),
             (SELECT count(*) FROM eventstore.subscriptions),
             (SELECT string_agg(subscription || ':' || member || ':' || position, ',' ORDER BY subscription, member)
                FROM eventstore.subscription_checkpoints)$$,
    $$SELECT events, content, subscriptions, checkpoints FROM before_attacks$$,
    'after the attacks: the same events, subscriptions and checkpoints');

-------------------------------------------------------------------------------
-- The owner cannot rewrite history either: KB207, also in replica mode
-------------------------------------------------------------------------------
SELECT throws_ok($$UPDATE eventstore.events SET event_data = '{"rewritten": true}' WHERE stream_id = 'tap-secure-1'$$,
                 'KB207', 'UPDATE on eventstore.events is not allowed', 'the owner cannot UPDATE events');
SELECT throws_ok($$DELETE FROM eventstore.events WHERE stream_id = 'tap-secure-1'$$,
                 'KB207', 'DELETE on eventstore.events is not allowed', 'the owner cannot DELETE events');
SELECT throws_ok('TRUNCATE eventstore.events', 'KB207', 'TRUNCATE on eventstore.events is not allowed',
                 'the owner cannot TRUNCATE events');
SELECT throws_ok($$INSERT INTO eventstore.events (stream_id, version, event_id, event_type, event_data, category)
                   SELECT stream_id, version, event_id, 'Rewritten', '{}', category FROM eventstore.events
                    WHERE stream_id = 'tap-secure-1'
                   ON CONFLICT (event_id) DO UPDATE SET event_type = 'Rewritten'$$,
                 'KB207', 'UPDATE on eventstore.events is not allowed',
                 'the owner cannot rewrite events through INSERT ... ON CONFLICT DO UPDATE');
SELECT throws_ok($$MERGE INTO eventstore.events e USING (VALUES ('tap-secure-1')) v(s) ON e.stream_id = v.s
                   WHEN MATCHED THEN DELETE$$,
                 'KB207', 'DELETE on eventstore.events is not allowed', 'the owner cannot delete events through MERGE');
SET session_replication_role = replica;
SELECT is(current_setting('session_replication_role'), 'replica', 'the owner is in replica mode');
SELECT throws_ok($$UPDATE eventstore.events SET event_data = '{"rewritten": true}' WHERE stream_id = 'tap-secure-1'$$,
                 'KB207', 'UPDATE on eventstore.events is not allowed', 'in replica mode the owner cannot UPDATE events');
SELECT throws_ok($$DELETE FROM eventstore.events WHERE stream_id = 'tap-secure-1'$$,
                 'KB207', 'DELETE on eventstore.events is not allowed', 'in replica mode the owner cannot DELETE events');
SELECT throws_ok('TRUNCATE eventstore.events', 'KB207', 'TRUNCATE on eventstore.events is not allowed',
                 'in replica mode the owner cannot TRUNCATE events');
RESET session_replication_role;
SELECT results_eq(
    $$SELECT (SELECT count(*) FROM eventstore.events),
             (SELECT string_agg(event_type || ':' || event_data::text, ',' ORDER BY position) FROM eventstore.events)$$,
    $$SELECT events, content FROM before_attacks$$,
    'after the owner''s attempts: the same events');

-------------------------------------------------------------------------------
-- Grants on functions are enough: a writer appends without any table
-- privilege; a reader and a consumer likewise.
-------------------------------------------------------------------------------
CREATE ROLE eventstore_tap_writer NOLOGIN;
CREATE ROLE eventstore_tap_reader NOLOGIN;
CREATE ROLE eventstore_tap_consumer NOLOGIN;
GRANT EXECUTE ON FUNCTION eventstore.append(text, jsonb, bigint, text) TO eventstore_tap_writer;
GRANT EXECUTE ON FUNCTION eventstore.read_stream(text, bigint, bigint, boolean),
                          eventstore.read_category(text, bigint, bigint),
                          eventstore.read_all(bigint, bigint), eventstore.head() TO eventstore_tap_reader;
GRANT EXECUTE ON FUNCTION eventstore.poll(text, bigint, bigint),
                          eventstore.ack(text, bigint, bigint) TO eventstore_tap_consumer;
SELECT ok(NOT has_table_privilege('eventstore_tap_writer', 'eventstore.events', 'INSERT'),
          'the writer has no INSERT privilege on events');

SET ROLE eventstore_tap_writer;
SELECT is(eventstore.append('tap-secure-1', '[{"type": "Noted", "data": {"by": "writer"}}]', 1), 2::bigint,
          'the writer appends through append() without table privileges');
SELECT is(eventstore.append('tap-secure-2', '[{"type": "Opened", "data": {}}]', 0, 'tap'), 1::bigint,
          'the writer creates a stream with an explicit category');
SELECT throws_ok($$SELECT eventstore.append('tap-secure-1', '[{"type": "Late", "data": {}}]', 1)$$,
                 'KB201', 'stream "tap-secure-1" is at version 2, expected 1',
                 'the writer gets KB201 like anyone else');
SELECT throws_ok('SELECT * FROM eventstore.events', '42501', 'permission denied for table events',
                 'the writer still cannot read the table');
SELECT throws_ok($$SELECT * FROM eventstore.read_stream('tap-secure-1')$$, '42501',
                 'permission denied for function read_stream', 'the writer cannot read streams (no grant)');
SELECT throws_ok($$UPDATE eventstore.events SET event_type = 'Forged'$$, '42501', 'permission denied for table events',
                 'the writer cannot UPDATE events');
SELECT throws_ok($$SELECT * FROM eventstore.poll('tap_security_sub')$$, '42501', 'permission denied for function poll',
                 'the writer cannot poll (no grant)');
RESET ROLE;

SELECT results_eq(
    $$SELECT stream_id COLLATE "default", version, event_type COLLATE "default", event_data FROM eventstore.events
       WHERE stream_id LIKE 'tap-secure-%' ORDER BY position$$,
    $$VALUES ('tap-secure-1', 1::bigint, 'Opened', '{}'::jsonb),
             ('tap-secure-1', 2::bigint, 'Noted', '{"by": "writer"}'::jsonb),
             ('tap-secure-2', 1::bigint, 'Opened', '{}'::jsonb)$$,
    'the writer''s events are stored');

SET ROLE eventstore_tap_reader;
SELECT results_eq(
    $$SELECT version, event_type FROM eventstore.read_stream('tap-secure-1')$$,
    $$VALUES (1::bigint, 'Opened'), (2::bigint, 'Noted')$$,
    'the reader reads a stream through read_stream() without table privileges');
SELECT lives_ok($$SELECT * FROM eventstore.read_all(0, 10)$$, 'the reader may call read_all');
SELECT lives_ok($$SELECT * FROM eventstore.read_category('tap', 0, 10)$$, 'the reader may call read_category');
SELECT lives_ok($$SELECT eventstore.head()$$, 'the reader may call head');
SELECT throws_ok('SELECT * FROM eventstore.events', '42501', 'permission denied for table events',
                 'the reader still cannot read the table');
SELECT throws_ok($$SELECT eventstore.append('tap-secure-1', '[{"type": "Forged", "data": {}}]')$$, '42501',
                 'permission denied for function append', 'the reader cannot append');
RESET ROLE;

SET ROLE eventstore_tap_consumer;
SELECT lives_ok($$SELECT * FROM eventstore.poll('tap_security_sub', 10)$$,
                'the consumer polls without table privileges');
SELECT is(eventstore.ack('tap_security_sub', 0), 0::bigint, 'the consumer acks without table privileges');
SELECT throws_ok($$SELECT eventstore.subscribe('tap_consumer_sub')$$, '42501',
                 'permission denied for function subscribe', 'the consumer cannot create subscriptions');
SELECT throws_ok($$SELECT eventstore.unsubscribe('tap_security_sub')$$, '42501',
                 'permission denied for function unsubscribe', 'the consumer cannot drop subscriptions');
SELECT throws_ok('SELECT * FROM eventstore.subscription_checkpoints', '42501',
                 'permission denied for table subscription_checkpoints', 'the consumer cannot read checkpoints directly');
SELECT throws_ok($$SELECT eventstore.append('tap-secure-1', '[{"type": "Forged", "data": {}}]')$$, '42501',
                 'permission denied for function append', 'the consumer cannot append');
RESET ROLE;
SELECT is((SELECT count(*) FROM eventstore.subscriptions WHERE name = 'tap_security_sub'), 1::bigint,
          'the subscription is still there');

SELECT * FROM finish();
ROLLBACK;
