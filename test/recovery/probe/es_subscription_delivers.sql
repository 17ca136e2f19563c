-- The event appended after the restart is delivered to late_sub, whose
-- checkpoint was set before the crash.
SELECT format('late-3 (position %s) is not delivered to late_sub (checkpoint %s)', e.position, c.position)
  FROM eventstore.events e
  JOIN eventstore.subscription_checkpoints c ON c.subscription = 'late_sub'
 WHERE e.stream_id = 'late-3'
   AND NOT EXISTS (SELECT 1 FROM eventstore.poll('late_sub', 100) d WHERE d.position = e.position);
