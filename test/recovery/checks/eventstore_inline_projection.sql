-- The inline projection rc_inline (counts the events of each acct- stream)
-- is folded in the appending transaction: every stream of its category has
-- a state at its last version, with n = number of events, and a snapshot at
-- every fifth version holding n = that version.
WITH ev AS (SELECT stream_id, count(*) AS n, max(version) AS v, max(position) AS p
              FROM eventstore.events WHERE category = 'acct' GROUP BY stream_id),
     st AS (SELECT stream_id, state, version, position FROM eventstore.projection_state
             WHERE projection = 'rc_inline')
SELECT format('rc_inline, stream %s: %s events up to version %s at position %s; state %s at version %s, position %s',
              stream_id, ev.n, ev.v, ev.p, st.state, st.version, st.position)
  FROM ev FULL JOIN st USING (stream_id)
 WHERE ev.stream_id IS NULL OR st.stream_id IS NULL
    OR (st.state->>'n')::bigint IS DISTINCT FROM ev.n OR (st.state->>'v')::bigint IS DISTINCT FROM ev.v
    OR (st.state->>'p')::bigint IS DISTINCT FROM ev.p OR st.version <> ev.v OR st.position <> ev.p
UNION ALL
SELECT format('rc_inline, stream %s: snapshot at version %s is %s', e.stream_id, e.version, sn.state)
  FROM eventstore.events e
  LEFT JOIN eventstore.snapshots sn
         ON sn.projection = 'rc_inline' AND sn.stream_id = e.stream_id AND sn.version = e.version
 WHERE e.category = 'acct' AND e.version % 5 = 0
   AND (sn.state IS NULL OR (sn.state->>'n')::bigint <> e.version OR sn.position <> e.position)
 LIMIT 50;
