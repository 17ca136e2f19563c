-- eventstore: projections and upcasters whose functions, roles or rights go
-- away, re-entrant definition changes, reserved subscription names, and
-- replays that must not depend on the session.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS eventstore;
DROP ROLE IF EXISTS es_safety_owner;
RESET client_min_messages;

-- An apply function created and used by a role that later loses things.
CREATE ROLE es_safety_owner;
GRANT USAGE ON SCHEMA eventstore TO es_safety_owner;
GRANT EXECUTE ON FUNCTION eventstore.create_projection(text, text, jsonb, regprocedure, text, bigint, jsonb)
   TO es_safety_owner;
CREATE FUNCTION public.safety_apply(state jsonb, e eventstore.event) RETURNS jsonb
LANGUAGE sql AS $$ SELECT state || jsonb_build_object('n', coalesce((state->>'n')::int, 0) + 1, 'by', current_user) $$;
ALTER FUNCTION public.safety_apply(jsonb, eventstore.event) OWNER TO es_safety_owner;
SET ROLE es_safety_owner;
SELECT eventstore.create_projection('safety_counts', 'safety', apply_function => 'public.safety_apply(jsonb, eventstore.event)');
RESET ROLE;
SELECT eventstore.append('safety-1', '[{"type": "A", "data": {}}]');
SELECT state FROM eventstore.projection_state WHERE projection = 'safety_counts';

-- The creator loses EXECUTE: folding stops with 42501, nothing appended.
REVOKE EXECUTE ON FUNCTION public.safety_apply(jsonb, eventstore.event) FROM PUBLIC, es_safety_owner;
SELECT pg_temp.try($$SELECT eventstore.append('safety-1', '[{"type": "A", "data": {}}]')$$);
GRANT EXECUTE ON FUNCTION public.safety_apply(jsonb, eventstore.event) TO es_safety_owner;
SELECT eventstore.append('safety-1', '[{"type": "A", "data": {}}]') AS appended_again;

-- The function is dropped: KB211 naming the projection, not "cache lookup failed".
ALTER FUNCTION public.safety_apply(jsonb, eventstore.event) OWNER TO CURRENT_USER;
DROP FUNCTION public.safety_apply(jsonb, eventstore.event);
SELECT pg_temp.try($$SELECT eventstore.append('safety-1', '[{"type": "A", "data": {}}]')$$);
SELECT pg_temp.try($$SELECT eventstore.rebuild('safety_counts')$$);
SELECT count(*) AS events FROM eventstore.events WHERE category = 'safety';

-- The creator role is dropped: KB211 as well.
SELECT eventstore.drop_projection('safety_counts');
CREATE FUNCTION public.safety_apply(state jsonb, e eventstore.event) RETURNS jsonb
LANGUAGE sql AS $$ SELECT state $$;
SET ROLE es_safety_owner;
SELECT eventstore.create_projection('safety_counts', 'safety', apply_function => 'public.safety_apply(jsonb, eventstore.event)');
RESET ROLE;
REVOKE ALL ON FUNCTION eventstore.create_projection(text, text, jsonb, regprocedure, text, bigint, jsonb) FROM es_safety_owner;
REVOKE ALL ON SCHEMA eventstore FROM es_safety_owner;
DROP ROLE es_safety_owner;
SELECT pg_temp.try($$SELECT eventstore.append('safety-1', '[{"type": "A", "data": {}}]')$$);
SELECT count(*) AS events FROM eventstore.events WHERE category = 'safety';
SELECT eventstore.drop_projection('safety_counts');
SELECT eventstore.append('safety-1', '[{"type": "A", "data": {}}]') AS appends_once_dropped;
DROP FUNCTION public.safety_apply(jsonb, eventstore.event);

-- Re-entrancy: an apply function that changes the definitions while it is
-- being folded (creates another projection) does not pull them from under
-- the fold.
CREATE FUNCTION public.reentrant_apply(state jsonb, e eventstore.event) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM eventstore.create_projection('reentrant_child_' || e.version, 'reentrant-other',
                                         reducer => '{"X": [{"set": "x", "value": 1}]}');
    RETURN state || jsonb_build_object('seen', e.version);
END $$;
SELECT eventstore.create_projection('reentrant', 'reentrant', apply_function => 'public.reentrant_apply(jsonb, eventstore.event)');
SELECT eventstore.append('reentrant-1', '[{"type": "A", "data": {}}, {"type": "A", "data": {}}]');
SELECT state FROM eventstore.projection_state WHERE projection = 'reentrant';
SELECT name FROM eventstore.projections WHERE name LIKE 'reentrant%' ORDER BY 1;
SELECT eventstore.drop_projection(name) FROM eventstore.projections WHERE name LIKE 'reentrant%' ORDER BY name;
-- An apply function that drops its own projection while it is folded: the
-- fold ends with KB211 naming it (not a foreign-key violation), the append
-- with it; the projection and the events stay as they were.
CREATE FUNCTION public.self_dropping_apply(state jsonb, e eventstore.event) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM eventstore.drop_projection('self_drop');
    RETURN state;
END $$;
SELECT eventstore.create_projection('self_drop', 'selfdrop', apply_function => 'public.self_dropping_apply(jsonb, eventstore.event)');
SELECT pg_temp.try($$SELECT eventstore.append('selfdrop-1', '[{"type": "A", "data": {}}]')$$);
SELECT (SELECT count(*) FROM eventstore.projections WHERE name = 'self_drop') AS projection_kept,
       (SELECT count(*) FROM eventstore.events WHERE stream_id = 'selfdrop-1') AS appended;
SELECT eventstore.drop_projection('self_drop');
DROP FUNCTION public.self_dropping_apply(jsonb, eventstore.event);

-- A reducer increment by a "value" that is not a number is a spec error.
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad_inc', 'x', reducer => '{"T": [{"increment": "n", "value": "1"}]}')$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad_inc', 'x', reducer => '{"T": [{"increment": "n", "value": null}]}')$$);

-- $created_at is ISO 8601 UTC, whatever the session's DateStyle and
-- TimeZone: an incremental fold and a rebuild agree.
SELECT eventstore.create_projection('tz_stamps', 'tzstamp', reducer => '{"S": [{"set": "at", "from": "$created_at"}]}');
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Tokyo';
SELECT eventstore.append('tzstamp-1', '[{"type": "S", "data": {}}]');
RESET DateStyle;
RESET TimeZone;
SELECT state AS incremental FROM eventstore.projection_state WHERE projection = 'tz_stamps' \gset
SELECT eventstore.rebuild('tz_stamps');
SELECT (SELECT state FROM eventstore.projection_state WHERE projection = 'tz_stamps') = :'incremental'::jsonb AS same_after_rebuild,
       (SELECT state->>'at' FROM eventstore.projection_state WHERE projection = 'tz_stamps') ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS iso_utc,
       (SELECT (state->>'at')::timestamptz = e.created_at FROM eventstore.projection_state, eventstore.events e
         WHERE projection = 'tz_stamps' AND e.stream_id = 'tzstamp-1') AS same_instant;
SELECT eventstore.drop_projection('tz_stamps');

-- Upcasters: the last schema version cannot be upcast further; a function
-- that returns something other than an object is KB211.
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('U', 2147483647, '[]')$$);
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('U', 2147483648, '[]')$$);
CREATE FUNCTION public.array_upcaster(data jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT '[1]'::jsonb $$;
SELECT eventstore.register_upcaster('ArrayUp', 1, function => 'public.array_upcaster(jsonb)');
SELECT eventstore.append('arrayup-1', '[{"type": "ArrayUp", "data": {"a": 1}}]');
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('arrayup-1')$$);
DELETE FROM eventstore.upcasters WHERE event_type = 'ArrayUp';
SELECT event_data FROM eventstore.read_stream('arrayup-1');

-- The subscriptions of async projections are reserved.
SELECT eventstore.create_projection('async_one', 'asyncone', reducer => '{"E": [{"increment": "n", "by": 1}]}', mode => 'async');
SELECT pg_temp.try($$SELECT eventstore.unsubscribe('projection:async_one')$$);
SELECT pg_temp.try($$SELECT eventstore.subscribe('projection:mine')$$);
-- An async projection's checkpoint reaches the head even when the newest
-- events belong to other categories.
SELECT eventstore.append('asyncone-1', '[{"type": "E", "data": {}}]');
SELECT eventstore.append('elsewhere-1', '[{"type": "E", "data": {}}, {"type": "E", "data": {}}]');
SELECT eventstore.run_projection('async_one') AS folded;
SELECT eventstore.run_projection('async_one') AS folded_again;
SELECT positions_behind FROM eventstore.projection_status WHERE name = 'async_one';
SELECT state FROM eventstore.projection_state WHERE projection = 'async_one';
SELECT eventstore.drop_projection('async_one');

-- The owner's own INSERT trigger on the events table (an outbox, say) runs:
-- append then writes through SQL instead of its direct path.
CREATE TABLE public.es_outbox (stream_id text, version bigint);
CREATE FUNCTION public.es_outbox_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.es_outbox VALUES (NEW.stream_id, NEW.version);
    RETURN NEW;
END $$;
CREATE TRIGGER es_outbox AFTER INSERT ON eventstore.events FOR EACH ROW EXECUTE FUNCTION public.es_outbox_copy();
SELECT eventstore.append('outbox-1', '[{"type": "A", "data": {}}, {"type": "B", "data": {}}]');
SELECT stream_id, version FROM public.es_outbox ORDER BY version;
DROP TRIGGER es_outbox ON eventstore.events;
SELECT eventstore.append('outbox-1', '[{"type": "C", "data": {}}]') AS direct_again;
SELECT count(*) AS outbox_rows, (SELECT count(*) FROM eventstore.events WHERE stream_id = 'outbox-1') AS events
  FROM public.es_outbox;
DROP TABLE public.es_outbox;
DROP FUNCTION public.es_outbox_copy();

-- Deep paths and deep values (docs/eventstore.md, "Reducer spec"): a path
-- has at most 64 keys, refused with KB210 at registration (a set path of
-- 200,000 keys once crashed the backend, and every later read of the type
-- with it); each of the 64 levels is read (17 and more read nothing once).
SELECT pg_temp.try(format($$SELECT eventstore.create_projection('deep_huge', 'deep', reducer => %L)$$,
    jsonb_build_object('D', jsonb_build_array(jsonb_build_object('set', repeat('a.', 199999) || 'a', 'value', 1))))) AS huge;
SELECT pg_temp.try(format($$SELECT eventstore.register_upcaster('D', 1, spec => %L)$$,
    jsonb_build_array(jsonb_build_object('set', repeat('a.', 199999) || 'a', 'value', 1)))) AS huge_upcaster;
SELECT pg_temp.try(format($$SELECT eventstore.create_projection('deep_65', 'deep', reducer => %L)$$,
    jsonb_build_object('D', jsonb_build_array(jsonb_build_object('set', 'v', 'from',
        (SELECT jsonb_agg('k'::text) FROM generate_series(1, 65)))))));
SELECT count(*) AS registered FROM eventstore.projections WHERE name LIKE 'deep%';
SELECT count(*) AS upcasters FROM eventstore.upcasters WHERE event_type = 'D';
SELECT eventstore.create_projection('deep_a', 'deep', reducer => '{"D": [{"set": "v", "from": "k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k"}]}');
SELECT eventstore.create_projection('deep_b', 'deep',
    reducer => '{"D": [{"set": "v", "from": "k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k"}, {"set": "all", "from": "$data"}]}');
SELECT eventstore.create_projection('deep_64', 'deep', reducer => jsonb_build_object('D', jsonb_build_array(
    jsonb_build_object('set', repeat('s.', 63) || 's', 'from', repeat('k.', 63) || 'k'))));
SELECT eventstore.append('deep-1', jsonb_build_array(jsonb_build_object('type', 'D',
    'data', (repeat('{"k":', 17) || '42' || repeat('}', 17))::jsonb)));
SELECT eventstore.append('deep-64', jsonb_build_array(jsonb_build_object('type', 'D',
    'data', (repeat('{"k":', 64) || '42' || repeat('}', 64))::jsonb)));
SELECT eventstore.state_at('deep-1', 1::bigint, 'deep_a') -> 'v' AS a_17_keys,
       eventstore.state_at('deep-1', 1::bigint, 'deep_b') -> 'v' AS b_17_keys,
       eventstore.state_at('deep-64', 1::bigint, 'deep_64') #> (SELECT array_agg('s'::text) FROM generate_series(1, 64)) AS set_64_from_64;
-- A value nested deeper than the server's stack allows in the fold:
-- 54001, as PostgreSQL's own checks say it, and nothing appended.
CREATE TEMP TABLE deep_events AS
SELECT jsonb_build_array(jsonb_build_object('type', 'D', 'data', (repeat('{"k":', 1500) || '42' || repeat('}', 1500))::jsonb)) AS ev;
BEGIN;
SET LOCAL max_stack_depth = '200kB';
SELECT pg_temp.try($$SELECT eventstore.append('deep-2', (SELECT ev FROM deep_events))$$);
ROLLBACK;
SELECT count(*) AS deep_2_events FROM eventstore.events WHERE stream_id = 'deep-2';
-- With the stack it needs, it folds.
SELECT eventstore.append('deep-2', (SELECT ev FROM deep_events));
SELECT jsonb_typeof(state -> 'all') AS folded FROM eventstore.projection_state WHERE projection = 'deep_b' AND stream_id = 'deep-2';
SELECT eventstore.drop_projection(p) FROM unnest(ARRAY['deep_a', 'deep_b', 'deep_64']) p;

-- Aggregates have a matching signature but cannot be called alone: refused
-- at registration (KB210), not on every later read or fold of the type.
CREATE FUNCTION public.es_agg_step(acc jsonb, state jsonb, e eventstore.event) RETURNS jsonb
LANGUAGE sql AS $$ SELECT coalesce(acc, state) $$;
CREATE AGGREGATE public.es_apply_agg(jsonb, eventstore.event) (sfunc = public.es_agg_step, stype = jsonb);
CREATE AGGREGATE public.es_upcast_agg(jsonb) (sfunc = pg_catalog.jsonb_concat, stype = jsonb);
SELECT pg_temp.try($$SELECT eventstore.create_projection('agg_apply', 'agg', apply_function => 'public.es_apply_agg(jsonb, eventstore.event)')$$);
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('AggUp', 1, function => 'public.es_upcast_agg(jsonb)')$$);
SELECT (SELECT count(*) FROM eventstore.projections WHERE name = 'agg_apply') AS projections,
       (SELECT count(*) FROM eventstore.upcasters WHERE event_type = 'AggUp') AS upcasters;
DROP AGGREGATE public.es_apply_agg(jsonb, eventstore.event);
DROP AGGREGATE public.es_upcast_agg(jsonb);
DROP FUNCTION public.es_agg_step(jsonb, jsonb, eventstore.event);
