-- eventstore subscriptions: subscribe (idempotent, conflicts), poll/ack
-- (at least once, checkpoints never move back), category subscriptions,
-- members that split the events by stream, unsubscribe, the
-- subscription_status view, and every error path.
--
-- Global positions depend on what ran before in this database, so they are
-- shown relative to the head when this file starts (pos = position - base).
-- Generated event ids and timestamps are never printed.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS eventstore;
RESET client_min_messages;

CREATE TEMP TABLE base AS SELECT eventstore.head() AS base;
SELECT base AS base FROM base \gset
-- Every subscription and member checkpoint, relative to base (after a failed
-- call: unchanged).
CREATE TEMP VIEW subs AS
SELECT s.name, s.category, s.members, c.member, c.position - b.base AS checkpoint
  FROM eventstore.subscriptions s
  JOIN eventstore.subscription_checkpoints c ON c.subscription = s.name
 CROSS JOIN base b
 ORDER BY s.name, c.member;

-- Events: four shipment streams and two invoice streams, interleaved.
SELECT eventstore.append('shipment-1', '[{"type": "Packed", "data": {}}, {"type": "Sent", "data": {}}]') AS version;
SELECT eventstore.append('invoice-1', '[{"type": "Issued", "data": {"total": 10}}]') AS version;
SELECT eventstore.append('shipment-2', '[{"type": "Packed", "data": {}}]') AS version;
SELECT eventstore.append('shipment-3', '[{"type": "Packed", "data": {}}]') AS version;
SELECT eventstore.append('invoice-2', '[{"type": "Issued", "data": {"total": 20}}]') AS version;
SELECT eventstore.append('shipment-2', '[{"type": "Sent", "data": {}}, {"type": "Delivered", "data": {}}]') AS version;
SELECT eventstore.append('invoice-1', '[{"type": "Paid", "data": {}}]') AS version;
SELECT eventstore.append('shipment-4', '[{"type": "Packed", "data": {}}]') AS version;
SELECT eventstore.append('shipment-1', '[{"type": "Delivered", "data": {}}]') AS version;
SELECT eventstore.append('shipment-3', '[{"type": "Lost", "data": {}}]') AS version;
SELECT position - :base AS pos, stream_id, version, event_type, category
  FROM eventstore.events WHERE position > :base ORDER BY position;

-------------------------------------------------------------------------------
-- subscribe: idempotent with the same settings, KB206 with others.
-------------------------------------------------------------------------------
SELECT eventstore.subscribe('tracking', start_after => :base);
SELECT * FROM subs;
SELECT eventstore.subscribe('tracking', start_after => :base);
SELECT eventstore.subscribe('tracking', NULL, 1);
SELECT * FROM subs;
SELECT pg_temp.try($$SELECT eventstore.subscribe('tracking', 'shipment')$$);
SELECT pg_temp.try($$SELECT eventstore.subscribe('tracking', NULL, 2)$$);
SELECT eventstore.subscribe('billing', 'invoice', start_after => :base);
SELECT pg_temp.try($$SELECT eventstore.subscribe('billing')$$);
SELECT pg_temp.try($$SELECT eventstore.subscribe('billing', 'shipment')$$);
SELECT pg_temp.try($$SELECT eventstore.subscribe('billing', 'invoice', 4)$$);
SELECT * FROM subs;
-- The default start is before the first event ever stored.
SELECT eventstore.subscribe('from-start');
SELECT checkpoint = -:base AS starts_at_0 FROM subs WHERE name = 'from-start';
SELECT (SELECT min(position) FROM eventstore.poll('from-start', 1)) = (SELECT min(position) FROM eventstore.events)
       AS first_poll_starts_at_first_event;
SELECT eventstore.unsubscribe('from-start');

-- Argument errors: nothing is created.
SELECT pg_temp.try($$SELECT eventstore.subscribe('bad', NULL, 0)$$);
SELECT pg_temp.try($$SELECT eventstore.subscribe('bad', NULL, -1)$$);
SELECT pg_temp.try($$SELECT eventstore.subscribe('bad', NULL, 1025)$$);
SELECT pg_temp.try($$SELECT eventstore.subscribe('bad', NULL, 2147483648)$$);
SELECT pg_temp.try($$SELECT eventstore.subscribe('bad', NULL, 1, -1)$$);
SELECT pg_temp.try($$SELECT eventstore.subscribe('')$$);
SELECT pg_temp.try(format($$SELECT eventstore.subscribe('%s')$$, repeat('n', 201)));
SELECT pg_temp.try($$SELECT eventstore.subscribe('bad', '')$$);
SELECT pg_temp.try(format($$SELECT eventstore.subscribe('bad', '%s')$$, repeat('c', 201)));
SELECT pg_temp.try($$SELECT eventstore.subscribe(NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.subscribe('bad', NULL, NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.subscribe('bad', NULL, 1, NULL)$$);
SELECT * FROM subs;
-- The limits are accepted: 1024 members, a 200-byte name.
SELECT eventstore.subscribe('wide', members => 1024, start_after => :base);
SELECT count(*) AS members, min(member), max(member) FROM subs WHERE name = 'wide';
SELECT eventstore.unsubscribe('wide');
SELECT eventstore.subscribe(repeat('n', 200), start_after => :base);
SELECT eventstore.unsubscribe(repeat('n', 200));

-------------------------------------------------------------------------------
-- poll and ack: at least once, in position order, checkpoints only forward.
-------------------------------------------------------------------------------
SELECT member, position - :base AS pos, stream_id, version, event_type, category
  FROM eventstore.poll('tracking', 3);
-- Not acknowledged: the same events come again.
SELECT member, position - :base AS pos FROM eventstore.poll('tracking', 3);
-- A delivery is the member, then exactly the stored event.
SELECT bool_and(to_jsonb(d) - 'member' = (SELECT to_jsonb(e) - 'personal' FROM eventstore.events e WHERE e.position = d.position))
       AS deliveries_are_stored_rows
  FROM eventstore.poll('tracking', 100) d;
SELECT eventstore.ack('tracking', :base + 3) - :base AS checkpoint;
SELECT member, position - :base AS pos FROM eventstore.poll('tracking', 3);
-- ack with the member poll returned (0) is the same as without.
SELECT eventstore.ack('tracking', :base + 6, 0) - :base AS checkpoint;
-- ack never moves a checkpoint back; an older or equal position is a no-op.
SELECT eventstore.ack('tracking', :base + 2) - :base AS checkpoint;
SELECT eventstore.ack('tracking', :base + 6) - :base AS checkpoint;
SELECT eventstore.ack('tracking', 0) - :base AS checkpoint;
SELECT * FROM subs WHERE name = 'tracking';
-- Errors: beyond the head, negative, NULL, unknown subscription, bad member.
-- (The message names absolute positions: shown as <head> and <head + 1>.)
SELECT eventstore.head() AS head \gset
SELECT regexp_replace(regexp_replace(pg_temp.try(format('SELECT eventstore.ack(%L, %s)', 'tracking', :head + 1)),
                                     '\m' || (:head + 1) || '\M', '<head + 1>'), '\m' || :head || '\M', '<head>') AS try;
SELECT regexp_replace(pg_temp.try($$SELECT eventstore.ack('tracking', 9223372036854775807)$$),
                      '\m' || :head || '\M', '<head>') AS try;
SELECT pg_temp.try($$SELECT eventstore.ack('tracking', -1)$$);
SELECT pg_temp.try($$SELECT eventstore.ack('tracking', NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.ack(NULL, 1)$$);
SELECT pg_temp.try($$SELECT eventstore.ack('nobody', 1)$$);
SELECT pg_temp.try($$SELECT eventstore.ack('tracking', 1, 2147483648)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('tracking', 2147483648)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('tracking', 10, -2147483649)$$);
SELECT pg_temp.try($$SELECT eventstore.ack('', 1)$$);
SELECT pg_temp.try(format('SELECT eventstore.ack(%L, %s, 1)', 'tracking', :base + 7));
SELECT pg_temp.try(format('SELECT eventstore.ack(%L, %s, -1)', 'tracking', :base + 7));
SELECT * FROM subs WHERE name = 'tracking';
-- Up to the head, then nothing more to poll.
SELECT member, position - :base AS pos, stream_id FROM eventstore.poll('tracking', 100);
SELECT eventstore.ack('tracking', eventstore.head()) - :base AS checkpoint;
SELECT count(*) AS nothing_left FROM eventstore.poll('tracking', 100);
-- New events arrive after the checkpoint.
SELECT eventstore.append('shipment-5', '[{"type": "Packed", "data": {}}]') AS version;
SELECT member, position - :base AS pos, stream_id FROM eventstore.poll('tracking', 100);
-- poll errors.
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('nobody')$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('tracking', 0)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('tracking', 10001)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('tracking', NULL)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll(NULL)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('')$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('tracking', 10, 1)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('tracking', 10, -1)$$);
SELECT * FROM subs WHERE name = 'tracking';

-------------------------------------------------------------------------------
-- A category subscription sees only its category.
-------------------------------------------------------------------------------
SELECT member, position - :base AS pos, stream_id, version, event_type, category FROM eventstore.poll('billing');
SELECT eventstore.ack('billing', :base + 3) - :base AS checkpoint;
SELECT member, position - :base AS pos, stream_id, version, event_type FROM eventstore.poll('billing');
-- A checkpoint may be acknowledged past other categories' events.
SELECT eventstore.ack('billing', :base + 12) - :base AS checkpoint;
SELECT count(*) AS nothing_left FROM eventstore.poll('billing');
SELECT eventstore.append('invoice-3', '[{"type": "Issued", "data": {}}]') AS version;
SELECT eventstore.append('shipment-6', '[{"type": "Packed", "data": {}}]') AS version;
SELECT member, position - :base AS pos, stream_id, category FROM eventstore.poll('billing');
-- An explicit category counts, not the stream name's prefix.
SELECT eventstore.append('shipment-7', '[{"type": "Charged", "data": {}}]', category => 'invoice') AS version;
SELECT member, position - :base AS pos, stream_id, category FROM eventstore.poll('billing');

-------------------------------------------------------------------------------
-- Members: every event goes to exactly one member, all events of a stream to
-- the same one, each member's events in position order.
-------------------------------------------------------------------------------
SELECT eventstore.subscribe('fanout', NULL, 3, :base);
CREATE TEMP TABLE got AS
SELECT d.* FROM generate_series(0, 2) m, LATERAL eventstore.poll('fanout', 100, m) d;
SELECT member, array_agg(position - :base ORDER BY position) AS positions,
       array_agg(DISTINCT stream_id ORDER BY stream_id) AS streams
  FROM got GROUP BY member ORDER BY member;
SELECT (SELECT count(*) FROM got) AS delivered,
       (SELECT count(DISTINCT position) FROM got) AS distinct_positions,
       (SELECT count(*) FROM eventstore.events WHERE position > :base) AS stored;
SELECT count(*) AS streams_in_two_members
  FROM (SELECT stream_id FROM got GROUP BY stream_id HAVING count(DISTINCT member) > 1) s;
SELECT count(*) AS events_missed
  FROM eventstore.events e WHERE e.position > :base AND NOT EXISTS (SELECT 1 FROM got g WHERE g.position = e.position);
-- Each member moves its own checkpoint; ack needs the member (KB209).
SELECT pg_temp.try(format('SELECT eventstore.ack(%L, %s)', 'fanout', :base + 5));
SELECT pg_temp.try(format('SELECT eventstore.ack(%L, %s, 3)', 'fanout', :base + 5));
SELECT eventstore.ack('fanout', max(position), member) - :base AS checkpoint
  FROM got WHERE member = 1 GROUP BY member;
SELECT * FROM subs WHERE name = 'fanout';
SELECT m AS member, count(d.position) AS left_to_poll
  FROM generate_series(0, 2) m LEFT JOIN LATERAL eventstore.poll('fanout', 100, m) d ON true
 GROUP BY m ORDER BY m;
-- Without a member, poll serves the member served least recently (here the
-- polls above served 0, then 1, then 2; each poll below is a transaction of
-- its own, so no member stays taken).
SELECT count(*) AS events, min(member) AS member FROM eventstore.poll('fanout', 100);
SELECT member AS served FROM eventstore.subscription_status WHERE subscription = 'fanout'
 ORDER BY last_poll_or_ack DESC LIMIT 1;
SELECT count(*) AS events, min(member) AS member FROM eventstore.poll('fanout', 100);
SELECT member AS served FROM eventstore.subscription_status WHERE subscription = 'fanout'
 ORDER BY last_poll_or_ack DESC LIMIT 1;
SELECT count(*) AS events, min(member) AS member FROM eventstore.poll('fanout', 100);
SELECT member AS served FROM eventstore.subscription_status WHERE subscription = 'fanout'
 ORDER BY last_poll_or_ack DESC LIMIT 1;
SELECT count(*) AS events, min(member) AS member FROM eventstore.poll('fanout', 100);
SELECT member AS served FROM eventstore.subscription_status WHERE subscription = 'fanout'
 ORDER BY last_poll_or_ack DESC LIMIT 1;

-------------------------------------------------------------------------------
-- subscription_status: one row per member.
-------------------------------------------------------------------------------
SELECT subscription, member, members, category, checkpoint - :base AS checkpoint, head - :base AS head,
       positions_behind, last_poll_or_ack = '-infinity' AS never_served
  FROM eventstore.subscription_status
 ORDER BY subscription, member;
SELECT eventstore.subscribe('idle', 'shipment', start_after => :base);
SELECT member, checkpoint - :base AS checkpoint, positions_behind, last_poll_or_ack = '-infinity' AS never_served
  FROM eventstore.subscription_status WHERE subscription = 'idle';

-------------------------------------------------------------------------------
-- Re-subscribing keeps the checkpoints; unsubscribe drops the subscription.
-------------------------------------------------------------------------------
SELECT * FROM subs WHERE name = 'tracking';
SELECT eventstore.subscribe('tracking', start_after => 0);
SELECT * FROM subs WHERE name = 'tracking';
SELECT eventstore.unsubscribe('tracking');
SELECT count(*) AS tracking_rows FROM subs WHERE name = 'tracking';
SELECT eventstore.unsubscribe('tracking');
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.poll('tracking')$$);
SELECT pg_temp.try($$SELECT eventstore.ack('tracking', 1)$$);
SELECT pg_temp.try($$SELECT eventstore.unsubscribe(NULL)$$);
SELECT pg_temp.try($$SELECT eventstore.unsubscribe('')$$);
-- A new subscription of the same name starts over.
SELECT eventstore.subscribe('tracking', 'invoice', 2, :base);
SELECT * FROM subs WHERE name = 'tracking';
SELECT eventstore.unsubscribe(name) FROM eventstore.subscriptions ORDER BY name;
SELECT count(*) AS subscriptions, (SELECT count(*) FROM eventstore.subscription_checkpoints) AS checkpoints
  FROM eventstore.subscriptions;
-- Subscriptions never change the events.
SELECT count(*) AS events FROM eventstore.events WHERE position > :base;
