-- eventstore positions across restarts and updates: the durable reserve
-- mark (docs/eventstore.md, "Restart and failover"). The restart itself is
-- tested by the crash-recovery suite (test/recovery, es_positions_forward);
-- here: the mark lies at or above everything handed out, it only grows, a
-- database updated from 0.1.0 gets it, and a re-created extension starts
-- over.
\i sql/include/try.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS eventstore CASCADE;
-- A database at 0.1.0 (no mark): its counter is loaded from the table.
CREATE EXTENSION eventstore VERSION '0.1.0';
RESET client_min_messages;
SELECT eventstore.append('pos-1', '[{"type": "Opened", "data": {}}]');
BEGIN;
SELECT eventstore.append('pos-2', (SELECT jsonb_agg(jsonb_build_object('type', 'Opened', 'data', '{}'::jsonb))
                                     FROM generate_series(1, 50)));
ROLLBACK;
SELECT eventstore.head() AS head_before_update;
SET client_min_messages = warning;
ALTER EXTENSION eventstore UPDATE;
RESET client_min_messages;
-- Nothing is raised by the update itself; the first append raises the mark
-- above every position handed out (the 50 rolled back included) and its own.
SELECT last_value AS mark_after_update FROM eventstore.position_reserve;
SELECT eventstore.append('pos-3', '[{"type": "Opened", "data": {}}]');
SELECT position AS pos3 FROM eventstore.events WHERE stream_id = 'pos-3' \gset
SELECT :pos3 AS pos3, last_value >= :pos3 + 4096 AS mark_above, last_value AS mark
  FROM eventstore.position_reserve;
-- Appends within the mark do not raise it; one that passes it does, by at
-- least 4096 beyond what it takes (the stride doubles while raises come
-- less than a second apart, up to 1048576).
SELECT last_value AS mark0 FROM eventstore.position_reserve \gset
SELECT count(eventstore.append('pos-4', '[{"type": "Opened", "data": {}}]')) FROM generate_series(1, 10);
SELECT last_value = :mark0 AS unchanged FROM eventstore.position_reserve;
SELECT eventstore.append('pos-5', (SELECT jsonb_agg(jsonb_build_object('type', 'Opened', 'data', '{}'::jsonb))
                                     FROM generate_series(1, 5000)));
SELECT max(position) AS maxpos FROM eventstore.events \gset
SELECT :maxpos - :pos3 AS taken_since_pos3,
       last_value BETWEEN :maxpos + 4096 AND :maxpos + 1048576 AS mark_beyond_by_the_stride
  FROM eventstore.position_reserve;
SELECT eventstore.head() <= last_value AS head_within_mark FROM eventstore.position_reserve;
-- Rolled back appends keep their positions: the next append comes after.
BEGIN;
SELECT eventstore.append('pos-6', '[{"type": "Opened", "data": {}}]');
ROLLBACK;
SELECT eventstore.append('pos-7', '[{"type": "Opened", "data": {}}]');
SELECT position - :maxpos AS pos7_after_maxpos FROM eventstore.events WHERE stream_id = 'pos-7';
-- The mark is for append alone: nothing is granted on it.
SELECT relacl IS NULL AS no_grants FROM pg_class WHERE oid = 'eventstore.position_reserve'::regclass;
SELECT count(*) AS dumped FROM pg_extension e, unnest(e.extconfig) c
 WHERE e.extname = 'eventstore' AND c = 'eventstore.position_reserve'::regclass;
-- A dropped mark: append refuses (KB001) rather than hand out positions
-- no restart would respect.
SELECT last_value - (SELECT max(position) FROM eventstore.events) + 1 AS past_mark FROM eventstore.position_reserve \gset
BEGIN;
SET LOCAL client_min_messages = warning;
ALTER EXTENSION eventstore DROP SEQUENCE eventstore.position_reserve;
DROP SEQUENCE eventstore.position_reserve;
SELECT pg_temp.try(format($$SELECT eventstore.append('pos-8', (SELECT jsonb_agg(jsonb_build_object('type', 'Opened', 'data', '{}'::jsonb)) FROM generate_series(1, %s)))$$, :past_mark));
ROLLBACK;
-- A re-created extension starts over, at 1.
SET client_min_messages = warning;
DROP EXTENSION eventstore CASCADE;
CREATE EXTENSION eventstore;
RESET client_min_messages;
SELECT last_value AS fresh_mark FROM eventstore.position_reserve;
SELECT eventstore.append('pos-9', '[{"type": "Opened", "data": {}}]');
SELECT position, last_value AS mark FROM eventstore.events, eventstore.position_reserve;
