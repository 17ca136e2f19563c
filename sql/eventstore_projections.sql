-- eventstore projections: the declarative reducer of case study 5 (orders),
-- inline folding on every append, catch-up when a projection is created
-- after its events, apply functions, async projections run from their
-- checkpoint, rebuild (all streams or one), snapshots, state_at by version
-- and by time, drop_projection, and every error path.
--
-- Global positions depend on what ran before in this database, so they are
-- shown relative to the head when this file starts (pos = position - base).
-- Generated event ids and timestamps are never printed. Every projection of
-- this file folds categories no other test uses, and is dropped at the end.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS eventstore;
RESET client_min_messages;

SELECT eventstore.head() AS base \gset
-- The KB210 hint (the list of operation shapes) is shown once in full; later
-- KB210 cases print SQLSTATE, message and DETAIL only.
CREATE FUNCTION pg_temp.try_short(stmt text) RETURNS text LANGUAGE sql
    AS $$SELECT split_part(pg_temp.try(stmt), E'\n  HINT: ', 1)$$;
-- Every state row and snapshot of this file, positions relative to base.
CREATE TEMP VIEW states AS
SELECT projection, stream_id, state, version, position - :base AS pos
  FROM eventstore.projection_state ORDER BY projection, stream_id;
CREATE TEMP VIEW snaps AS
SELECT projection, stream_id, version, position - :base AS pos, state
  FROM eventstore.snapshots ORDER BY projection, stream_id, version;
-- After a failed call: nothing changed (definitions, states, snapshots,
-- subscriptions, events).
CREATE TEMP VIEW store_state AS
SELECT (SELECT count(*) FROM eventstore.projections) AS projections,
       (SELECT count(*) FROM eventstore.projection_state) AS states,
       (SELECT md5(coalesce(string_agg(projection || stream_id || state::text || version, ',' ORDER BY projection, stream_id), ''))
          FROM eventstore.projection_state) AS states_md5,
       (SELECT count(*) FROM eventstore.snapshots) AS snapshots,
       (SELECT count(*) FROM eventstore.subscriptions) AS subscriptions,
       (SELECT count(*) FROM eventstore.events WHERE position > :base) AS events;

-------------------------------------------------------------------------------
-- The order reducer (case study 5): OrderCreated, ItemAdded, ItemRemoved
-- (remove with where), OrderSubmitted, AddressChanged (merge); "*" runs
-- after each type's own operations and sets version from $version.
-------------------------------------------------------------------------------
SELECT eventstore.create_projection('sale_orders', 'sale', $${
    "OrderCreated": [
        {"set": "customer_id", "from": "customer_id"},
        {"set": "items", "from": "items"},
        {"set": "status", "value": "pending"},
        {"default": "total", "value": 0}],
    "ItemAdded": [
        {"append": "items", "from": "$data"},
        {"increment": "total", "from": "line_total"},
        {"increment": "item_count", "from": "quantity"}],
    "ItemRemoved": [
        {"remove": "items", "where": {"product_id": "product_id"}},
        {"increment": "total", "from": "line_total"},
        {"increment": "item_count", "from": "quantity"}],
    "OrderSubmitted": [
        {"set": "status", "value": "submitted"},
        {"set": "submitted_at", "from": "submitted_at"},
        {"set": "version", "value": "overwritten by the * rule"}],
    "AddressChanged": [
        {"merge": "shipping", "from": "address"},
        {"remove": "shipping.note"}],
    "*": [
        {"set": "version", "from": "$version"},
        {"set": "last_event", "from": "$type"}]
}$$) AS folded;
-- No event of category sale exists yet: nothing folded, no state.
SELECT name, category, mode, snapshot_every, initial_state, reducer IS NOT NULL AS has_reducer,
       apply_function, owner = current_user::regrole AS owned_by_creator
  FROM eventstore.projections WHERE name = 'sale_orders';
SELECT * FROM states;

-- Inline: every append folds its events in the append's transaction.
SELECT eventstore.append('sale-123', '[{"type": "OrderCreated", "data": {"customer_id": 456, "items": []}}]', 0) AS version;
SELECT stream_id, state, version, pos FROM states;
SELECT eventstore.append('sale-123', '[{"type": "ItemAdded", "data": {"product_id": 789, "quantity": 2, "line_total": 19.98}}]') AS version;
SELECT state FROM states WHERE stream_id = 'sale-123';
-- A batch folds each of its events, in order.
SELECT eventstore.append('sale-123', $$[
    {"type": "ItemAdded", "data": {"product_id": 790, "quantity": 1, "line_total": 0.01}},
    {"type": "ItemAdded", "data": {"product_id": 791, "quantity": 3, "line_total": 30.00}}
]$$) AS version;
SELECT state, version FROM states WHERE stream_id = 'sale-123';
-- remove with where drops the matching element; the negative line total
-- and quantity are subtracted exactly.
SELECT eventstore.append('sale-123', '[{"type": "ItemRemoved", "data": {"product_id": 789, "quantity": -2, "line_total": -19.98}}]') AS version;
SELECT state, version FROM states WHERE stream_id = 'sale-123';
-- merge into a nested object, then remove a key from it.
SELECT eventstore.append('sale-123', $$[
    {"type": "AddressChanged", "data": {"address": {"city": "Lyon", "zip": "69001", "note": "ring twice"}}},
    {"type": "AddressChanged", "data": {"address": {"zip": "69002"}}}
]$$) AS version;
SELECT state -> 'shipping' AS shipping, state -> 'version' AS version FROM states WHERE stream_id = 'sale-123';
-- OrderSubmitted sets version to a string first: the * rule runs after it.
SELECT eventstore.append('sale-123', '[{"type": "OrderSubmitted", "data": {"submitted_at": "2024-01-15T10:30:00Z"}}]') AS version;
SELECT state, version, pos FROM states WHERE stream_id = 'sale-123';
-- A type the reducer does not name gets the * rule only; a source path the
-- event lacks is skipped (no line_total: the total is unchanged).
SELECT eventstore.append('sale-123', $$[
    {"type": "NoteAdded", "data": {"text": "gift"}},
    {"type": "ItemAdded", "data": {"product_id": 792, "quantity": 1}}
]$$) AS version;
SELECT state ->> 'last_event' AS last_event, state -> 'version' AS version, state -> 'total' AS total,
       state -> 'item_count' AS item_count, jsonb_array_length(state -> 'items') AS items
  FROM states WHERE stream_id = 'sale-123';
-- remove with where drops every matching element.
SELECT eventstore.append('sale-124', $$[
    {"type": "OrderCreated", "data": {"customer_id": 7, "items": [{"product_id": 1}, {"product_id": 2}]}},
    {"type": "ItemAdded", "data": {"product_id": 1, "quantity": 1, "line_total": 1}},
    {"type": "ItemRemoved", "data": {"product_id": 1, "quantity": -2, "line_total": -1}}
]$$, 0) AS version;
SELECT stream_id, state, version FROM states WHERE stream_id = 'sale-124';

-- Increments are exact decimals (no binary floating point), also beyond 64
-- bits; PostgreSQL's numeric sum of the same values is the oracle.
SELECT eventstore.append('sale-200', '[{"type": "OrderCreated", "data": {"customer_id": 1, "items": []}}]', 0) AS version;
SELECT eventstore.append('sale-200', $$[
    {"type": "ItemAdded", "data": {"product_id": 1, "quantity": 1, "line_total": 0.1}},
    {"type": "ItemAdded", "data": {"product_id": 2, "quantity": 1, "line_total": 0.2}}
]$$) AS version;
SELECT state -> 'total' AS total_after_0_1_plus_0_2 FROM states WHERE stream_id = 'sale-200';
SELECT eventstore.append('sale-200', $$[
    {"type": "ItemAdded", "data": {"product_id": 3, "quantity": 1, "line_total": 19.99}},
    {"type": "ItemAdded", "data": {"product_id": 3, "quantity": 1, "line_total": 19.99}},
    {"type": "ItemAdded", "data": {"product_id": 3, "quantity": 1, "line_total": 19.99}}
]$$) AS version;
SELECT state -> 'total' AS total_after_three_times_19_99 FROM states WHERE stream_id = 'sale-200';
SELECT eventstore.append('sale-200', $$[
    {"type": "ItemAdded", "data": {"product_id": 4, "quantity": 1, "line_total": 999999999999999999}},
    {"type": "ItemAdded", "data": {"product_id": 5, "quantity": 1, "line_total": 0.0000000000000000001}},
    {"type": "ItemAdded", "data": {"product_id": 6, "quantity": 1, "line_total": 12345678901234567890.5}}
]$$) AS version;
SELECT state -> 'total' AS total_beyond_64_bits FROM states WHERE stream_id = 'sale-200';
SELECT eventstore.append('sale-200', $$[
    {"type": "ItemRemoved", "data": {"product_id": 6, "quantity": -1, "line_total": -12345678901234567890.5}},
    {"type": "ItemRemoved", "data": {"product_id": 5, "quantity": -1, "line_total": -0.0000000000000000001}},
    {"type": "ItemRemoved", "data": {"product_id": 4, "quantity": -1, "line_total": -999999999999999999}},
    {"type": "ItemRemoved", "data": {"product_id": 3, "quantity": -3, "line_total": -60}}
]$$) AS version;
SELECT state -> 'total' AS total_back_below_zero, state -> 'item_count' AS item_count FROM states WHERE stream_id = 'sale-200';
SELECT s.stream_id, (s.state ->> 'total')::numeric AS reducer_total, sum((e.event_data ->> 'line_total')::numeric) AS numeric_sum,
       (s.state ->> 'total')::numeric = sum((e.event_data ->> 'line_total')::numeric) AS exact
  FROM states s JOIN eventstore.events e ON e.stream_id = s.stream_id AND e.event_type IN ('ItemAdded', 'ItemRemoved')
 WHERE s.projection = 'sale_orders'
 GROUP BY s.stream_id, s.state ORDER BY s.stream_id;

-- remove with where on two keys, one read at a nested event path (the rule
-- that also reads $data works on the whole event data, the other on the
-- paths it reads); increments create nested targets and replace a null.
SELECT eventstore.create_projection('line_items', 'line', $${
    "Added": [{"append": "items", "from": "$data"}, {"increment": "totals.gross", "from": "amount"}],
    "Removed": [{"remove": "items", "where": {"sku": "sku", "size": "size.code"}}, {"set": "last_removed", "from": "$data"}],
    "RemovedBySku": [{"remove": "items", "where": {"sku": "sku"}}],
    "*": [{"increment": "count", "by": 1}]
}$$, initial_state => '{"count": null}') AS folded;
SELECT eventstore.append('line-1', $$[
    {"type": "Added", "data": {"sku": "A", "size": "M", "amount": 1}},
    {"type": "Added", "data": {"sku": "A", "size": "L", "amount": 2.5}},
    {"type": "Added", "data": {"sku": "B", "size": "M", "amount": 4}},
    {"type": "Removed", "data": {"sku": "A", "size": {"code": "M"}}}
]$$, 0) AS version;
SELECT state FROM states WHERE projection = 'line_items';
SELECT eventstore.append('line-1', '[{"type": "RemovedBySku", "data": {"sku": "A"}}]') AS version;
SELECT state FROM states WHERE projection = 'line_items';

-- The other sources: $data, $stream, $position, $created_at (its text is
-- compared as a timestamp, never printed).
SELECT eventstore.create_projection('sale_sources', 'sale', $${
    "*": [{"set": "data", "from": "$data"}, {"set": "stream", "from": "$stream"},
          {"set": "position", "from": "$position"}, {"set": "created_at", "from": "$created_at"},
          {"set": "type", "from": "$type"}, {"set": "nested", "from": ["text"]}]
}$$) AS folded;
SELECT s.stream_id, s.state - 'created_at' - 'position' AS state,
       (s.state ->> 'position')::bigint = e.position AS position_is_the_events,
       (s.state ->> 'created_at')::timestamptz = e.created_at AS created_at_is_the_events
  FROM states s JOIN eventstore.events e ON e.stream_id = s.stream_id AND e.version = s.version
 WHERE s.projection = 'sale_sources' ORDER BY s.stream_id;

-------------------------------------------------------------------------------
-- Catch-up: a projection created after its events builds every stream of its
-- category and returns the number of events folded.
-------------------------------------------------------------------------------
SELECT count(*) AS sale_events FROM eventstore.events WHERE category = 'sale';
SELECT eventstore.create_projection('sale_status', 'sale', $${
    "OrderCreated": [{"set": "status", "value": "pending"}],
    "OrderSubmitted": [{"set": "status", "value": "submitted"}],
    "*": [{"increment": "events", "by": 1}]
}$$, initial_state => '{"status": "none", "events": 0}') AS folded;
SELECT stream_id, state, version, pos FROM states WHERE projection = 'sale_status';
-- ... and folds later appends like any inline projection.
SELECT eventstore.append('sale-124', '[{"type": "OrderSubmitted", "data": {}}]') AS version;
SELECT projection, state ->> 'status' AS status, version FROM states WHERE stream_id = 'sale-124';

-------------------------------------------------------------------------------
-- rebuild: all streams, or one; the result is the incremental state.
-------------------------------------------------------------------------------
CREATE TEMP TABLE incremental AS SELECT * FROM eventstore.projection_state WHERE projection = 'sale_orders';
-- Damage the read model: rebuild repairs it.
UPDATE eventstore.projection_state SET state = '{"damaged": true}', version = 0 WHERE projection = 'sale_orders';
SELECT eventstore.rebuild('sale_orders') AS folded;
SELECT count(*) AS sale_events FROM eventstore.events WHERE category = 'sale';
SELECT stream_id, p.state = i.state AS same_state, p.version = i.version AS same_version, p.position = i.position AS same_position
  FROM eventstore.projection_state p JOIN incremental i USING (projection, stream_id) ORDER BY stream_id;
SELECT count(*) AS states FROM eventstore.projection_state WHERE projection = 'sale_orders';
UPDATE eventstore.projection_state SET state = '{"damaged": true}' WHERE projection = 'sale_orders';
SELECT eventstore.rebuild('sale_orders', 'sale-123') AS folded;
SELECT stream_id, p.state = i.state AS same_state, p.version = i.version AS same_version, p.state = '{"damaged": true}' AS damaged
  FROM eventstore.projection_state p JOIN incremental i USING (projection, stream_id) ORDER BY stream_id;
SELECT eventstore.rebuild('sale_orders', 'sale-124') AS folded, eventstore.rebuild('sale_orders', 'sale-200') AS folded;
SELECT count(*) AS differing FROM (
    SELECT stream_id, state, version, position FROM eventstore.projection_state WHERE projection = 'sale_orders'
    EXCEPT SELECT stream_id, state, version, position FROM incremental) d;
-- A stream with no event yet: nothing to fold.
SELECT eventstore.rebuild('sale_orders', 'sale-999') AS folded;
SELECT count(*) AS states FROM states WHERE stream_id = 'sale-999';

-- A rebuild in the transaction that appended: its own events are part of
-- the result (the transaction commits them together).
BEGIN;
SELECT eventstore.append('sale-300', '[{"type": "OrderCreated", "data": {"customer_id": 3, "items": []}}]', 0) AS version;
SELECT eventstore.rebuild('sale_orders') > 0 AS rebuilt;
COMMIT;
SELECT stream_id, version, state = eventstore.state_at(stream_id, version, 'sale_orders') AS equals_replay
  FROM states WHERE projection = 'sale_orders' AND stream_id = 'sale-300';
SELECT count(*) AS sale_300_states FROM states WHERE projection = 'sale_orders' AND stream_id = 'sale-300';

-- $created_at does not depend on the settings of the session that folds:
-- the incremental state and a rebuild in another DateStyle and TimeZone
-- are the same.
SELECT eventstore.create_projection('stamp_times', 'stamp', '{"*": [{"set": "at", "from": "$created_at"}]}') AS folded;
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Tokyo';
SELECT eventstore.append('stamp-1', '[{"type": "Stamped", "data": {}}]', 0) AS version;
RESET DateStyle;
RESET TimeZone;
CREATE TEMP TABLE stamp_incremental AS SELECT state FROM eventstore.projection_state WHERE projection = 'stamp_times';
SELECT eventstore.rebuild('stamp_times') AS folded;
SELECT p.state = i.state AS rebuild_equals_incremental
  FROM eventstore.projection_state p, stamp_incremental i WHERE p.projection = 'stamp_times';
SELECT (state ->> 'at')::timestamptz = (SELECT created_at FROM eventstore.events WHERE stream_id = 'stamp-1') AS is_created_at
  FROM eventstore.projection_state WHERE projection = 'stamp_times';

-------------------------------------------------------------------------------
-- Async projection with an apply function (plpgsql): run_projection and
-- run_projections fold from the checkpoint; projection_status shows the lag.
-------------------------------------------------------------------------------
CREATE FUNCTION wallet_apply(state jsonb, e eventstore.event) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
BEGIN
    CASE e.event_type
    WHEN 'Deposited' THEN
        state := jsonb_set(state, '{balance}', to_jsonb((state ->> 'balance')::numeric + (e.event_data ->> 'amount')::numeric));
    WHEN 'Withdrawn' THEN
        state := jsonb_set(state, '{balance}', to_jsonb((state ->> 'balance')::numeric - (e.event_data ->> 'amount')::numeric));
    WHEN 'Corrupted' THEN
        RETURN NULL;
    ELSE
        NULL;  -- ignored: the state is returned unchanged
    END CASE;
    RETURN state || jsonb_build_object('versions', coalesce(state -> 'versions', '[]') || to_jsonb(e.version),
                                       'stream', e.stream_id, 'category', e.category);
END
$fn$;

SELECT eventstore.append('wallet-1', $$[
    {"type": "Opened", "data": {}}, {"type": "Deposited", "data": {"amount": 100.50}}
]$$, 0) AS version;
SELECT eventstore.create_projection('wallet_balances', 'wallet', apply_function => 'wallet_apply(jsonb, eventstore.event)',
                                    mode => 'async', snapshot_every => 2, initial_state => '{"balance": 0}') AS folded;
SELECT name, category, mode, snapshot_every, initial_state, reducer, apply_function FROM eventstore.projections
 WHERE name = 'wallet_balances';
SELECT stream_id, state, version, pos FROM states WHERE projection = 'wallet_balances';
-- Its checkpoint is a subscription named after it, at the head.
SELECT name, mode, category, streams, checkpoint - :base AS checkpoint, head - :base AS head, positions_behind
  FROM eventstore.projection_status WHERE name = 'wallet_balances';
SELECT name, category, members FROM eventstore.subscriptions WHERE name = 'projection:wallet_balances';
-- That subscription is the runner's: poll (which claims it) and ack refuse
-- it, as subscribe and unsubscribe do (22023), and the checkpoint stays.
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('projection:wallet_balances', 10)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('projection:wallet_balances', 10, 0)$$);
SELECT pg_temp.try(format('SELECT eventstore.ack(%L, eventstore.head())', 'projection:wallet_balances'));
SELECT pg_temp.try(format('SELECT eventstore.ack(%L, eventstore.head(), 0)', 'projection:wallet_balances'));
SELECT checkpoint - :base AS checkpoint_unmoved FROM eventstore.projection_status WHERE name = 'wallet_balances';

-- Appends do not fold an async projection: the state waits for a run.
SELECT eventstore.append('wallet-1', '[{"type": "Withdrawn", "data": {"amount": 20.25}}]') AS version;
SELECT eventstore.append('wallet-2', '[{"type": "Opened", "data": {}}]', 0) AS version;
SELECT eventstore.append('wallet-2', $$[
    {"type": "Deposited", "data": {"amount": 5}}, {"type": "Deposited", "data": {"amount": 0.05}}
]$$) AS version;
SELECT stream_id, state, version FROM states WHERE projection = 'wallet_balances';
SELECT name, streams, checkpoint - :base AS checkpoint, head - :base AS head, positions_behind
  FROM eventstore.projection_status WHERE name = 'wallet_balances';
SELECT eventstore.run_projection('wallet_balances', 2) AS folded;
SELECT name, streams, checkpoint - :base AS checkpoint, head - :base AS head, positions_behind
  FROM eventstore.projection_status WHERE name = 'wallet_balances';
SELECT stream_id, state, version FROM states WHERE projection = 'wallet_balances';
SELECT eventstore.run_projections() AS folded;
SELECT name, streams, checkpoint - :base AS checkpoint, head - :base AS head, positions_behind
  FROM eventstore.projection_status WHERE name = 'wallet_balances';
SELECT stream_id, state, version, pos FROM states WHERE projection = 'wallet_balances';
SELECT eventstore.run_projection('wallet_balances') AS folded, eventstore.run_projections() AS folded_by_all;
-- Inline projections have no lag; run_projections leaves them alone.
SELECT name, mode, positions_behind FROM eventstore.projection_status
 WHERE category IN ('sale', 'stamp', 'wallet', 'line') ORDER BY name;
-- Snapshots of the async projection, written by the runs (every 2 versions).
SELECT projection, stream_id, version, pos, state FROM snaps WHERE projection = 'wallet_balances';

-- rebuild of an async projection: the same state, the checkpoint at the head.
CREATE TEMP TABLE wallet_incremental AS SELECT * FROM eventstore.projection_state WHERE projection = 'wallet_balances';
SELECT eventstore.rebuild('wallet_balances') AS folded;
SELECT count(*) AS differing FROM (
    SELECT stream_id, state, version, position FROM eventstore.projection_state WHERE projection = 'wallet_balances'
    EXCEPT SELECT stream_id, state, version, position FROM wallet_incremental) d;
SELECT name, positions_behind FROM eventstore.projection_status WHERE name = 'wallet_balances';
-- rebuild of one stream may fold past the checkpoint; the next run does not
-- fold those events twice.
SELECT eventstore.append('wallet-2', '[{"type": "Withdrawn", "data": {"amount": 1}}]') AS version;
SELECT eventstore.rebuild('wallet_balances', 'wallet-2') AS folded;
SELECT state, version FROM states WHERE projection = 'wallet_balances' AND stream_id = 'wallet-2';
SELECT name, positions_behind FROM eventstore.projection_status WHERE name = 'wallet_balances';
SELECT eventstore.run_projection('wallet_balances') AS folded;
SELECT state, version FROM states WHERE projection = 'wallet_balances' AND stream_id = 'wallet-2';
SELECT name, positions_behind FROM eventstore.projection_status WHERE name = 'wallet_balances';

-------------------------------------------------------------------------------
-- Snapshots every n versions, and state_at from the nearest one.
-------------------------------------------------------------------------------
SELECT eventstore.append('tab-1', '[{"type": "Opened", "data": {"table": 4}}]', 0) AS version;
SELECT eventstore.append('tab-1', '[{"type": "Ordered", "data": {"item": "tea", "price": 3.20}}]') AS version;
-- tab_plain has no snapshot (state_at replays from the first event), tab_snap
-- one every 3 versions; both are created after the first events.
SELECT eventstore.create_projection('tab_plain', 'tab', $${
    "Opened": [{"set": "table", "from": "table"}, {"set": "open", "value": true}],
    "Ordered": [{"append": "items", "from": "item"}, {"increment": "due", "from": "price"}],
    "Paid": [{"increment": "due", "from": "amount"}, {"set": "open", "value": false}],
    "*": [{"set": "version", "from": "$version"}]
}$$, initial_state => '{"due": 0, "items": []}') AS folded;
SELECT eventstore.create_projection('tab_snap', 'tab', reducer, snapshot_every => 3, initial_state => initial_state) AS folded
  FROM eventstore.projections WHERE name = 'tab_plain';
SELECT * FROM snaps WHERE projection LIKE 'tab%';
-- A batch that crosses a multiple of 3 snapshots at that version.
SELECT eventstore.append('tab-1', $$[
    {"type": "Ordered", "data": {"item": "cake", "price": 4.50}},
    {"type": "Ordered", "data": {"item": "water", "price": 0}},
    {"type": "Ordered", "data": {"item": "tea", "price": 3.20}}
]$$) AS version;
SELECT eventstore.append('tab-1', '[{"type": "Ordered", "data": {"item": "cake", "price": 4.50}}]') AS version;
SELECT eventstore.append('tab-1', '[{"type": "Paid", "data": {"amount": -15.40}}]') AS version;
SELECT eventstore.append('tab-2', $$[
    {"type": "Opened", "data": {"table": 9}}, {"type": "Ordered", "data": {"item": "soup", "price": 6}},
    {"type": "Paid", "data": {"amount": -6}}
]$$, 0) AS version;
SELECT projection, stream_id, version, pos, state FROM snaps WHERE projection LIKE 'tab%';
SELECT stream_id, version, pos, state FROM states WHERE projection = 'tab_snap';
-- Each snapshot is the state at its version.
SELECT projection, stream_id, version, state = eventstore.state_at(stream_id, version, 'tab_plain') AS equals_replay
  FROM eventstore.snapshots WHERE projection = 'tab_snap' ORDER BY stream_id, version;

-- state_at for every version 0..head, with and without snapshots; version 0
-- is the initial state, the head is the stored state.
SELECT v AS version, eventstore.state_at('tab-1', v, 'tab_plain') AS state,
       eventstore.state_at('tab-1', v, 'tab_plain') = eventstore.state_at('tab-1', v, 'tab_snap') AS snap_equals_plain
  FROM generate_series(0, 7) v;
SELECT eventstore.state_at('tab-1', 7, 'tab_snap') = state AS head_equals_stored
  FROM eventstore.projection_state WHERE projection = 'tab_snap' AND stream_id = 'tab-1';
-- state_at replays from the nearest snapshot at or below the version: a
-- marked snapshot shows in the states above it, not below.
UPDATE eventstore.snapshots SET state = state || '{"from_snapshot": 3}'
 WHERE projection = 'tab_snap' AND stream_id = 'tab-1' AND version = 3;
SELECT v AS version, eventstore.state_at('tab-1', v, 'tab_snap') ->> 'from_snapshot' AS from_snapshot
  FROM generate_series(0, 7) v;
-- rebuild rewrites the snapshots.
SELECT eventstore.rebuild('tab_snap') AS folded;
SELECT projection, stream_id, version, pos, state ? 'from_snapshot' AS marked FROM snaps WHERE projection = 'tab_snap';
-- ... and so does rebuild of one stream.
UPDATE eventstore.snapshots SET state = state || '{"from_snapshot": 3}' WHERE projection = 'tab_snap';
SELECT eventstore.rebuild('tab_snap', 'tab-2') AS folded;
SELECT projection, stream_id, version, pos, state ? 'from_snapshot' AS marked FROM snaps WHERE projection = 'tab_snap';
SELECT eventstore.rebuild('tab_snap', 'tab-1') AS folded;
SELECT count(*) FILTER (WHERE state ? 'from_snapshot') AS marked, count(*) AS snapshots
  FROM eventstore.snapshots WHERE projection = 'tab_snap';
-- state_at of the async projection (snapshots from the runs) is the replay.
SELECT stream_id, v AS version, eventstore.state_at(stream_id, v, 'wallet_balances') AS state
  FROM (VALUES ('wallet-1'), ('wallet-2')) s(stream_id),
       LATERAL generate_series(0, (SELECT max(version) FROM eventstore.events e WHERE e.stream_id = s.stream_id)) v
 ORDER BY 1, 2;
-- Without a projection name, state_at uses the only one of the category.
SELECT eventstore.state_at('wallet-1', 2) AS state;

-------------------------------------------------------------------------------
-- state_at(stream, timestamp): the state after the last event created at or
-- before that time. Every event of tab-1 and its transaction start are
-- checked, with the instant just before; the result is compared with
-- state_at by version (timestamps are never printed).
-------------------------------------------------------------------------------
WITH times AS (SELECT DISTINCT created_at AS at FROM eventstore.events WHERE stream_id = 'tab-1'),
     expected AS (
        SELECT at,
               (SELECT max(version) FROM eventstore.events WHERE stream_id = 'tab-1' AND created_at <= at) AS version_at,
               coalesce((SELECT max(version) FROM eventstore.events WHERE stream_id = 'tab-1' AND created_at < at), 0)
                 AS version_before
          FROM times)
SELECT version_before, version_at,
       eventstore.state_at('tab-1', at, 'tab_plain') = eventstore.state_at('tab-1', version_at, 'tab_plain') AS at_time,
       eventstore.state_at('tab-1', at - interval '1 microsecond', 'tab_plain')
         = eventstore.state_at('tab-1', version_before, 'tab_plain') AS just_before
  FROM expected ORDER BY at;
SELECT eventstore.state_at('tab-1', '-infinity'::timestamptz, 'tab_plain') AS before_everything;
SELECT eventstore.state_at('tab-1', 'infinity'::timestamptz, 'tab_plain') = eventstore.state_at('tab-1', 7, 'tab_plain') AS infinity_is_head,
       eventstore.state_at('tab-1', clock_timestamp(), 'tab_plain') = eventstore.state_at('tab-1', 7, 'tab_plain') AS now_is_head;
-- A stream with no event: the initial state at any time.
SELECT eventstore.state_at('tab-404', now(), 'tab_plain') AS no_events_yet;
SELECT eventstore.state_at('tab-404', 0, 'tab_plain') AS no_events_yet;

-------------------------------------------------------------------------------
-- Apply functions run as the role that created the projection.
-------------------------------------------------------------------------------
CREATE ROLE regress_eventstore_proj_author;
GRANT EXECUTE ON FUNCTION eventstore.create_projection(text, text, jsonb, regprocedure, text, bigint, jsonb)
    TO regress_eventstore_proj_author;
CREATE FUNCTION audit_apply(state jsonb, e eventstore.event) RETURNS jsonb LANGUAGE sql
    AS $$SELECT state || jsonb_build_object('applied_by', current_user::text, 'version', e.version)$$;
REVOKE ALL ON FUNCTION audit_apply(jsonb, eventstore.event) FROM PUBLIC;
SELECT eventstore.append('trail-1', '[{"type": "Seen", "data": {}}]', 0) AS version;
SET ROLE regress_eventstore_proj_author;
-- Without EXECUTE on the apply function: 42501, nothing is created.
SELECT pg_temp.try($$SELECT eventstore.create_projection('audit_trail', 'trail', apply_function => 'audit_apply(jsonb, eventstore.event)')$$);
RESET ROLE;
SELECT count(*) AS audit_projections FROM eventstore.projections WHERE name = 'audit_trail';
GRANT EXECUTE ON FUNCTION audit_apply(jsonb, eventstore.event) TO regress_eventstore_proj_author;
SET ROLE regress_eventstore_proj_author;
SELECT pg_temp.try($$SELECT eventstore.create_projection('audit_trail', 'trail', apply_function => 'audit_apply(jsonb, eventstore.event)')$$);
RESET ROLE;
-- The owner is the creator; the catch-up and the appends of another role
-- (here the superuser) run the function as the creator.
SELECT owner::text AS owner FROM eventstore.projections WHERE name = 'audit_trail';
SELECT state FROM states WHERE projection = 'audit_trail';
SELECT eventstore.append('trail-1', '[{"type": "Seen", "data": {}}]') AS version;
SELECT state FROM states WHERE projection = 'audit_trail';
SELECT eventstore.state_at('trail-1', 2) AS state;
SELECT eventstore.drop_projection('audit_trail') AS dropped;

-------------------------------------------------------------------------------
-- Definitions follow transactions: a projection created in a transaction
-- that rolls back never folds anything; one dropped in a transaction that
-- rolls back keeps folding.
-------------------------------------------------------------------------------
BEGIN;
SELECT eventstore.create_projection('ghost_count', 'ghost', '{"*": [{"increment": "n", "by": 1}]}') AS folded;
SELECT eventstore.append('ghost-1', '[{"type": "Boo", "data": {}}]', 0) AS version;
SELECT stream_id, state FROM states WHERE projection = 'ghost_count';
ROLLBACK;
SELECT eventstore.append('ghost-1', '[{"type": "Boo", "data": {}}]', 0) AS version;
SELECT count(*) AS ghost_projections, (SELECT count(*) FROM eventstore.projection_state WHERE projection = 'ghost_count') AS states
  FROM eventstore.projections WHERE name = 'ghost_count';
SELECT eventstore.create_projection('ghost_count', 'ghost', '{"*": [{"increment": "n", "by": 1}]}') AS folded;
BEGIN;
SELECT eventstore.drop_projection('ghost_count') AS dropped;
SELECT eventstore.append('ghost-1', '[{"type": "Boo", "data": {}}]', 1) AS version;
ROLLBACK;
SELECT eventstore.append('ghost-1', '[{"type": "Boo", "data": {}}]', 1) AS version;
SELECT stream_id, state, version FROM states WHERE projection = 'ghost_count';
SELECT eventstore.drop_projection('ghost_count') AS dropped;

-------------------------------------------------------------------------------
-- Error paths. Each leaves the definitions, states, snapshots,
-- subscriptions and events as they were.
-------------------------------------------------------------------------------
CREATE TEMP TABLE before_errors AS SELECT * FROM store_state;
-- KB210: malformed reducer specs (the first with its hint).
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'sale', '[]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '"OrderCreated"')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": {"set": "x", "value": 1}}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": ["set"]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": [{"set": "a", "increment": "b", "value": 1}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": [{"value": 1}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": [{"set": "a", "value": 1, "colour": "red"}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"*": [{"set": "a", "value": 1}], "ItemAdded": [{"move": "price", "to": "money.amount"}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"rename": "price", "to": "cost"}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"set": "", "value": 1}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"set": "a..b", "value": 1}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"set": 5, "value": 1}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"set": [], "value": 1}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"set": ["a", 1], "value": 1}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"set": "a", "from": "b.."}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"set": "a", "from": 7}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"set": "a", "from": "$nope"}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"set": "a", "from": "b", "value": 1}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"set": "a"}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"increment": "n", "by": "1"}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemAdded": [{"increment": "n", "by": 1, "from": "quantity"}]}')$$);
-- An increment by a constant that is not a number is a malformed spec, like
-- "by": refused at once, over a category with no event yet as over one whose
-- events it would fold. (Only the SQLSTATE is shown; run in a transaction
-- rolled back, so that an acceptance shows here and changes nothing below.)
BEGIN;
SELECT spec, split_part(pg_temp.try(format($$SELECT eventstore.create_projection('bad_' || %s, %L, %L)$$, n, category, spec)), ':', 1) AS sqlstate
  FROM (VALUES (1, 'vacant', '{"ItemAdded": [{"increment": "n", "value": "1"}]}'),
               (2, 'vacant', '{"ItemAdded": [{"increment": "n", "value": {"n": 1}}]}'),
               (3, 'vacant', '{"ItemAdded": [{"increment": "n", "value": null}]}'),
               (4, 'sale', '{"ItemAdded": [{"increment": "n", "value": "1"}]}')) v(n, category, spec)
 ORDER BY n;
ROLLBACK;
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemRemoved": [{"remove": "items", "where": {}}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemRemoved": [{"remove": "items", "where": {"product_id": 1}}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"ItemRemoved": [{"remove": "items", "where": "product_id"}]}')$$);
-- One bad operation anywhere refuses the whole spec.
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": [{"set": "a", "value": 1}], "ItemAdded": [{"set": "b", "value": 2}, {"bump": "c"}]}')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": []}', initial_state => '[]')$$);
SELECT pg_temp.try_short($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": []}', initial_state => '3')$$);
-- KB210: exactly one of reducer and apply_function; the apply function's signature.
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'wallet')$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'wallet', '{"Opened": []}', 'wallet_apply(jsonb, eventstore.event)')$$);
CREATE FUNCTION apply_text(state text, e eventstore.event) RETURNS jsonb LANGUAGE sql AS $$SELECT '{}'::jsonb$$;
CREATE FUNCTION apply_returns_text(state jsonb, e eventstore.event) RETURNS text LANGUAGE sql AS $$SELECT '{}'$$;
CREATE FUNCTION apply_one_arg(state jsonb) RETURNS jsonb LANGUAGE sql AS $$SELECT state$$;
CREATE FUNCTION apply_three_args(state jsonb, e eventstore.event, extra int) RETURNS jsonb LANGUAGE sql AS $$SELECT state$$;
CREATE FUNCTION apply_setof(state jsonb, e eventstore.event) RETURNS SETOF jsonb LANGUAGE sql AS $$SELECT state$$;
CREATE FUNCTION apply_json(state json, e eventstore.event) RETURNS json LANGUAGE sql AS $$SELECT state$$;
CREATE FUNCTION apply_delivery(state jsonb, d eventstore.delivery) RETURNS jsonb LANGUAGE sql AS $$SELECT state$$;
SELECT f AS apply_function, pg_temp.try(format($$SELECT eventstore.create_projection('bad', 'wallet', apply_function => %L)$$, f)) AS outcome
  FROM unnest(ARRAY['apply_text(text, eventstore.event)', 'apply_returns_text(jsonb, eventstore.event)',
                    'apply_one_arg(jsonb)', 'apply_three_args(jsonb, eventstore.event, integer)',
                    'apply_setof(jsonb, eventstore.event)', 'apply_json(json, eventstore.event)',
                    'apply_delivery(jsonb, eventstore.delivery)']) f;
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'wallet', apply_function => 0::oid::regprocedure)$$);
SELECT * FROM store_state EXCEPT SELECT * FROM before_errors;

-- KB211: an event the reducer cannot fold. Inline: the append is refused and
-- stores nothing.
SELECT pg_temp.try($$SELECT eventstore.append('sale-123', '[{"type": "ItemAdded", "data": {"product_id": 1, "quantity": "two", "line_total": 1}}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('sale-125', $b$[
    {"type": "OrderCreated", "data": {"customer_id": 1, "items": []}},
    {"type": "ItemAdded", "data": {"product_id": 1, "quantity": 1, "line_total": {"amount": 1}}}
]$b$, 0)$$);
SELECT * FROM store_state EXCEPT SELECT * FROM before_errors;
SELECT max(version) AS sale_123_version FROM eventstore.events WHERE stream_id = 'sale-123';
SELECT count(*) AS sale_125_events FROM eventstore.events WHERE stream_id = 'sale-125';
-- The target is not a number: "which is not a number".
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": [{"increment": "status", "by": 1}]}', initial_state => '{"status": "new"}')$$);
-- A projection created over a stored event it cannot fold is not created.
SELECT eventstore.append('meter-1', '[{"type": "Read", "data": {"kwh": 1.5}}, {"type": "Read", "data": {"kwh": "n/a"}}]', 0) AS version;
SELECT pg_temp.try($$SELECT eventstore.create_projection('meter_total', 'meter', '{"Read": [{"increment": "kwh", "from": "kwh"}]}')$$);
SELECT count(*) AS meter_projections FROM eventstore.projections WHERE name = 'meter_total';
-- KB211: an apply function returning NULL. Inline: the append is refused.
SELECT eventstore.create_projection('wallet_inline', 'wallet', apply_function => 'wallet_apply(jsonb, eventstore.event)',
                                    initial_state => '{"balance": 0}') AS folded;
CREATE TEMP TABLE before_null AS SELECT * FROM store_state;
SELECT pg_temp.try($$SELECT eventstore.append('wallet-1', '[{"type": "Corrupted", "data": {}}]')$$);
SELECT * FROM store_state EXCEPT SELECT * FROM before_null;
SELECT eventstore.drop_projection('wallet_inline') AS dropped;
-- Async: the event is stored; the run fails and its checkpoint stays.
SELECT eventstore.append('wallet-3', '[{"type": "Opened", "data": {}}, {"type": "Corrupted", "data": {}}]', 0) AS version;
SELECT name, checkpoint - :base AS checkpoint FROM eventstore.projection_status WHERE name = 'wallet_balances';
SELECT pg_temp.try($$SELECT eventstore.run_projection('wallet_balances')$$);
SELECT pg_temp.try($$SELECT eventstore.run_projections()$$);
SELECT name, checkpoint - :base AS checkpoint FROM eventstore.projection_status WHERE name = 'wallet_balances';
SELECT count(*) AS wallet_3_states FROM states WHERE stream_id = 'wallet-3';
SELECT pg_temp.try($$SELECT eventstore.rebuild('wallet_balances')$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('wallet-3', 2)$$);
SELECT eventstore.state_at('wallet-3', 1) AS state_before_the_bad_event;
CREATE TEMP TABLE before_errors2 AS SELECT * FROM store_state;

-- KB212: unknown projection.
SELECT pg_temp.try($$SELECT eventstore.rebuild('nope')$$);
SELECT pg_temp.try($$SELECT eventstore.rebuild('nope', 'sale-123')$$);
SELECT pg_temp.try($$SELECT eventstore.run_projection('nope')$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('sale-123', 1, 'nope')$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('sale-123', now(), 'nope')$$);
-- ... and no projection for the stream's category.
SELECT pg_temp.try($$SELECT eventstore.state_at('meter-1', 1)$$);
-- drop_projection of an unknown name is not an error: it returns false.
SELECT eventstore.drop_projection('nope') AS dropped;
-- KB213: the name exists (whatever the rest).
SELECT pg_temp.try($$SELECT eventstore.create_projection('sale_orders', 'sale', '{"OrderCreated": []}')$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection('sale_orders', 'other', apply_function => 'wallet_apply(jsonb, eventstore.event)', mode => 'async')$$);

-- 22023: out-of-range arguments.
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": []}', mode => 'lazy')$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": []}', mode => 'INLINE')$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": []}', snapshot_every => 0)$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": []}', snapshot_every => -5)$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": []}', snapshot_every => 2147483648)$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection('', 'sale', '{"OrderCreated": []}')$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection(repeat('p', 201), 'sale', '{"OrderCreated": []}')$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', '', '{"OrderCreated": []}')$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('tab-1', 8, 'tab_plain')$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('tab-1', -1, 'tab_plain')$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('tab-404', 1, 'tab_plain')$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('sale-123', 1)$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('sale-123', now())$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('sale-123', 1, 'tab_plain')$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('', 1)$$);
SELECT pg_temp.try($$SELECT eventstore.rebuild('sale_orders', 'tab-1')$$);
SELECT pg_temp.try($$SELECT eventstore.rebuild('sale_orders', '')$$);
SELECT pg_temp.try($$SELECT eventstore.rebuild('')$$);
SELECT pg_temp.try($$SELECT eventstore.run_projection('sale_orders')$$);
SELECT pg_temp.try($$SELECT eventstore.run_projection('wallet_balances', 0)$$);
SELECT pg_temp.try($$SELECT eventstore.run_projection('wallet_balances', 100001)$$);
SELECT pg_temp.try($$SELECT eventstore.run_projection('wallet_balances', 2147483648)$$);
SELECT pg_temp.try($$SELECT eventstore.run_projections(-2147483649)$$);
SELECT pg_temp.try($$SELECT eventstore.run_projections(0)$$);
SELECT pg_temp.try($$SELECT eventstore.run_projections(-1)$$);
SELECT pg_temp.try($$SELECT eventstore.drop_projection('')$$);

-- 22004: NULL arguments.
SELECT pg_temp.try($$SELECT eventstore.create_projection(NULL, 'sale', '{"OrderCreated": []}')$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": []}', mode => NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.create_projection('bad', 'sale', '{"OrderCreated": []}', initial_state => NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.rebuild(NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.rebuild(NULL, 'sale-123')$$);
SELECT pg_temp.try($$SELECT eventstore.run_projection(NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.run_projection('wallet_balances', NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.run_projections(NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.state_at(NULL, 1)$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('sale-123', NULL::bigint)$$);
SELECT pg_temp.try($$SELECT eventstore.state_at(NULL, now())$$);
SELECT pg_temp.try($$SELECT eventstore.state_at('sale-123', NULL::timestamptz)$$);
SELECT pg_temp.try($$SELECT eventstore.drop_projection(NULL)$$);
-- A NULL category is every category; NULL snapshot_every is none (not errors).
SELECT * FROM store_state EXCEPT SELECT * FROM before_errors2;

-------------------------------------------------------------------------------
-- drop_projection: the definition, its states and snapshots (and, for an
-- async one, its checkpoint) go; appends no longer fold it.
-------------------------------------------------------------------------------
SELECT eventstore.drop_projection('tab_snap') AS dropped;
SELECT count(*) AS states, (SELECT count(*) FROM eventstore.snapshots WHERE projection = 'tab_snap') AS snapshots
  FROM eventstore.projection_state WHERE projection = 'tab_snap';
SELECT pg_temp.try($$SELECT eventstore.state_at('tab-1', 1, 'tab_snap')$$);
SELECT pg_temp.try($$SELECT eventstore.rebuild('tab_snap')$$);
SELECT eventstore.drop_projection('tab_snap') AS dropped_again;
SELECT eventstore.append('tab-2', '[{"type": "Ordered", "data": {"item": "bread", "price": 1}}]') AS version;
SELECT projection, stream_id, version FROM states WHERE projection LIKE 'tab%' ORDER BY 1, 2;
-- With only tab_plain left, state_at needs no name.
SELECT eventstore.state_at('tab-2', 4) AS state;
SELECT eventstore.drop_projection('wallet_balances') AS dropped;
SELECT count(*) AS wallet_states, (SELECT count(*) FROM eventstore.subscriptions WHERE name = 'projection:wallet_balances') AS subscriptions,
       (SELECT count(*) FROM eventstore.subscription_checkpoints WHERE subscription = 'projection:wallet_balances') AS checkpoints
  FROM eventstore.projection_state WHERE projection = 'wallet_balances';
SELECT eventstore.run_projections() AS folded;
-- A projection can be created again under a dropped name (with the apply
-- function it fails on the stored Corrupted event, and nothing is created).
SELECT pg_temp.try($$SELECT eventstore.create_projection('wallet_balances', 'wallet', apply_function => 'wallet_apply(jsonb, eventstore.event)',
                                    mode => 'async', initial_state => '{"balance": 0}')$$);
SELECT count(*) AS wallet_projections FROM eventstore.projections WHERE name = 'wallet_balances';
SELECT eventstore.create_projection('wallet_balances', 'wallet', '{"Deposited": [{"increment": "in", "from": "amount"}]}',
                                    mode => 'async') AS folded;
SELECT stream_id, state, version FROM states WHERE projection = 'wallet_balances';

-------------------------------------------------------------------------------
-- Clean up: this file's projections, role and functions; events stay.
-------------------------------------------------------------------------------
SELECT name, eventstore.drop_projection(name) AS dropped FROM eventstore.projections
 WHERE category IN ('sale', 'stamp', 'wallet', 'tab', 'trail', 'ghost', 'meter', 'line') ORDER BY name;
SELECT count(*) AS projections,
       (SELECT count(*) FROM eventstore.projection_state WHERE stream_id ~ '^(sale|stamp|wallet|tab|trail|ghost|meter|line)-') AS states,
       (SELECT count(*) FROM eventstore.snapshots WHERE stream_id ~ '^(sale|stamp|wallet|tab|trail|ghost|meter|line)-') AS snapshots,
       (SELECT count(*) FROM eventstore.subscriptions WHERE category IN ('sale', 'stamp', 'wallet', 'tab', 'trail', 'ghost', 'meter', 'line'))
         AS subscriptions
  FROM eventstore.projections WHERE category IN ('sale', 'stamp', 'wallet', 'tab', 'trail', 'ghost', 'meter', 'line');
REVOKE ALL ON FUNCTION eventstore.create_projection(text, text, jsonb, regprocedure, text, bigint, jsonb)
    FROM regress_eventstore_proj_author;
REVOKE ALL ON FUNCTION audit_apply(jsonb, eventstore.event) FROM regress_eventstore_proj_author;
DROP ROLE regress_eventstore_proj_author;
DROP FUNCTION wallet_apply(jsonb, eventstore.event), audit_apply(jsonb, eventstore.event),
    apply_text(text, eventstore.event), apply_returns_text(jsonb, eventstore.event), apply_one_arg(jsonb),
    apply_three_args(jsonb, eventstore.event, integer), apply_setof(jsonb, eventstore.event),
    apply_json(json, eventstore.event), apply_delivery(jsonb, eventstore.delivery);

-------------------------------------------------------------------------------
-- Numbers are read from stored jsonb natively (no numeric_out): every value
-- below, of 1 to 24 digits, scales 0 to 20, either sign, folds to exactly
-- the text SQL prints for it (set) and sums exactly as numeric does
-- (increment). Values past 18 digits take the exact decimal-text path.
-------------------------------------------------------------------------------
DO $$
BEGIN
    PERFORM eventstore.append('dec-' || g, jsonb_build_array(jsonb_build_object('type', 'A', 'data',
              jsonb_build_object('x', round(((g * 7919) % 100003)::numeric * (10::numeric ^ (g % 25 - 12))
                                            * (CASE WHEN g % 3 = 0 THEN -1 ELSE 1 END), g % 21)))))
      FROM generate_series(1, 600) g;
    PERFORM eventstore.append('dec-' || g, jsonb_build_array(jsonb_build_object('type', 'B', 'data',
              jsonb_build_object('x', round((g::numeric / 7) * (10::numeric ^ (g % 9)), g % 19)))))
      FROM generate_series(1, 600) g;
END
$$;
SELECT eventstore.create_projection('decimals', 'dec', $${
    "A": [{"set": "a", "from": "x"}, {"increment": "sum", "from": "x"}],
    "B": [{"set": "b", "from": "x"}, {"increment": "sum", "from": "x"}]
}$$) AS folded;
CREATE TEMP VIEW decimals_stored AS
SELECT stream_id, max(event_data->>'x') FILTER (WHERE event_type = 'A') AS a,
       max(event_data->>'x') FILTER (WHERE event_type = 'B') AS b, sum((event_data->>'x')::numeric) AS total
  FROM eventstore.events WHERE category = 'dec' GROUP BY stream_id;
SELECT count(*) AS streams,
       count(*) FILTER (WHERE s.state->>'a' = x.a AND s.state->>'b' = x.b) AS values_exact,
       count(*) FILTER (WHERE (s.state->>'sum')::numeric = x.total) AS sums_exact,
       count(*) FILTER (WHERE length(translate(x.a, '-.', '')) > 18) AS a_beyond_18_digits,
       count(*) FILTER (WHERE x.a LIKE '%.%0' OR x.b LIKE '%.%0') AS with_trailing_zeros,
       count(*) FILTER (WHERE x.a LIKE '-%') AS negative
  FROM eventstore.projection_state s JOIN decimals_stored x USING (stream_id)
 WHERE s.projection = 'decimals';
-- (none differ; shown if any did)
SELECT stream_id, s.state->>'a' AS a, x.a AS stored_a, s.state->>'b' AS b, x.b AS stored_b
  FROM eventstore.projection_state s JOIN decimals_stored x USING (stream_id)
 WHERE s.projection = 'decimals' AND (s.state->>'a' IS DISTINCT FROM x.a OR s.state->>'b' IS DISTINCT FROM x.b)
 ORDER BY stream_id LIMIT 5;
DROP VIEW decimals_stored;
SELECT eventstore.drop_projection('decimals');

-- run_projections_loop checks its arguments before it runs anything: a NULL
-- seconds looped forever and a NULL pause never paused (22004 now), and the
-- bounds keep one call within its schedule (22023).
SELECT pg_temp.try($$CALL eventstore.run_projections_loop(NULL)$$);
SELECT pg_temp.try($$CALL eventstore.run_projections_loop(1, NULL)$$);
SELECT pg_temp.try($$CALL eventstore.run_projections_loop(-1)$$);
SELECT pg_temp.try($$CALL eventstore.run_projections_loop(2, '1000000 years')$$);
SELECT pg_temp.try($$CALL eventstore.run_projections_loop(2, '-1 second')$$);
-- One round (0 seconds), at top level where it may commit.
CALL eventstore.run_projections_loop(0, '0 seconds');
