-- A raw insert leaves a gap in the oldest stream's versions.
INSERT INTO eventstore.events (stream_id, version, event_id, event_type, event_data, category)
SELECT stream_id, max(version) + 2, gen_random_uuid(), 'Mutant', '{}', min(category)
  FROM eventstore.events
 WHERE stream_id = (SELECT stream_id FROM eventstore.events ORDER BY position LIMIT 1)
 GROUP BY stream_id;
