-- Positions and event ids are unique, read from the heap (a sequential scan:
-- what the indexes say is amcheck's part).
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET enable_bitmapscan = off;
SELECT format('position %s is stored %s times', position, count(*))
  FROM eventstore.events GROUP BY position HAVING count(*) > 1
UNION ALL
SELECT format('event id %s is stored %s times', event_id, count(*))
  FROM eventstore.events GROUP BY event_id HAVING count(*) > 1;
