-- eventstore: personal fields and crypto-shredding (set_personal_fields,
-- sealing on append, opening on read and replay, forget).
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS eventstore;
RESET client_min_messages;

SELECT eventstore.set_personal_fields('CustomerRegistered', 'customer_id', '{email,address.street}');
SELECT eventstore.set_personal_fields('EmailChanged', 'customer_id', '{email}');
SELECT event_type, subject_path, fields FROM eventstore.personal_fields ORDER BY 1;
SELECT eventstore.create_projection('pii_customers', 'pii', reducer => '{
  "CustomerRegistered": [{"set": "email", "from": "email"}, {"set": "street", "from": "address.street"},
                         {"set": "city", "from": "address.city"}],
  "EmailChanged": [{"set": "email", "from": "email"}]}', snapshot_every => 1);

SELECT eventstore.append('pii-42', jsonb_build_array(
    jsonb_build_object('type', 'CustomerRegistered', 'id', '0190f3a4-1b2c-7d3e-8f40-a1b2c3d4e5f6',
                       'data', jsonb_build_object('customer_id', 42, 'email', 'alice@example.com',
                                                  'address', jsonb_build_object('street', '1 Main St', 'city', 'Lisbon')))));
SELECT eventstore.append('pii-43', '[{"type": "CustomerRegistered", "data": {"customer_id": "c-43", "email": "bob@example.com"}}]');
SELECT eventstore.append('pii-42', '[{"type": "EmailChanged", "data": {"customer_id": 42, "email": "alice@new.example"}}]');

-- Stored: the personal fields are ciphertext; the rest is clear; the event
-- records which fields are sealed for which subject.
SELECT stream_id, version,
       event_data->>'email' NOT LIKE '%@%' AS email_sealed,
       (event_data #>> '{address,street}') <> '1 Main St' AS street_sealed,
       event_data #>> '{address,city}' AS city, event_data->'customer_id' AS customer_id, personal
  FROM eventstore.events WHERE category = 'pii' ORDER BY position;
SELECT count(*) AS keys FROM eventstore.subject_keys;
SELECT subject, stream_id FROM eventstore.subject_streams ORDER BY 1, 2;

-- Read: opened again, on every read path.
SELECT stream_id, version, event_data FROM eventstore.read_stream('pii-42');
SELECT stream_id, event_data->>'email' AS email FROM eventstore.read_category('pii', 0) ORDER BY position;
SELECT eventstore.subscribe('pii_consumer', 'pii');
SELECT stream_id, event_data->>'email' AS email FROM eventstore.poll('pii_consumer', 10);
SELECT stream_id, state FROM eventstore.projection_state WHERE projection = 'pii_customers' ORDER BY 1;

-- An idempotent retry compares against the opened data: same event = no-op,
-- different data under the same id = KB203.
SELECT eventstore.append('pii-42', jsonb_build_array(
    jsonb_build_object('type', 'CustomerRegistered', 'id', '0190f3a4-1b2c-7d3e-8f40-a1b2c3d4e5f6',
                       'data', jsonb_build_object('customer_id', 42, 'email', 'alice@example.com',
                                                  'address', jsonb_build_object('street', '1 Main St', 'city', 'Lisbon')))))
       AS retried_version;
SELECT pg_temp.try($$SELECT eventstore.append('pii-42', '[{"type": "CustomerRegistered", "id": "0190f3a4-1b2c-7d3e-8f40-a1b2c3d4e5f6", "data": {"customer_id": 42, "email": "mallory@example.com"}}]')$$);
SELECT count(*) AS events FROM eventstore.events WHERE category = 'pii';

-- A ciphertext moved to another event does not open there (the event id and
-- field path are bound in): the owner copies alice's sealed email into bob's
-- event through a raw INSERT, and the read shows NULL, not alice's address.
INSERT INTO eventstore.events (stream_id, version, event_id, event_type, event_data, personal, category)
SELECT 'pii-43', 2, '0190f3a4-1b2c-7d3e-8f40-000000000001', 'EmailChanged',
       jsonb_build_object('customer_id', 'c-43', 'email', event_data->'email'),
       '{"subject": "42", "fields": ["email"]}', 'pii'
  FROM eventstore.events WHERE stream_id = 'pii-42' AND version = 1;
SELECT version, event_data->'email' AS email FROM eventstore.read_stream('pii-43');

-- forget: the key is gone, reads return NULL for the sealed fields, and the
-- projection of the subject's streams is rebuilt without them (snapshots too).
SELECT eventstore.forget('42') AS had_key;
SELECT count(*) AS keys_left, bool_and(subject = 'c-43') AS only_bob FROM eventstore.subject_keys;
SELECT stream_id, version, event_data FROM eventstore.read_stream('pii-42');
SELECT stream_id, state FROM eventstore.projection_state WHERE projection = 'pii_customers' ORDER BY 1;
SELECT stream_id, version, state FROM eventstore.snapshots WHERE projection = 'pii_customers' ORDER BY 1, 2;
SELECT eventstore.rebuild('pii_customers') AS rebuilt;
SELECT count(*) AS states_with_alice FROM eventstore.projection_state WHERE state::text LIKE '%alice%';
SELECT count(*) AS snapshots_with_alice FROM eventstore.snapshots WHERE state::text LIKE '%alice%';
-- Stored events are unchanged (still sealed, still there).
SELECT count(*) AS events, count(*) FILTER (WHERE personal IS NOT NULL) AS sealed
  FROM eventstore.events WHERE category = 'pii';
-- Bob is untouched.
SELECT event_data->>'email' AS email FROM eventstore.read_stream('pii-43') WHERE version = 1;
-- Forgetting again, or an unknown subject: false.
SELECT eventstore.forget('42') AS again, eventstore.forget('nobody') AS unknown;
-- New events of a forgotten subject get a new key (a new subject lifetime).
SELECT eventstore.append('pii-42', '[{"type": "EmailChanged", "data": {"customer_id": 42, "email": "alice@third.example"}}]');
SELECT version, event_data->>'email' AS email FROM eventstore.read_stream('pii-42');

-- Error paths: nothing changed by any of them.
SELECT count(*) AS events_before FROM eventstore.events WHERE category = 'pii' \gset
SELECT pg_temp.try($$SELECT eventstore.append('pii-44', '[{"type": "CustomerRegistered", "data": {"email": "x@example.com"}}]')$$);
SELECT pg_temp.try($$SELECT eventstore.append('pii-44', '[{"type": "CustomerRegistered", "data": {"customer_id": {"nested": 1}, "email": "x@example.com"}}]')$$);
SELECT pg_temp.try($$SELECT eventstore.set_personal_fields('T', 'id', '{}')$$);
SELECT pg_temp.try($$SELECT eventstore.set_personal_fields('T', 'id', '{id}')$$);
SELECT pg_temp.try($$SELECT eventstore.set_personal_fields('T', 'a..b', '{x}')$$);
SELECT pg_temp.try($$SELECT eventstore.set_personal_fields('T', 'id', '{"x."}')$$);
SELECT pg_temp.try($$SELECT eventstore.set_personal_fields('T', 'id', '{x,NULL}')$$);
SELECT pg_temp.try($$SELECT eventstore.set_personal_fields('T', 'id', NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.set_personal_fields('', 'id', '{x}')$$);
SELECT pg_temp.try($$SELECT eventstore.forget('')$$);
SELECT pg_temp.try($$SELECT eventstore.forget(NULL)$$);
SELECT count(*) - :events_before AS events_added FROM eventstore.events WHERE category = 'pii';
SELECT count(*) AS definitions FROM eventstore.personal_fields;

-- A NULL subject path removes a type's definition: later events are stored clear.
SELECT eventstore.set_personal_fields('EmailChanged', NULL, NULL);
SELECT eventstore.append('pii-43', '[{"type": "EmailChanged", "data": {"customer_id": "c-43", "email": "bob@clear.example"}}]');
SELECT version, event_data->>'email' LIKE '%@%' AS stored_in_clear, personal IS NULL AS no_personal
  FROM eventstore.events WHERE stream_id = 'pii-43' ORDER BY version;

SELECT eventstore.drop_projection('pii_customers');
SELECT eventstore.unsubscribe('pii_consumer');
