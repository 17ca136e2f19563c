-- eventstore append: expected versions, atomic batches, idempotent ids,
-- categories, every error path, and the append-only table.
--
-- Global positions depend on what ran before in this database, so they are
-- shown relative to the head when this file starts (pos = position - base).
-- Generated event ids and created_at are never printed.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS eventstore;
RESET client_min_messages;

CREATE TEMP TABLE base AS SELECT eventstore.head() AS base;
-- This file's events, positions relative to base.
CREATE TEMP VIEW stored AS
SELECT e.position - b.base AS pos, e.stream_id, e.version, e.event_type, e.schema_version,
       e.event_data, e.metadata, e.category
  FROM eventstore.events e, base b
 WHERE e.position > b.base;
-- After every failed call: the number of events and the head are unchanged
-- (a refused append stores nothing and takes no position).
CREATE TEMP VIEW store_state AS
SELECT (SELECT count(*) FROM stored) AS events,
       eventstore.head() - (SELECT base FROM base) AS head;

-------------------------------------------------------------------------------
-- A new stream (expected_version 0), then exactly n, then any (NULL).
-------------------------------------------------------------------------------
SELECT eventstore.append('order-123', $$[
    {"type": "OrderCreated", "data": {"customer_id": 456, "items": []}},
    {"type": "ItemAdded", "data": {"product_id": 789, "quantity": 2}},
    {"type": "OrderSubmitted", "data": {"submitted_at": "2024-01-15T10:30:00Z"}}
]$$, 0) AS version;
SELECT * FROM stored ORDER BY pos;
SELECT eventstore.append('order-123', '[{"type": "OrderPaid", "data": {"amount": 19.99}}]', 3) AS version;
SELECT eventstore.append('order-123', '[{"type": "OrderShipped", "data": {}}]') AS version;
SELECT eventstore.append('order-123', '[{"type": "OrderDelivered", "data": {}}]', NULL) AS version;
SELECT pos, version, event_type FROM stored WHERE stream_id = 'order-123' ORDER BY pos;
SELECT * FROM store_state;

-- One append is one contiguous run of positions and versions, one created_at.
SELECT eventstore.append('order-124', $$[
    {"type": "OrderCreated", "data": {}}, {"type": "ItemAdded", "data": {}},
    {"type": "ItemAdded", "data": {}}, {"type": "OrderSubmitted", "data": {}}
]$$, 0) AS version;
SELECT max(position) - min(position) = 3 AS contiguous_positions,
       array_agg(version ORDER BY position) AS versions,
       count(DISTINCT created_at) AS created_at_values
  FROM eventstore.events WHERE stream_id = 'order-124';

-- Generated ids: version-7 UUIDs, increasing in append order.
SELECT count(*) AS events,
       bool_and(substr(event_id::text, 15, 1) = '7') AS uuid_v7,
       bool_and(substr(event_id::text, 20, 1) IN ('8', '9', 'a', 'b')) AS rfc_variant,
       array_agg(version ORDER BY event_id) = array_agg(version ORDER BY position) AS ids_ascending
  FROM eventstore.events WHERE stream_id IN ('order-123', 'order-124');

-- Metadata, schema_version and caller-chosen ids are stored as given; a null
-- metadata or schema_version means the default.
SELECT eventstore.append('order-125', $$[
    {"type": "OrderCreated", "data": {"customer_id": 7}, "metadata": {"correlation_id": "c-1", "user": "ann"},
     "schema_version": 2, "id": "0190a5b0-0000-7000-8000-000000000001"},
    {"type": "ItemAdded", "data": {}, "metadata": null, "schema_version": null,
     "id": "0190A5B0-0000-7000-8000-000000000002"},
    {"type": "ItemAdded", "data": {}, "schema_version": 1e1, "id": null}
]$$) AS version;
SELECT version, event_type, schema_version, event_data, metadata,
       CASE WHEN version < 3 THEN event_id::text ELSE '(generated)' END AS event_id
  FROM eventstore.events WHERE stream_id = 'order-125' ORDER BY version;

-------------------------------------------------------------------------------
-- Wrong expected version (KB201): nothing is stored.
-------------------------------------------------------------------------------
SELECT * FROM store_state;
SELECT pg_temp.try($$SELECT eventstore.append('order-123', '[{"type": "X", "data": {}}]', 0)$$);
SELECT pg_temp.try($$SELECT eventstore.append('order-123', '[{"type": "X", "data": {}}]', 5)$$);
SELECT pg_temp.try($$SELECT eventstore.append('order-123', '[{"type": "X", "data": {}}]', 7)$$);
SELECT pg_temp.try($$SELECT eventstore.append('order-999', '[{"type": "X", "data": {}}]', 1)$$);
SELECT pg_temp.try($$SELECT eventstore.append('order-123',
    '[{"type": "X", "data": {}}, {"type": "Y", "data": {}}]', 2)$$);
SELECT * FROM store_state;
SELECT count(*) AS order_999_events FROM stored WHERE stream_id = 'order-999';
SELECT max(version) AS order_123_version FROM stored WHERE stream_id = 'order-123';

-------------------------------------------------------------------------------
-- Batches are atomic: a bad event anywhere in the batch stores none of them.
-------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT eventstore.append('order-123', $b$[
    {"type": "A", "data": {}}, {"type": "B", "data": {}}, {"type": "C", "data": "not an object"}
]$b$, 6)$$);
SELECT pg_temp.try($$SELECT eventstore.append('order-126', $b$[
    {"type": "A", "data": {}}, {"type": "B", "data": {}, "id": "0190a5b0-0000-7000-8000-000000000001"}
]$b$, 0)$$);
SELECT * FROM store_state;
SELECT count(*) AS order_126_events FROM stored WHERE stream_id = 'order-126';
SELECT max(version) AS order_123_version FROM stored WHERE stream_id = 'order-123';
-- A transaction that appended and rolled back leaves nothing; the next
-- append continues from the stream's committed version.
BEGIN;
SELECT eventstore.append('order-123', '[{"type": "RolledBack", "data": {}}]', 6) AS version;
ROLLBACK;
SELECT eventstore.append('order-123', '[{"type": "OrderArchived", "data": {}}]', 6) AS version;
SELECT version, event_type FROM stored WHERE stream_id = 'order-123' AND version > 5 ORDER BY version;

-------------------------------------------------------------------------------
-- Idempotent retries: ids already stored in the same stream are skipped.
-------------------------------------------------------------------------------
SELECT eventstore.append('payment-1', $$[
    {"type": "PaymentStarted", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000a1"},
    {"type": "PaymentAuthorized", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000a2"}
]$$, 0) AS version;
SELECT * FROM store_state;
-- The same call again (a client retrying after a lost reply): the stored
-- version, nothing inserted, even though expected_version 0 is now stale.
SELECT eventstore.append('payment-1', $$[
    {"type": "PaymentStarted", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000a1"},
    {"type": "PaymentAuthorized", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000a2"}
]$$, 0) AS retried_version;
SELECT eventstore.append('payment-1', $$[
    {"type": "PaymentStarted", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000a1"}
]$$) AS retried_version;
SELECT * FROM store_state;
-- A partial retry (one stored id, one new): only the new event is appended,
-- checked against expected_version like any append.
SELECT pg_temp.try($$SELECT eventstore.append('payment-1', $b$[
    {"type": "PaymentAuthorized", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000a2"},
    {"type": "PaymentCaptured", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000a3"}
]$b$, 0)$$);
SELECT * FROM store_state;
SELECT eventstore.append('payment-1', $$[
    {"type": "PaymentAuthorized", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000a2"},
    {"type": "PaymentCaptured", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000a3"}
]$$, 2) AS version;
SELECT version, event_type, event_id FROM eventstore.events WHERE stream_id = 'payment-1' ORDER BY version;
SELECT * FROM store_state;

-------------------------------------------------------------------------------
-- Event id conflicts (KB203): an id stored in another stream, or twice in one
-- batch. Nothing is stored.
-------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT eventstore.append('payment-2',
    '[{"type": "PaymentStarted", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000a1"}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('payment-2', $b$[
    {"type": "PaymentStarted", "data": {}},
    {"type": "PaymentAuthorized", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000a3"}
]$b$)$$);
SELECT pg_temp.try($$SELECT eventstore.append('payment-2', $b$[
    {"type": "PaymentStarted", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000b1"},
    {"type": "PaymentAuthorized", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000b2"},
    {"type": "PaymentCaptured", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000b1"}
]$b$)$$);
-- The same id spelled in upper case is the same id.
SELECT pg_temp.try($$SELECT eventstore.append('payment-2', $b$[
    {"type": "PaymentStarted", "data": {}, "id": "0190a5b0-0000-7000-8000-0000000000bc"},
    {"type": "PaymentAuthorized", "data": {}, "id": "0190A5B0-0000-7000-8000-0000000000BC"}
]$b$)$$);
SELECT * FROM store_state;
SELECT count(*) AS payment_2_events FROM stored WHERE stream_id = 'payment-2';

-------------------------------------------------------------------------------
-- Malformed events (KB202). Nothing is stored by any of them.
-------------------------------------------------------------------------------
-- Not an array, or an empty or oversized one.
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '{"type": "A", "data": {}}')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '"A"')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '42')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', 'null')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1',
    (SELECT jsonb_agg(jsonb_build_object('type', 'T', 'data', '{}'::jsonb)) FROM generate_series(1, 10001)))$$);
-- An element that is not an object.
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[1]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}}, [{"type": "A", "data": {}}]]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}}, null]')$$);
-- type: missing, not a string, empty, longer than 200 bytes.
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"data": {}}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": 1, "data": {}}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": null, "data": {}}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "", "data": {}}]')$$);
SELECT pg_temp.try(format($$SELECT eventstore.append('bad-1', '[{"type": "%s", "data": {}}]')$$, repeat('t', 201)));
SELECT pg_temp.try(format($$SELECT eventstore.append('bad-1', '[{"type": "%s", "data": {}}]')$$, repeat('é', 101)));
-- data: missing, an array, a string, null.
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A"}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": []}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": "x"}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": null}]')$$);
-- metadata: present but not an object.
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "metadata": 5}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "metadata": []}]')$$);
-- id: not a string, not a UUID, not the canonical 8-4-4-4-12 form.
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "id": 5}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "id": "not-a-uuid"}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "id": "0190a5b0-0000-7000-8000-00000000000g"}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "id": "{0190a5b0-0000-7000-8000-000000000009}"}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "id": "0190a5b000007000800000000000000a"}]')$$);
-- schema_version: not a positive integer.
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "schema_version": 0}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "schema_version": -1}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "schema_version": 1.5}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "schema_version": 1.0}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "schema_version": "x"}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "schema_version": "2"}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('bad-1', '[{"type": "A", "data": {}, "schema_version": 2147483648}]')$$);
-- The message names the element: here the third.
SELECT pg_temp.try($$SELECT eventstore.append('bad-1',
    '[{"type": "A", "data": {}}, {"type": "B", "data": {}}, {"type": "C", "data": {}, "schema_version": 0}]')$$);
SELECT * FROM store_state;
SELECT count(*) AS bad_1_events FROM stored WHERE stream_id = 'bad-1';
-- The limits themselves are accepted: 10000 events, a 200-byte type,
-- schema_version 2147483647.
SELECT eventstore.append('bulk-1',
    (SELECT jsonb_agg(jsonb_build_object('type', 'Tick', 'data', jsonb_build_object('n', g)) ORDER BY g)
       FROM generate_series(1, 10000) g), 0) AS version;
SELECT count(*) AS events, min(version), max(version), max(position) - min(position) + 1 AS positions,
       bool_and((event_data ->> 'n')::bigint = version) AS in_order
  FROM eventstore.events WHERE stream_id = 'bulk-1';
SELECT eventstore.append('bulk-2', format('[{"type": "%s", "data": {}, "schema_version": 2147483647}]',
                                          repeat('t', 200))::jsonb) AS version;
SELECT length(event_type) AS type_bytes, schema_version FROM stored WHERE stream_id = 'bulk-2';

-------------------------------------------------------------------------------
-- Categories: the stream name up to the first '-', or the whole name; an
-- explicit category for a new stream; a stream keeps its category (KB204).
-------------------------------------------------------------------------------
SELECT eventstore.append('inventory', '[{"type": "StockCounted", "data": {}}]') AS version;
SELECT eventstore.append('shipment-7-parcel-2', '[{"type": "ParcelPacked", "data": {}}]') AS version;
SELECT eventstore.append('refund-3', '[{"type": "RefundRequested", "data": {}}]', category => 'billing') AS version;
SELECT stream_id, category FROM stored
 WHERE stream_id IN ('order-123', 'inventory', 'shipment-7-parcel-2', 'refund-3')
 GROUP BY stream_id, category ORDER BY stream_id;
-- Later appends keep it, with the same category given or none.
SELECT eventstore.append('refund-3', '[{"type": "RefundApproved", "data": {}}]') AS version;
SELECT eventstore.append('refund-3', '[{"type": "RefundPaid", "data": {}}]', category => 'billing') AS version;
SELECT eventstore.append('order-123', '[{"type": "OrderNoted", "data": {}}]', category => 'order') AS version;
SELECT version, category FROM stored WHERE stream_id = 'refund-3' ORDER BY version;
-- Another category for an existing stream is refused.
SELECT * FROM store_state;
SELECT pg_temp.try($$SELECT eventstore.append('refund-3', '[{"type": "X", "data": {}}]', category => 'refund')$$);
SELECT pg_temp.try($$SELECT eventstore.append('order-123', '[{"type": "X", "data": {}}]', 8, 'orders')$$);
SELECT pg_temp.try($$SELECT eventstore.append('inventory', '[{"type": "X", "data": {}}]', category => 'Inventory')$$);
SELECT * FROM store_state;

-------------------------------------------------------------------------------
-- Argument errors: NULL (22004), negative expected_version, stream and
-- category names of 0 or more than 200 bytes (22023). Nothing is stored.
-------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT eventstore.append(NULL, '[{"type": "A", "data": {}}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('order-123', NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.append('order-123', NULL, 8)$$);
SELECT pg_temp.try($$SELECT eventstore.append('order-123', '[{"type": "A", "data": {}}]', -1)$$);
SELECT pg_temp.try($$SELECT eventstore.append('', '[{"type": "A", "data": {}}]')$$);
SELECT pg_temp.try(format($$SELECT eventstore.append('%s', '[{"type": "A", "data": {}}]')$$, repeat('s', 201)));
SELECT pg_temp.try(format($$SELECT eventstore.append('%s', '[{"type": "A", "data": {}}]')$$, repeat('é', 101)));
SELECT pg_temp.try($$SELECT eventstore.append('order-123', '[{"type": "A", "data": {}}]', category => '')$$);
SELECT pg_temp.try(format($$SELECT eventstore.append('order-123', '[{"type": "A", "data": {}}]', category => '%s')$$,
                          repeat('c', 201)));
SELECT * FROM store_state;
-- A 200-byte stream name is accepted (its category is the whole name).
SELECT eventstore.append(repeat('s', 200), '[{"type": "A", "data": {}}]', 0) AS version;
SELECT length(stream_id) AS stream_bytes, length(category) AS category_bytes
  FROM stored WHERE stream_id = repeat('s', 200);

-------------------------------------------------------------------------------
-- Transactions: a read-only transaction cannot append (25006); a transaction
-- that appended cannot be prepared (KB208) and is rolled back.
-------------------------------------------------------------------------------
SELECT * FROM store_state \gset before_
BEGIN TRANSACTION READ ONLY;
SELECT pg_temp.try($$SELECT eventstore.append('order-130', '[{"type": "A", "data": {}}]')$$);
ROLLBACK;
BEGIN;
SELECT eventstore.append('order-130', '[{"type": "A", "data": {}}]') AS version;
PREPARE TRANSACTION 'eventstore_append_2pc';
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) AS order_130_events FROM stored WHERE stream_id = 'order-130';
SELECT count(*) AS prepared FROM pg_prepared_xacts WHERE gid = 'eventstore_append_2pc';
SELECT events = :before_events AS events_unchanged FROM store_state;

-------------------------------------------------------------------------------
-- The store is append-only: UPDATE, DELETE and TRUNCATE are refused (KB207),
-- for the owner too, whatever rows they would touch, also through MERGE and
-- ON CONFLICT DO UPDATE, and also with session_replication_role = replica.
-------------------------------------------------------------------------------
SELECT * FROM store_state;
SELECT pg_temp.try($$UPDATE eventstore.events SET event_data = '{"tampered": true}' WHERE stream_id = 'order-123'$$);
SELECT pg_temp.try($$UPDATE eventstore.events SET event_type = 'X' WHERE false$$);
SELECT pg_temp.try($$DELETE FROM eventstore.events WHERE stream_id = 'order-123'$$);
SELECT pg_temp.try($$TRUNCATE eventstore.events$$);
SELECT pg_temp.try($$MERGE INTO eventstore.events e USING (SELECT 'order-123' AS s) x ON e.stream_id = x.s
                     WHEN MATCHED THEN DELETE$$);
SELECT pg_temp.try($$MERGE INTO eventstore.events e USING (SELECT 'order-123' AS s) x ON e.stream_id = x.s
                     WHEN MATCHED THEN UPDATE SET event_type = 'X'$$);
SELECT pg_temp.try($$INSERT INTO eventstore.events (stream_id, version, event_id, event_type, event_data, category)
                     SELECT stream_id, version, event_id, 'X', '{}', category FROM eventstore.events
                      WHERE stream_id = 'payment-1' AND version = 1
                     ON CONFLICT (event_id) DO UPDATE SET event_type = 'Tampered'$$);
SET session_replication_role = replica;
SELECT pg_temp.try($$UPDATE eventstore.events SET event_data = '{"tampered": true}' WHERE stream_id = 'order-123'$$);
SELECT pg_temp.try($$DELETE FROM eventstore.events WHERE stream_id = 'order-123'$$);
SELECT pg_temp.try($$TRUNCATE eventstore.events$$);
RESET session_replication_role;
SELECT * FROM store_state;
SELECT version, event_type, event_data FROM stored WHERE stream_id = 'order-123' ORDER BY version;
SELECT event_type FROM stored WHERE stream_id = 'payment-1' ORDER BY version;

-------------------------------------------------------------------------------
-- A raw INSERT by the owner takes its position from the same allocator as
-- append(): the next free one, no gap, no collision.
-------------------------------------------------------------------------------
SELECT eventstore.head() - base AS head FROM base;
INSERT INTO eventstore.events (stream_id, version, event_id, event_type, event_data, category)
VALUES ('import-1', 1, '0190a5b0-0000-7000-8000-0000000000c1', 'Imported', '{}', 'import'),
       ('import-1', 2, '0190a5b0-0000-7000-8000-0000000000c2', 'Imported', '{}', 'import')
RETURNING position - (SELECT base FROM base) AS pos, version;
SELECT eventstore.append('import-1', '[{"type": "Appended", "data": {}}]', 2) AS version;
SELECT eventstore.head() - base AS head FROM base;
SELECT pos, version, event_type FROM stored WHERE stream_id = 'import-1' ORDER BY pos;

-- Everything this file stored: one row per stream, versions 1..n without
-- holes, positions unique and increasing with the version.
SELECT CASE WHEN length(stream_id) > 40 THEN left(stream_id, 3) || '... (' || length(stream_id) || ' bytes)'
            ELSE stream_id END AS stream, count(*) AS events, max(version) AS version,
       max(version) = count(*) AS versions_dense,
       array_agg(version ORDER BY pos) = array_agg(version ORDER BY version) AS positions_follow_versions
  FROM stored GROUP BY stream_id ORDER BY stream_id COLLATE "C";
SELECT count(*) = count(DISTINCT pos) AS positions_unique FROM stored;
