-- No subscription or projection checkpoint lies beyond head() (ack refuses
-- that; after a restart the store must still be at or past every checkpoint).
SELECT format('%s member %s: checkpoint %s is beyond head() = %s', c.subscription, c.member, c.position, h.head)
  FROM eventstore.subscription_checkpoints c CROSS JOIN (SELECT eventstore.head() AS head) h
 WHERE c.position > h.head
 ORDER BY 1;
