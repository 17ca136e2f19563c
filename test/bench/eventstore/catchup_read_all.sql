-- casebook: read_all, 1,000 events after a random position (gap-free horizon).
\set after random(0, 99000)
SELECT count(*) FROM eventstore.read_all(:after, 1000);
