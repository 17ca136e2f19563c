-- A checkpoint far beyond the head.
UPDATE eventstore.subscription_checkpoints SET position = position + 1000000
 WHERE subscription = 'rc_sub' AND member = 0;
