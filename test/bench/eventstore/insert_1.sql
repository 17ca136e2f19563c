-- Baseline: the case study's plain INSERT of one event into a new stream.
INSERT INTO textbook.events (stream_id, stream_type, event_type, event_data, version)
VALUES (gen_random_uuid(), 'Order', 'OrderCreated', '{"customer_id": 456, "items": []}', 1);
