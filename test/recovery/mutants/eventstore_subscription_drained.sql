-- A member's checkpoint goes back to the start: its events are undelivered.
UPDATE eventstore.subscription_checkpoints SET position = 0 WHERE subscription = 'rc_sub' AND member = 0;
