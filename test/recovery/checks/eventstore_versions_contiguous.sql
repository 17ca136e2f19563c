-- Each stream's versions are 1..n without gaps or repeats, in position order
-- (writers of one stream are serialized), and a stream keeps one category.
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET enable_bitmapscan = off;
SELECT format('stream %s: %s events, versions %s..%s (%s distinct), %s categories',
              stream_id, count(*), min(version), max(version), count(DISTINCT version), count(DISTINCT category))
  FROM eventstore.events GROUP BY stream_id
HAVING min(version) <> 1 OR max(version) <> count(*) OR count(DISTINCT version) <> count(*)
    OR count(DISTINCT category) <> 1
UNION ALL
SELECT format('stream %s: version %s at position %s comes after version %s at position %s',
              stream_id, version, position, prev_version, prev_position)
  FROM (SELECT stream_id, version, position,
               lag(version) OVER w AS prev_version, lag(position) OVER w AS prev_position
          FROM eventstore.events WINDOW w AS (PARTITION BY stream_id ORDER BY version, position)) x
 WHERE prev_position >= position;
