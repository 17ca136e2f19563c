-- After the consumer drained rc_sub: no member has an event between its
-- checkpoint and head() (what poll returns after a restart is everything).
WITH s AS (SELECT members FROM eventstore.subscriptions WHERE name = 'rc_sub'),
     cp AS (SELECT member, position FROM eventstore.subscription_checkpoints WHERE subscription = 'rc_sub'),
     h AS (SELECT eventstore.head() AS head)
SELECT format('rc_sub member %s (checkpoint %s, head %s): event at position %s was not delivered',
              cp.member, cp.position, h.head, e.position)
  FROM eventstore.events e CROSS JOIN s CROSS JOIN h
  JOIN cp ON cp.member = rc.member_of(e.stream_id, s.members)
 WHERE e.position > cp.position AND e.position <= h.head
 ORDER BY e.position
 LIMIT 50;
