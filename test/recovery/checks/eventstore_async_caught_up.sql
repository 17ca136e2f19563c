-- After run_projection was called until it folded nothing: rc_async's
-- checkpoint is head() (no event is left behind after a restart).
SELECT format('rc_async: checkpoint %s, head() %s', c.position, h.head)
  FROM eventstore.subscription_checkpoints c CROSS JOIN (SELECT eventstore.head() AS head) h
 WHERE c.subscription = 'projection:rc_async' AND c.member = 0 AND c.position <> h.head;
