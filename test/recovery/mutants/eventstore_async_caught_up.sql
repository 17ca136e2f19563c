-- The async checkpoint is left one position behind.
UPDATE eventstore.subscription_checkpoints SET position = position - 1
 WHERE subscription = 'projection:rc_async';
