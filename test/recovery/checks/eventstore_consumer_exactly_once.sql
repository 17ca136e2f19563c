-- The transactional consumer of rc_sub (poll, record, ack in one
-- transaction): every event up to its member's checkpoint was recorded
-- exactly once, by that member, and nothing beyond the checkpoint was.
WITH s AS (SELECT members FROM eventstore.subscriptions WHERE name = 'rc_sub'),
     cp AS (SELECT member, position FROM eventstore.subscription_checkpoints WHERE subscription = 'rc_sub'),
     expected AS (SELECT m.member, e.position
                    FROM eventstore.events e CROSS JOIN s
                    CROSS JOIN LATERAL (SELECT rc.member_of(e.stream_id, s.members) AS member) m
                    JOIN cp ON cp.member = m.member AND e.position <= cp.position),
     got AS (SELECT member, position, count(*) AS n FROM rc.consumed GROUP BY member, position)
SELECT format('rc_sub member %s, position %s: recorded %s times, expected %s',
              member, position, coalesce(got.n, 0), CASE WHEN expected.position IS NULL THEN 0 ELSE 1 END)
  FROM expected FULL JOIN got USING (member, position)
 WHERE coalesce(got.n, 0) <> CASE WHEN expected.position IS NULL THEN 0 ELSE 1 END
 ORDER BY position
 LIMIT 50;
