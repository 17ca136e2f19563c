-- The async projection folds its next batch.
SELECT eventstore.run_projection('rc_async', 200);
