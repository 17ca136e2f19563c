-- The async projection resume_proj, with 20 events waiting at the crash,
-- has folded them without anyone calling run_projection(s) (run.sh waits
-- for it first): the eventstore startup worker resumed it.
SELECT format('resume_proj folded %s of the 20 events waiting at the crash (checkpoint %s, head %s)',
              folded, s.checkpoint, s.head)
  FROM (SELECT coalesce(sum((state ->> 'n')::int), 0) AS folded
          FROM eventstore.projection_state WHERE projection = 'resume_proj') f,
       eventstore.projection_status s
 WHERE s.name = 'resume_proj' AND f.folded <> 20;
