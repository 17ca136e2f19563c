-- The async projection rc_async folds a batch and moves its checkpoint in one
-- transaction (exactly once): each ship- stream's state covers exactly the
-- events at or below the checkpoint, n = their number.
WITH cp AS (SELECT position FROM eventstore.subscription_checkpoints
             WHERE subscription = 'projection:rc_async' AND member = 0),
     ev AS (SELECT stream_id, count(*) AS n, max(version) AS v, max(e.position) AS p
              FROM eventstore.events e, cp WHERE e.category = 'ship' AND e.position <= cp.position
             GROUP BY stream_id),
     st AS (SELECT stream_id, state, version, position FROM eventstore.projection_state
             WHERE projection = 'rc_async')
SELECT 'rc_async has no checkpoint' WHERE NOT EXISTS (SELECT 1 FROM cp)
UNION ALL
SELECT format('rc_async, stream %s: %s events up to version %s at or below the checkpoint; state %s at version %s',
              stream_id, ev.n, ev.v, st.state, st.version)
  FROM ev FULL JOIN st USING (stream_id)
 WHERE ev.stream_id IS NULL OR st.stream_id IS NULL
    OR (st.state->>'n')::bigint IS DISTINCT FROM ev.n OR (st.state->>'v')::bigint IS DISTINCT FROM ev.v
    OR (st.state->>'p')::bigint IS DISTINCT FROM ev.p OR st.version <> ev.v
 LIMIT 50;
