-- eventstore: what the data of data/eventstore.sql reads as (no event ids,
-- no timestamps). Printed before and after the update and on the fresh
-- install; all three must equal expected/eventstore.out. Nothing here
-- writes (no poll).
SELECT position, stream_id, version, event_type, schema_version, event_data
  FROM eventstore.read_all(0) WHERE category = 'upg' ORDER BY position;
SELECT version, event_type, event_data FROM eventstore.read_stream('upg-1');
SELECT stream_id, event_data->>'email' <> 'p1@example.com' AS sealed_in_table, personal
  FROM eventstore.events WHERE event_type = 'UpgRegistered';
SELECT subscription, member, checkpoint FROM eventstore.subscription_status WHERE subscription = 'upg-sub';
SELECT stream_id, state, version FROM eventstore.projection_state WHERE projection = 'upg_counts' ORDER BY stream_id;
SELECT event_type, from_version, spec FROM eventstore.upcasters WHERE event_type LIKE 'Upg%';
SELECT count(*) AS subject_keys FROM eventstore.subject_keys WHERE subject = 'p1';
SELECT eventstore.head() AS head;
SELECT p.proname, has_function_privilege('upg_eventstore_app', p.oid, 'EXECUTE') AS granted,
       has_function_privilege('upg_eventstore_app', p.oid, 'EXECUTE WITH GRANT OPTION') AS grantable
  FROM pg_proc p WHERE p.pronamespace = 'eventstore'::regnamespace AND p.proname IN ('read_all', 'poll', 'ack', 'subscribe')
 ORDER BY 1;
