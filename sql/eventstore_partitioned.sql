-- eventstore on range partitions (eventstore.partition_positions > 0, kept
-- by pg_partman through manage_partitions): appends that span partitions,
-- stream heads and event ids found in older partitions, reads, poll and a
-- native rebuild across partitions, append-only partitions, and the errors
-- KB215 (no partition), KB216 (not configured), KB217 (unusable layout).
-- Runs in a database of its own: the layout is chosen at CREATE EXTENSION.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS eventstore;
RESET client_min_messages;

-- The store of this regression database is one table: nothing to manage.
SELECT (SELECT partition_positions FROM eventstore.storage_layout) AS partition_positions;
SELECT pg_temp.try($$SELECT eventstore.manage_partitions()$$);

DROP DATABASE IF EXISTS eventstore_partitioned_regress WITH (FORCE);
CREATE DATABASE eventstore_partitioned_regress;
\c eventstore_partitioned_regress
\i sql/include/try.psql
-- Ten positions per partition, so a few appends cross several.
SET eventstore.partition_positions = 10;
CREATE EXTENSION eventstore;
RESET eventstore.partition_positions;
SELECT partition_positions FROM eventstore.storage_layout;
SELECT c.relkind, pg_get_partkeydef(c.oid) FROM pg_class c WHERE c.oid = 'eventstore.events'::regclass;
-- The indexes the unique constraints were: plain, as a partitioned table's
-- unique index must contain position.
SELECT indexrelid::regclass AS index, indisunique, indisprimary
  FROM pg_index WHERE indrelid = 'eventstore.events'::regclass ORDER BY 1::text;

-- Before any partition exists, an append stores nothing (KB215).
SELECT pg_temp.try($$SELECT eventstore.append('order-1', '[{"type": "OrderCreated", "data": {}}]')$$);
SELECT count(*) AS events FROM eventstore.events;

-- manage_partitions needs pg_partman (KB216) and a sane premake (22023).
SELECT pg_temp.try($$SELECT eventstore.manage_partitions()$$);
SET client_min_messages = warning;
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
RESET client_min_messages;
SELECT pg_temp.try($$SELECT eventstore.manage_partitions(0)$$);
SELECT pg_temp.try($$SELECT eventstore.manage_partitions(1001)$$);
SELECT pg_temp.try($$SELECT eventstore.manage_partitions(2147483648)$$);
SELECT eventstore.manage_partitions() AS partitions;

-- Partitions, their ranges and their TRUNCATE guards. No default partition.
CREATE VIEW parts AS
SELECT c.relname AS partition, pg_get_expr(c.relpartbound, c.oid) AS bound,
       EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'events_no_truncate'
                                          AND t.tgenabled = 'A') AS truncate_guard,
       EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'events_append_only_rows'
                                          AND t.tgenabled = 'A') AS row_guard
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'eventstore.events'::regclass;
SELECT * FROM parts ORDER BY partition COLLATE "C";

CREATE FUNCTION items(n integer, tag text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_object('type', 'ItemAdded',
                                        'data', jsonb_build_object('n', g, 'tag', tag, 'amount', g * 1.5)))
      FROM generate_series(1, n) g
$$;
CREATE VIEW where_stored AS
SELECT tableoid::regclass AS partition, count(*) AS events, min(position), max(position)
  FROM eventstore.events GROUP BY 1;

-- One append of 25 events lands in three partitions, in one piece.
SELECT eventstore.append('order-1', '[{"id": "00000000-0000-7000-8000-000000000001", "type": "OrderCreated", "data": {"customer": 7}}]', 0) AS version;
SELECT eventstore.append('order-1', items(25, 'a'), 1) AS version;
SELECT * FROM where_stored ORDER BY min;
SELECT count(*) AS events, min(version), max(version), count(DISTINCT version) AS distinct_versions,
       bool_and(position > 0) AS positioned
  FROM eventstore.read_stream('order-1', 1, 1000);

-- Other streams move the head of the store on: order-1's last event is now
-- in an older partition, and is still found there.
SELECT eventstore.append('order-2', items(5, 'b'), 0) AS version;
SELECT eventstore.manage_partitions() AS partitions;
SELECT eventstore.append('order-3', items(8, 'c')) AS version;
SELECT pg_temp.try($$SELECT eventstore.append('order-1', '[{"type": "OrderSubmitted", "data": {}}]', 25)$$);
SELECT pg_temp.try($$SELECT eventstore.append('order-1', '[{"type": "X", "data": {}}]', 0)$$);
SELECT eventstore.append('order-1', '[{"type": "OrderSubmitted", "data": {}}]', 26) AS version;
SELECT eventstore.append('order-1', '[{"type": "OrderPaid", "data": {}}]') AS version;
SELECT version, event_type FROM eventstore.read_stream('order-1', 26, 10);
SELECT version, event_type FROM eventstore.read_stream('order-1', 1000, 3, true) ORDER BY version;
SELECT version, event_type FROM eventstore.read_stream('order-1', 28, 3, true);

-- An event id stored in the first partition: a retry is a no-op, the same id
-- on another stream is KB203.
SELECT eventstore.append('order-1', '[{"id": "00000000-0000-7000-8000-000000000001", "type": "OrderCreated", "data": {"customer": 7}}]') AS version;
SELECT pg_temp.try($$SELECT eventstore.append('order-9', '[{"id": "00000000-0000-7000-8000-000000000001", "type": "OrderCreated", "data": {"customer": 7}}]')$$);
SELECT count(*) AS with_that_id FROM eventstore.events WHERE event_id = '00000000-0000-7000-8000-000000000001';

-- Global and category reads run over the partitions in position order.
SELECT count(*) AS events, bool_and(position > prev) AS ascending
  FROM (SELECT position, lag(position, 1, 0::bigint) OVER (ORDER BY position) AS prev
          FROM eventstore.read_all(0, 1000)) r;
SELECT (SELECT array_agg(position) FROM eventstore.read_all(0, 1000))
     = (SELECT array_agg(position ORDER BY position) FROM eventstore.events) AS read_all_is_everything;
SELECT (SELECT array_agg(position) FROM eventstore.read_category('order', 5, 1000))
     = (SELECT array_agg(position ORDER BY position) FROM eventstore.events WHERE position > 5) AS category_from_5;

-- A subscription delivers every event once, across partitions.
SELECT eventstore.subscribe('part-sub', 'order');
SELECT count(*) AS delivered, count(DISTINCT position) AS distinct_positions
  FROM eventstore.poll('part-sub', 1000);

-- A native reducer rebuilds streams that span partitions: the states match
-- what SQL computes from the table.
SELECT eventstore.create_projection('order_totals', 'order', $${
    "OrderCreated": [{"set": "customer", "from": "customer"}],
    "ItemAdded": [{"increment": "items", "value": 1}, {"increment": "amount", "from": "amount"}],
    "*": [{"set": "version", "from": "$version"}]
}$$) AS folded;
SELECT eventstore.rebuild('order_totals') AS folded;
SELECT s.stream_id, s.state, s.version,
       s.state->'items' = to_jsonb(x.items) AND s.state->'amount' = to_jsonb(x.amount) AS matches_sql
  FROM eventstore.projection_state s
  JOIN (SELECT stream_id, count(*) FILTER (WHERE event_type = 'ItemAdded') AS items,
               sum((event_data->>'amount')::numeric) AS amount
          FROM eventstore.events GROUP BY stream_id) x USING (stream_id)
 WHERE s.projection = 'order_totals' ORDER BY s.stream_id;
SELECT eventstore.rebuild('order_totals', 'order-1') AS folded;
SELECT eventstore.state_at('order-1', 20::bigint, 'order_totals') AS state_at_20;

-- Partitions are append-only too: UPDATE, DELETE and TRUNCATE that name a
-- partition are refused (KB207), also in replica mode; nothing changed.
SELECT pg_temp.try($$UPDATE eventstore.events_p0 SET version = 99$$);
SELECT pg_temp.try($$DELETE FROM eventstore.events_p10$$);
SELECT pg_temp.try($$TRUNCATE eventstore.events_p10$$);
SET session_replication_role = replica;
SELECT pg_temp.try($$DELETE FROM eventstore.events_p20 WHERE version = 20$$);
SELECT pg_temp.try($$TRUNCATE eventstore.events_p0$$);
RESET session_replication_role;
SELECT count(*) AS events FROM eventstore.events;

-- Appends that outrun the partitions fail whole (KB215): nothing stored,
-- the stream unchanged. manage_partitions covers the positions handed out.
SELECT pg_temp.try($$SELECT eventstore.append('order-2', items(80, 'big'), 5)$$);
SELECT count(*) AS events, max(version) AS order_2_version FROM eventstore.events WHERE stream_id = 'order-2';
SELECT eventstore.manage_partitions(10) > 5 AS more_partitions;
-- A call without premake (the scheduled one) keeps the last explicit choice.
SELECT eventstore.manage_partitions() > 5 AS managed;
SELECT premake FROM partman.part_config WHERE parent_table = 'eventstore.events';
SELECT eventstore.append('order-2', items(80, 'big'), 5) AS version;
SELECT count(*) AS events, count(DISTINCT version) AS versions, max(version) FROM eventstore.events WHERE stream_id = 'order-2';

-- A default partition would hold events outside their range: append refuses
-- the layout (KB217) and stores nothing; manage_partitions drops it while
-- it is empty.
CREATE TABLE eventstore.events_default PARTITION OF eventstore.events DEFAULT;
SELECT pg_temp.try($$SELECT eventstore.append('order-4', '[{"type": "OrderCreated", "data": {}}]')$$);
SELECT count(*) AS order_4_events FROM eventstore.events WHERE stream_id = 'order-4';
SELECT eventstore.manage_partitions(10) > 0 AS managed;
SELECT count(*) AS default_partitions FROM parts WHERE bound = 'DEFAULT';
SELECT eventstore.append('order-4', '[{"type": "OrderCreated", "data": {}}]') AS version;
SELECT bool_and(truncate_guard) AS truncate_guards, bool_and(row_guard) AS row_guards FROM parts;

-- Dropping and re-creating the extension starts over: the stale pg_partman
-- registration is replaced.
DROP VIEW where_stored, parts;
DROP EXTENSION eventstore;
SET eventstore.partition_positions = 100;
CREATE EXTENSION eventstore;
RESET eventstore.partition_positions;
SELECT eventstore.manage_partitions(2) AS partitions;
SELECT partition_interval, premake FROM partman.part_config WHERE parent_table = 'eventstore.events';
SELECT eventstore.append('order-1', items(3, 'again'), 0) AS version;

\c contrib_regression
DROP DATABASE eventstore_partitioned_regress WITH (FORCE);
