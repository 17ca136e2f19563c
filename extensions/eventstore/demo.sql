-- eventstore demo: case study 5 end to end. Each workflow writes one row to
-- casebook_demo.scoreboard: whether it held, and the invariant it checked.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;

CREATE FUNCTION pg_temp.score(workflow text, ok boolean, invariant text, detail text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO casebook_demo.scoreboard (extension, workflow, ok, invariant, detail)
    VALUES ('eventstore', workflow, coalesce(ok, false), invariant, detail)
$$;
-- The SQLSTATE a statement fails with, or 'ok'.
CREATE FUNCTION pg_temp.fails_with(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
-- A second connection to this database (for transactions that stay open).
CREATE FUNCTION pg_temp.connstr() RETURNS text LANGUAGE sql AS $$
    SELECT format('host=%s port=%s dbname=%s user=%s',
                  split_part(current_setting('unix_socket_directories'), ',', 1),
                  current_setting('port'), current_database(), current_user)
$$;

-- 1. The case study's example events, which do not even insert in the
--    textbook (stream_id UUID given 'order-123'), appended with optimistic
--    concurrency.
SELECT eventstore.append('order-123', '[
  {"type": "OrderCreated",   "data": {"customer_id": 456, "items": []}},
  {"type": "ItemAdded",      "data": {"product_id": 789, "quantity": 2, "price": 19.99}},
  {"type": "OrderSubmitted", "data": {"submitted_at": "2024-01-15T10:30:00Z"}}]', 0);
SELECT pg_temp.score('append the case study''s order events',
    (SELECT array_agg(version ORDER BY version) = '{1,2,3}' AND bool_and(category = 'order')
       FROM eventstore.read_stream('order-123')),
    'stream versions 1..3 in one atomic append; category from the stream name',
    (SELECT string_agg(event_type, ' -> ' ORDER BY version) FROM eventstore.read_stream('order-123')));

SELECT pg_temp.score('a stale writer is refused',
    pg_temp.fails_with($$SELECT eventstore.append('order-123', '[{"type": "ItemAdded", "data": {"product_id": 1, "quantity": 1, "price": 5}}]', 2)$$) = 'KB201'
    AND (SELECT count(*) FROM eventstore.read_stream('order-123')) = 3,
    'expected_version 2 on a stream at 3 fails with KB201 and appends nothing',
    'wrong expected version -> KB201, stream still at version 3');

-- 2. Gap-free global order: a transaction that took position p but commits
--    late holds readers below p. The textbook's "id > last_id" consumer skips it.
SELECT dblink_connect('late', pg_temp.connstr());
SELECT dblink_exec('late', 'BEGIN');
SELECT * FROM dblink('late', $$SELECT eventstore.append('order-late', '[{"type": "OrderCreated", "data": {"customer_id": 1}}]')$$) AS t(v bigint);
SELECT eventstore.append('order-fast', '[{"type": "OrderCreated", "data": {"customer_id": 2}}]');
CREATE TEMP TABLE seen AS SELECT position, stream_id FROM eventstore.read_all(0);
CREATE TEMP TABLE textbook_seen AS SELECT position, stream_id FROM eventstore.events WHERE position > 0 ORDER BY position;
SELECT dblink_exec('late', 'COMMIT');
SELECT dblink_disconnect('late');
INSERT INTO seen SELECT position, stream_id FROM eventstore.read_all((SELECT coalesce(max(position), 0) FROM seen));
INSERT INTO textbook_seen SELECT position, stream_id FROM eventstore.events
 WHERE position > (SELECT max(position) FROM textbook_seen);
SELECT pg_temp.score('a reader during an out-of-order commit',
    (SELECT count(*) FROM seen) = (SELECT count(*) FROM eventstore.events)
    AND (SELECT count(*) FROM seen WHERE stream_id = 'order-late') = 1
    AND (SELECT count(*) FROM textbook_seen WHERE stream_id = 'order-late') = 0,
    'read_all never passes an uncommitted position: every event read once; the textbook consumer lost one',
    format('read_all saw %s of %s events; the textbook id > last query saw %s',
           (SELECT count(*) FROM seen), (SELECT count(*) FROM eventstore.events),
           (SELECT count(*) FROM textbook_seen)));

-- 3. Subscriptions: durable checkpoints, at-least-once, competing members
--    that split by stream.
SELECT eventstore.append('order-' || g, '[{"type": "OrderCreated", "data": {"customer_id": 7}}]')
  FROM generate_series(1000, 1011) g;
SELECT eventstore.subscribe('shipping', 'order', members => 3);
CREATE TEMP TABLE delivered AS SELECT * FROM eventstore.poll('shipping', 1000, 0) WHERE false;
INSERT INTO delivered SELECT * FROM eventstore.poll('shipping', 1000, 0);
INSERT INTO delivered SELECT * FROM eventstore.poll('shipping', 1000, 1);
INSERT INTO delivered SELECT * FROM eventstore.poll('shipping', 1000, 2);
SELECT eventstore.ack('shipping', max(position), member) FROM delivered GROUP BY member;
SELECT pg_temp.score('competing consumers split by stream',
    (SELECT count(*) FROM delivered) = (SELECT count(*) FROM eventstore.events WHERE category = 'order')
    AND (SELECT count(DISTINCT position) FROM delivered) = (SELECT count(*) FROM delivered)
    AND (SELECT bool_and(n = 1) FROM (SELECT count(DISTINCT member) AS n FROM delivered GROUP BY stream_id) s)
    AND NOT EXISTS (SELECT 1 FROM eventstore.poll('shipping', 10, 0)),
    'each event to exactly one of 3 members, a stream always to the same one; acked events do not come again',
    (SELECT string_agg(format('member %s: %s events', member, n), ', ' ORDER BY member)
       FROM (SELECT member, count(*) AS n FROM delivered GROUP BY member) m));

-- 4. Projections: the case study's order read model as a native reducer,
--    folded inline on every append; a rebuild gives the same state.
SELECT eventstore.create_projection('order_summary', 'order', reducer => '{
  "OrderCreated":   [{"set": "customer_id", "from": "customer_id"}, {"set": "status", "value": "draft"},
                     {"set": "items", "value": []}, {"set": "total", "value": 0}],
  "ItemAdded":      [{"append": "items", "from": "$data"}, {"increment": "total", "from": "money.amount"}],
  "ItemRemoved":    [{"remove": "items", "where": {"product_id": "product_id"}}],
  "OrderSubmitted": [{"set": "status", "value": "submitted"}, {"set": "submitted_at", "from": "submitted_at"}],
  "*":              [{"set": "version", "from": "$version"}]
}', snapshot_every => 2);
-- 5. Upcasting: ItemAdded v1 carried a bare price; v2 a money object. Stored
--    events never change; every read and replay sees v2.
SELECT eventstore.register_upcaster('ItemAdded', 1,
    '[{"move": "price", "to": "money.amount"}, {"default": "money.currency", "value": "USD"}]');
SELECT eventstore.rebuild('order_summary');
SELECT eventstore.append('order-900', '[{"type": "OrderCreated", "data": {"customer_id": 9}},
  {"type": "ItemAdded", "data": {"product_id": 1, "quantity": 1, "price": 19.99}},
  {"type": "ItemAdded", "data": {"product_id": 2, "quantity": 3, "price": 0.01}},
  {"type": "ItemAdded", "data": {"product_id": 3, "quantity": 1, "money": {"amount": 5, "currency": "USD"}}, "schema_version": 2},
  {"type": "ItemRemoved", "data": {"product_id": 2}},
  {"type": "OrderSubmitted", "data": {"submitted_at": "2026-11-27T10:00:00Z"}}]');
CREATE TEMP TABLE inline_state AS
SELECT stream_id, state FROM eventstore.projection_state WHERE projection = 'order_summary';
SELECT eventstore.rebuild('order_summary');
SELECT pg_temp.score('order projection: inline folding = rebuild',
    (SELECT state->>'status' = 'submitted' AND state->>'total' = '25.00' AND jsonb_array_length(state->'items') = 2
       FROM eventstore.projection_state WHERE projection = 'order_summary' AND stream_id = 'order-900')
    AND NOT EXISTS (SELECT 1 FROM inline_state i JOIN eventstore.projection_state p
                        ON p.projection = 'order_summary' AND p.stream_id = i.stream_id
                     WHERE p.state IS DISTINCT FROM i.state),
    'the native reducer folds each append in its transaction; a full rebuild reproduces every state exactly',
    (SELECT format('order-900: %s, total %s, %s items', state->>'status', state->>'total', jsonb_array_length(state->'items'))
       FROM eventstore.projection_state WHERE projection = 'order_summary' AND stream_id = 'order-900'));

SELECT pg_temp.score('upcasting price -> money',
    (SELECT event_data->'money' = '{"amount": 19.99, "currency": "USD"}' AND schema_version = 2
       FROM eventstore.read_stream('order-900') WHERE version = 2)
    AND (SELECT event_data = '{"price": 19.99, "quantity": 1, "product_id": 1}' AND schema_version = 1
           FROM eventstore.events WHERE stream_id = 'order-900' AND version = 2),
    'reads return schema v2; the stored v1 event is unchanged',
    (SELECT event_data::text FROM eventstore.read_stream('order-900') WHERE version = 2));

-- 6. History: snapshots every 2 events; state_at from the nearest one.
SELECT pg_temp.score('state at any version',
    (SELECT count(*) FROM eventstore.snapshots WHERE projection = 'order_summary' AND stream_id = 'order-900') = 3
    AND eventstore.state_at('order-900', 3)->>'total' = '20.00'
    AND eventstore.state_at('order-900', 4)->>'total' = '25.00'
    AND eventstore.state_at('order-900', 6) = (SELECT state FROM eventstore.projection_state
                                                WHERE projection = 'order_summary' AND stream_id = 'order-900')
    AND eventstore.state_at('order-900', now())->>'status' = 'submitted',
    'state_at(version) replays from the nearest snapshot; version 6 = the current state',
    format('totals at versions 2..6: %s',
           (SELECT string_agg(eventstore.state_at('order-900', v)->>'total', ', ' ORDER BY v) FROM generate_series(2, 6) v)));

-- 7. GDPR crypto-shredding: personal fields sealed per customer; forget()
--    destroys the key; reads and rebuilt projections hold no personal data.
SELECT eventstore.set_personal_fields('CustomerRegistered', 'customer_id', '{email,address}');
SELECT eventstore.create_projection('customer_directory', 'customer', reducer => '{
  "CustomerRegistered": [{"set": "email", "from": "email"}, {"set": "address", "from": "address"},
                         {"set": "tier", "from": "tier"}]}');
SELECT eventstore.append('customer-456', '[{"type": "CustomerRegistered", "data": {"customer_id": 456,
  "email": "ana@example.com", "address": {"street": "1 Rua Augusta", "city": "Lisbon"}, "tier": "gold"}}]');
CREATE TEMP TABLE before_forget AS
SELECT (SELECT event_data->>'email' FROM eventstore.read_stream('customer-456')) AS read_email,
       (SELECT event_data->>'email' FROM eventstore.events WHERE stream_id = 'customer-456') AS stored_email;
SELECT eventstore.forget('456');
SELECT pg_temp.score('forget a customer',
    (SELECT read_email = 'ana@example.com' AND stored_email NOT LIKE '%@%' FROM before_forget)
    AND (SELECT event_data->'email' = 'null' AND event_data->'address' = 'null' AND event_data->>'tier' = 'gold'
           FROM eventstore.read_stream('customer-456'))
    AND (SELECT state->'email' = 'null' FROM eventstore.projection_state WHERE projection = 'customer_directory')
    AND NOT EXISTS (SELECT 1 FROM eventstore.projection_state WHERE state::text LIKE '%ana@%')
    AND NOT EXISTS (SELECT 1 FROM eventstore.subject_keys WHERE subject = '456'),
    'sealed at rest; after forget the fields read as null everywhere and the projection holds no personal data',
    'stored: ciphertext; read before forget: ana@example.com; after: null (tier still gold)');

-- 8. Append-only: the store refuses to change its past.
CREATE TEMP TABLE tamper AS
SELECT pg_temp.fails_with($$UPDATE eventstore.events SET event_data = '{}'$$) AS on_update,
       pg_temp.fails_with($$DELETE FROM eventstore.events$$) AS on_delete,
       pg_temp.fails_with($$TRUNCATE eventstore.events$$) AS on_truncate;
SELECT pg_temp.score('events are append-only',
    (SELECT on_update = 'KB207' AND on_delete = 'KB207' AND on_truncate = 'KB207' FROM tamper),
    'UPDATE, DELETE and TRUNCATE fail with KB207, even for the owner',
    (SELECT format('UPDATE %s, DELETE %s, TRUNCATE %s; %s events intact', on_update, on_delete, on_truncate,
                   (SELECT count(*) FROM eventstore.events)) FROM tamper));
