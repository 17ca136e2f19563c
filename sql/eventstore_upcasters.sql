-- eventstore upcasters: schema versions rewritten on every read and replay,
-- never in the table. Declarative specs (move/rename, default, set, remove)
-- and functions, chains v1 -> v2 -> v3 -> v4, re-registering, every read
-- (read_stream, read_all, read_category, poll), projections folding old
-- events through the chain, the case study's price in cents -> money, and
-- every error path.
--
-- Global positions depend on what ran before in this database, so they are
-- shown relative to the head when this file starts (pos = position - base).
-- Generated event ids and timestamps are never printed. The upcasters of
-- this file concern event types no other test reads after it; they are
-- removed at the end (there is no unregister function: the owner deletes
-- the rows), with the projections.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS eventstore;
RESET client_min_messages;

SELECT eventstore.head() AS base \gset
CREATE FUNCTION pg_temp.try_short(stmt text) RETURNS text LANGUAGE sql
    AS $$SELECT split_part(pg_temp.try(stmt), E'\n  HINT: ', 1)$$;
-- What is stored (never changes) and what read_stream returns.
CREATE TEMP VIEW stored AS
SELECT position - :base AS pos, stream_id, version, event_type, schema_version, event_data
  FROM eventstore.events WHERE position > :base ORDER BY position;
CREATE TEMP VIEW upcasters AS
SELECT event_type, from_version, spec, function, owner = current_user::regrole AS owned_by_registrar
  FROM eventstore.upcasters WHERE event_type IN ('OrderCreated', 'ParcelSent', 'ParcelLost')
 ORDER BY event_type, from_version;

-------------------------------------------------------------------------------
-- Case study 5: OrderCreated v1 held the price in cents; v2 holds money
-- {amount, currency}, USD for every v1 event (v1 was single-currency).
-------------------------------------------------------------------------------
SELECT eventstore.append('purchase-1', $$[
    {"type": "OrderCreated", "data": {"price": 1999, "customer_id": 456, "legacy": "x"}},
    {"type": "ItemAdded", "data": {"product_id": 789, "quantity": 2}}
]$$, 0) AS version;
SELECT eventstore.append('purchase-2', $$[
    {"type": "OrderCreated", "data": {"money": {"amount": 500, "currency": "EUR"}, "customer_id": 7}, "schema_version": 2}
]$$, 0) AS version;
SELECT eventstore.append('purchase-3', '[{"type": "OrderCreated", "data": {"price": 250}}]', 0) AS version;
-- No upcaster yet: reads return what is stored.
SELECT stream_id, version, event_type, schema_version, event_data FROM eventstore.read_all(:base);

SELECT eventstore.register_upcaster('OrderCreated', 1,
    '[{"move": "price", "to": "money.amount"}, {"default": "money.currency", "value": "USD"}]');
SELECT * FROM upcasters;
-- Every read returns v2 for the v1 events; the v2 event is untouched (its
-- currency stays EUR); other types are untouched.
SELECT version, event_type, schema_version, event_data FROM eventstore.read_stream('purchase-1');
SELECT version, schema_version, event_data FROM eventstore.read_stream('purchase-1', backward => true);
SELECT stream_id, version, schema_version, event_data FROM eventstore.read_stream('purchase-3', 1, 1);
SELECT position - :base AS pos, stream_id, version, event_type, schema_version, event_data FROM eventstore.read_all(:base);
SELECT position - :base AS pos, stream_id, version, event_type, schema_version, event_data
  FROM eventstore.read_category('purchase', :base);
SELECT eventstore.subscribe('upcast_reader', 'purchase', start_after => :base);
SELECT member, position - :base AS pos, stream_id, event_type, schema_version, event_data
  FROM eventstore.poll('upcast_reader', 10);
-- The table keeps the stored data and schema versions.
SELECT * FROM stored;

-------------------------------------------------------------------------------
-- A chain v1 -> v2 -> v3 (spec) -> v4 (function). Each step starts from the
-- previous one's output: a v1 event goes through three steps, a v2 event
-- through two, a stored v3 event through one, a stored v4 event through none.
-- "from" paths of an upcaster read the data being rewritten (amount_copy is
-- the amount the v1 -> v2 step moved), and the function step sees it (a
-- stored v3 event has none: the function falls back to money.amount).
-- $type, $stream and $version are the event's.
-------------------------------------------------------------------------------
SELECT eventstore.register_upcaster('OrderCreated', 2, $$[
    {"rename": "customer_id", "to": "customer.id"},
    {"default": "customer.kind", "value": "person"},
    {"set": "amount_copy", "from": "money.amount"},
    {"set": "type", "from": "$type"},
    {"set": "stream", "from": "$stream"},
    {"set": "stream_version", "from": "$version"},
    {"remove": "legacy"}
]$$);
CREATE FUNCTION order_created_v3_to_v4(data jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
BEGIN
    RETURN (data - 'amount_copy')
        || jsonb_build_object('total_cents', coalesce(data ->> 'amount_copy', data #>> '{money,amount}')::bigint,
                              'label', format('%s %s', data #>> '{money,currency}', data #>> '{money,amount}'));
END
$fn$;
SELECT eventstore.register_upcaster('OrderCreated', 3, function => 'order_created_v3_to_v4(jsonb)');
SELECT * FROM upcasters;
SELECT eventstore.append('purchase-4', $$[
    {"type": "OrderCreated", "data": {"money": {"amount": 1, "currency": "JPY"}, "customer": {"id": 9}}, "schema_version": 3},
    {"type": "OrderCreated", "data": {"total_cents": 42, "label": "as stored"}, "schema_version": 4}
]$$, 0) AS version;
SELECT stream_id, version, schema_version, event_data FROM eventstore.read_category('purchase', :base)
 WHERE event_type = 'OrderCreated';
-- The stored rows are still v1, v2, v3 and v4 as appended.
SELECT * FROM stored WHERE event_type = 'OrderCreated';

-- A spec step after a function step reads the function's output.
SELECT eventstore.register_upcaster('OrderCreated', 4, '[{"move": "label", "to": "display.label"}]');
SELECT version, schema_version, event_data FROM eventstore.read_stream('purchase-4');
SELECT stream_id, schema_version, event_data ->> 'total_cents' AS total_cents, event_data -> 'display' AS display
  FROM eventstore.read_all(:base) WHERE event_type = 'OrderCreated';

-------------------------------------------------------------------------------
-- Re-registering (type, from_version) replaces the step: spec -> other
-- spec, spec -> function, function -> spec. One row per step.
-------------------------------------------------------------------------------
SELECT eventstore.register_upcaster('OrderCreated', 4, '[{"set": "replaced", "value": 1}]');
SELECT version, schema_version, event_data -> 'replaced' AS replaced, event_data ? 'display' AS has_display
  FROM eventstore.read_stream('purchase-4');
SELECT eventstore.register_upcaster('OrderCreated', 1,
    '[{"move": "price", "to": "money.amount"}, {"default": "money.currency", "value": "CHF"}]');
SELECT stream_id, schema_version, event_data -> 'money' AS money FROM eventstore.read_all(:base)
 WHERE event_type = 'OrderCreated' ORDER BY position;
CREATE FUNCTION order_created_v1_to_v2(data jsonb) RETURNS jsonb LANGUAGE sql
    AS $$SELECT (data - 'price') || jsonb_build_object('money', jsonb_build_object('amount', data -> 'price', 'currency', 'USD'))$$;
SELECT eventstore.register_upcaster('OrderCreated', 1, function => 'order_created_v1_to_v2(jsonb)');
SELECT * FROM upcasters WHERE from_version = 1;
SELECT stream_id, schema_version, event_data -> 'money' AS money FROM eventstore.read_all(:base)
 WHERE event_type = 'OrderCreated' ORDER BY position;
SELECT eventstore.register_upcaster('OrderCreated', 1,
    '[{"move": "price", "to": "money.amount"}, {"default": "money.currency", "value": "USD"}]');
SELECT eventstore.register_upcaster('OrderCreated', 4, '[]');
SELECT * FROM upcasters;
SELECT count(*) AS rows, count(DISTINCT (event_type, from_version)) AS steps FROM eventstore.upcasters
 WHERE event_type = 'OrderCreated';
-- An empty spec only moves the schema version on.
SELECT version, schema_version, event_data FROM eventstore.read_stream('purchase-4');

-------------------------------------------------------------------------------
-- Projections fold through the chain: a reducer written against the newest
-- shape (money, customer.id, total_cents) folds v1 events correctly, at
-- creation (catch-up), inline on append, in a rebuild and in state_at; an
-- apply function receives the upcast event (data and schema_version).
-------------------------------------------------------------------------------
SELECT eventstore.create_projection('purchase_totals', 'purchase', $${
    "OrderCreated": [
        {"set": "amount", "from": "money.amount"}, {"set": "currency", "from": "money.currency"},
        {"set": "customer", "from": "customer.id"}, {"increment": "cents", "from": "total_cents"},
        {"set": "legacy", "from": "legacy"}, {"set": "price", "from": "price"}],
    "ItemAdded": [{"increment": "items", "from": "quantity"}]
}$$) AS folded;
SELECT stream_id, state, version FROM eventstore.projection_state WHERE projection = 'purchase_totals' ORDER BY stream_id;
CREATE FUNCTION purchase_apply(state jsonb, e eventstore.event) RETURNS jsonb LANGUAGE sql AS $$
    SELECT state || jsonb_build_object('schemas', coalesce(state -> 'schemas', '[]') || to_jsonb(e.event_type || ' v' || e.schema_version))
                 || CASE WHEN e.event_data ? 'money' THEN jsonb_build_object('money', e.event_data -> 'money') ELSE '{}' END
$$;
SELECT eventstore.create_projection('purchase_schemas', 'purchase', apply_function => 'purchase_apply(jsonb, eventstore.event)',
                                    mode => 'async') AS folded;
SELECT stream_id, state, version FROM eventstore.projection_state WHERE projection = 'purchase_schemas' ORDER BY stream_id;
-- A v1 event appended now: folded inline through the chain; the async
-- projection folds it on its next run.
SELECT eventstore.append('purchase-5', $$[
    {"type": "OrderCreated", "data": {"price": 7500, "customer_id": 11}},
    {"type": "ItemAdded", "data": {"product_id": 1, "quantity": 3}}
]$$, 0) AS version;
SELECT state, version FROM eventstore.projection_state WHERE projection = 'purchase_totals' AND stream_id = 'purchase-5';
SELECT eventstore.run_projection('purchase_schemas') AS folded;
SELECT state, version FROM eventstore.projection_state WHERE projection = 'purchase_schemas' AND stream_id = 'purchase-5';
SELECT stream_id, version, schema_version, event_data FROM stored WHERE stream_id = 'purchase-5';
-- rebuild and state_at give the same states.
CREATE TEMP TABLE incremental AS SELECT * FROM eventstore.projection_state WHERE projection LIKE 'purchase%';
SELECT eventstore.rebuild('purchase_totals') AS folded, eventstore.rebuild('purchase_schemas') AS folded;
SELECT count(*) AS differing FROM (
    SELECT projection, stream_id, state, version, position FROM eventstore.projection_state WHERE projection LIKE 'purchase%'
    EXCEPT SELECT projection, stream_id, state, version, position FROM incremental) d;
SELECT p.projection, p.stream_id, eventstore.state_at(p.stream_id, p.version, p.projection) = p.state AS state_at_equals_stored
  FROM eventstore.projection_state p WHERE p.projection LIKE 'purchase%' ORDER BY 1, 2;
SELECT eventstore.state_at('purchase-1', 1, 'purchase_totals') AS v1_event_folded_as_newest_shape;

-- A new step applies to the next replay, not to the stored read model:
-- rebuild brings it in.
SELECT eventstore.register_upcaster('OrderCreated', 5, '[{"set": "total_cents", "value": 1}]');
SELECT stream_id, state ->> 'cents' AS cents FROM eventstore.projection_state WHERE projection = 'purchase_totals' ORDER BY stream_id;
SELECT eventstore.state_at('purchase-1', 2, 'purchase_totals') ->> 'cents' AS cents_on_replay;
SELECT eventstore.rebuild('purchase_totals') AS folded;
SELECT stream_id, state ->> 'cents' AS cents FROM eventstore.projection_state WHERE projection = 'purchase_totals' ORDER BY stream_id;
DELETE FROM eventstore.upcasters WHERE event_type = 'OrderCreated' AND from_version = 5;
SELECT eventstore.rebuild('purchase_totals') AS folded;

-------------------------------------------------------------------------------
-- Upcaster functions run as the role that registered them.
-------------------------------------------------------------------------------
CREATE ROLE regress_eventstore_upcaster_author;
GRANT EXECUTE ON FUNCTION eventstore.register_upcaster(text, bigint, jsonb, regprocedure)
    TO regress_eventstore_upcaster_author;
CREATE FUNCTION shipment_v1_to_v2(data jsonb) RETURNS jsonb LANGUAGE sql
    AS $$SELECT data || jsonb_build_object('upcast_by', current_user::text)$$;
REVOKE ALL ON FUNCTION shipment_v1_to_v2(jsonb) FROM PUBLIC;
SELECT eventstore.append('parcel-1', '[{"type": "ParcelSent", "data": {"carrier": "ups"}}]', 0) AS version;
SET ROLE regress_eventstore_upcaster_author;
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('ParcelSent', 1, function => 'shipment_v1_to_v2(jsonb)')$$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION shipment_v1_to_v2(jsonb) TO regress_eventstore_upcaster_author;
SET ROLE regress_eventstore_upcaster_author;
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('ParcelSent', 1, function => 'shipment_v1_to_v2(jsonb)')$$);
RESET ROLE;
SELECT event_type, from_version, function, owner::text AS owner FROM eventstore.upcasters WHERE event_type = 'ParcelSent';
-- Read by the superuser: the function ran as its registrar.
SELECT schema_version, event_data FROM eventstore.read_stream('parcel-1');

-------------------------------------------------------------------------------
-- Error paths: the upcasters stay as they were.
-------------------------------------------------------------------------------
CREATE TEMP TABLE before_errors AS SELECT * FROM eventstore.upcasters;
-- KB210: operations an upcaster does not support (the first with its hint),
-- malformed specs, both or neither of spec and function.
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('OrderCreated', 1, '[{"increment": "money.amount", "by": 1}]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.register_upcaster('OrderCreated', 1, '[{"append": "tags", "value": "v2"}]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.register_upcaster('OrderCreated', 1, '[{"merge": "money", "value": {"currency": "USD"}}]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.register_upcaster('OrderCreated', 1, '[{"default": "a", "value": 1}, {"increment": "b", "from": "c"}]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.register_upcaster('OrderCreated', 1, '{"move": "price", "to": "money.amount"}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.register_upcaster('OrderCreated', 1, '["move"]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.register_upcaster('OrderCreated', 1, '[{"move": "price"}]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.register_upcaster('OrderCreated', 1, '[{"move": "price", "to": ""}]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.register_upcaster('OrderCreated', 1, '[{"move": "price", "rename": "cost", "to": "x"}]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.register_upcaster('OrderCreated', 1, '[{"set": "a"}]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.register_upcaster('OrderCreated', 1, '[{"set": "a", "value": 1, "when": "always"}]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.register_upcaster('OrderCreated', 1, '[{"default": "a", "from": "$nope"}]')$$);
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('OrderCreated', 1)$$);
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('OrderCreated', 1, '[]', 'order_created_v1_to_v2(jsonb)')$$);
-- KB210: an upcaster function takes (jsonb) and returns jsonb.
CREATE FUNCTION up_text(data text) RETURNS jsonb LANGUAGE sql AS $$SELECT '{}'::jsonb$$;
CREATE FUNCTION up_returns_text(data jsonb) RETURNS text LANGUAGE sql AS $$SELECT '{}'$$;
CREATE FUNCTION up_two_args(data jsonb, v integer) RETURNS jsonb LANGUAGE sql AS $$SELECT data$$;
CREATE FUNCTION up_setof(data jsonb) RETURNS SETOF jsonb LANGUAGE sql AS $$SELECT data$$;
CREATE FUNCTION up_json(data json) RETURNS json LANGUAGE sql AS $$SELECT data$$;
SELECT f AS function, pg_temp.try(format($$SELECT eventstore.register_upcaster('OrderCreated', 1, function => %L)$$, f)) AS outcome
  FROM unnest(ARRAY['up_text(text)', 'up_returns_text(jsonb)', 'up_two_args(jsonb, integer)', 'up_setof(jsonb)',
                    'up_json(json)', 'purchase_apply(jsonb, eventstore.event)']) f;
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('OrderCreated', 1, function => 0::oid::regprocedure)$$);
-- 22023: from_version below 1, an empty or too long event type.
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('OrderCreated', 0, '[]')$$);
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('OrderCreated', -1, '[]')$$);
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('', 1, '[]')$$);
SELECT pg_temp.try($$SELECT eventstore.register_upcaster(repeat('T', 201), 1, '[]')$$);
-- 22004: NULL event type or from_version.
SELECT pg_temp.try($$SELECT eventstore.register_upcaster(NULL, 1, '[]')$$);
SELECT pg_temp.try($$SELECT eventstore.register_upcaster('OrderCreated', NULL, '[]')$$);
SELECT count(*) AS changed FROM (
    (SELECT event_type, from_version, spec, function, owner FROM eventstore.upcasters
     EXCEPT SELECT event_type, from_version, spec, function, owner FROM before_errors)
    UNION ALL
    (SELECT event_type, from_version, spec, function, owner FROM before_errors
     EXCEPT SELECT event_type, from_version, spec, function, owner FROM eventstore.upcasters)) d;

-- KB211: an upcaster function that returns NULL fails every read and
-- replay of the events it applies to (and only those); replacing it heals.
CREATE FUNCTION lost_v1_to_v2(data jsonb) RETURNS jsonb LANGUAGE sql AS $$SELECT NULL::jsonb$$;
SELECT eventstore.append('parcel-2', '[{"type": "ParcelLost", "data": {}}, {"type": "ParcelSent", "data": {}}]', 0) AS version;
SELECT eventstore.create_projection('parcel_log', 'parcel', '{"*": [{"append": "log", "from": "$type"}]}') AS folded;
SELECT eventstore.register_upcaster('ParcelLost', 1, function => 'lost_v1_to_v2(jsonb)');
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('parcel-2')$$);
SELECT pg_temp.try(format($$SELECT count(*) FROM eventstore.read_all(%s)$$, :base));
SELECT pg_temp.try(format($$SELECT count(*) FROM eventstore.read_category('parcel', %s)$$, :base));
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('parcel-1')$$);
SELECT pg_temp.try($$SELECT eventstore.rebuild('parcel_log')$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('parcel-2', 1)$$);
-- An append that an inline projection folds through the failing step is
-- refused (nothing stored).
SELECT pg_temp.try($$SELECT eventstore.append('parcel-3', '[{"type": "ParcelLost", "data": {}}]', 0)$$);
SELECT count(*) AS parcel_3_events FROM eventstore.events WHERE stream_id = 'parcel-3';
SELECT stream_id, state FROM eventstore.projection_state WHERE projection = 'parcel_log' ORDER BY stream_id;
-- An error raised inside an upcaster function reaches the caller as it is.
CREATE FUNCTION lost_raises(data jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'cannot upcast %', data USING ERRCODE = 'P0001', HINT = 'Fix the upcaster.';
END
$fn$;
SELECT eventstore.register_upcaster('ParcelLost', 1, function => 'lost_raises(jsonb)');
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('parcel-2')$$);
SELECT eventstore.register_upcaster('ParcelLost', 1, '[{"set": "found", "value": false}]');
SELECT version, event_type, schema_version, event_data FROM eventstore.read_stream('parcel-2');
SELECT eventstore.rebuild('parcel_log') AS folded;
SELECT stream_id, state FROM eventstore.projection_state WHERE projection = 'parcel_log' ORDER BY stream_id;

-------------------------------------------------------------------------------
-- Clean up: this file's projections, subscription, upcasters, role and
-- functions; events stay (stored exactly as appended).
-------------------------------------------------------------------------------
SELECT * FROM stored;
SELECT name, eventstore.drop_projection(name) AS dropped FROM eventstore.projections
 WHERE category IN ('purchase', 'parcel') ORDER BY name;
SELECT eventstore.unsubscribe('upcast_reader');
DELETE FROM eventstore.upcasters WHERE event_type IN ('OrderCreated', 'ParcelSent', 'ParcelLost');
SELECT stream_id, version, event_type, schema_version, event_data FROM eventstore.read_all(:base)
 WHERE stream_id = 'purchase-1';
REVOKE ALL ON FUNCTION eventstore.register_upcaster(text, bigint, jsonb, regprocedure)
    FROM regress_eventstore_upcaster_author;
REVOKE ALL ON FUNCTION shipment_v1_to_v2(jsonb) FROM regress_eventstore_upcaster_author;
DROP ROLE regress_eventstore_upcaster_author;
DROP FUNCTION order_created_v3_to_v4(jsonb), order_created_v1_to_v2(jsonb), purchase_apply(jsonb, eventstore.event),
    shipment_v1_to_v2(jsonb), up_text(text), up_returns_text(jsonb), up_two_args(jsonb, integer), up_setof(jsonb),
    up_json(json), lost_v1_to_v2(jsonb), lost_raises(jsonb);
