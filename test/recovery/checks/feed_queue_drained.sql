-- The fan-out queue is empty (run after it was given the chance to drain).
SELECT format('fan-out job %s for post %s (author %s): %s of %s followers processed, queued at %s',
              kind, post_id, author_id, processed, followers_total, enqueued_at)
  FROM feed.fanout_jobs ORDER BY enqueued_at;
