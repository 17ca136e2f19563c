-- Rows that committed before a crash (the newest 200 events, holds, orders
-- and posts, recorded in rc.witness in a transaction that committed just
-- before the crash) are all there after it, unchanged. The direct write
-- paths (eventstore's append, commerce's hold, feed's fan-out) write heap
-- pages themselves: a change they did not WAL-log is lost with the shared
-- buffers.
SELECT format('%s %s, witnessed before the crash of round %s: %s', w.kind, w.key, w.round,
              CASE WHEN x.key IS NULL THEN 'missing' ELSE 'changed' END)
  FROM rc.witness w LEFT JOIN rc.witnessable x USING (kind, key)
 WHERE x.digest IS DISTINCT FROM w.digest
 ORDER BY w.round, w.kind, w.key
 LIMIT 50;
