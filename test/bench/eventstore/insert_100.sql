-- Baseline: the case study's plain INSERT of a 100-event batch (one new stream).
INSERT INTO textbook.events (stream_id, stream_type, event_type, event_data, version)
SELECT s.id, 'Order', e.value->>'type', e.value->'data', e.ordinality
  FROM (SELECT gen_random_uuid() AS id) s,
       jsonb_array_elements((SELECT events FROM bench.batch)) WITH ORDINALITY e;
