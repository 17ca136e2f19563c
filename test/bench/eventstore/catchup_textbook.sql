-- Baseline: the textbook subscription query, 1,000 events after a random id.
\set after random(0, 99000)
SELECT count(*) FROM (SELECT * FROM textbook.events WHERE id > :after ORDER BY id LIMIT 1000) e;
