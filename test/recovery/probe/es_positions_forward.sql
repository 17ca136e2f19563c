-- An event appended after the restart lies beyond every head() read before
-- the crash (positions never go backwards across restarts).
SELECT format('late-3 was appended after the restart at position %s, but head() was %s before the crash',
              e.position, b.value)
  FROM eventstore.events e, rcp.before b
 WHERE e.stream_id = 'late-3' AND b.name = 'head' AND e.position <= b.value;
