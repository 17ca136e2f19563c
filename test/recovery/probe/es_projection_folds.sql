-- The async projection late_proj, whose checkpoint was set before the crash,
-- folds the event appended after it (after_restart.sql ran it).
SELECT format('late_proj did not fold late-3 (checkpoint %s, late-3 at position %s)', c.position, e.position)
  FROM eventstore.events e
  JOIN eventstore.subscription_checkpoints c ON c.subscription = 'projection:late_proj'
 WHERE e.stream_id = 'late-3'
   AND NOT EXISTS (SELECT 1 FROM eventstore.projection_state s
                    WHERE s.projection = 'late_proj' AND s.stream_id = 'late-3');
