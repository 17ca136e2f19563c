-- Without the primary key, a second event at the newest position (in a
-- stream of its own, so only this check can see it).
ALTER TABLE eventstore.events DROP CONSTRAINT events_pkey;
INSERT INTO eventstore.events (position, stream_id, version, event_id, event_type, event_data, category)
SELECT position, 'mutant-1', 1, gen_random_uuid(), 'Mutant', '{}', 'mutant'
  FROM eventstore.events ORDER BY position DESC LIMIT 1;
