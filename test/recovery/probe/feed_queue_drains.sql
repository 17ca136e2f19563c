-- The fan-out queued before the crash has drained (run.sh waits for the
-- queue first), and every follower of the author has the post.
SELECT format('fan-out job %s for post %s still queued: %s of %s followers processed',
              kind, post_id, processed, followers_total)
  FROM feed.fanout_jobs
UNION ALL
SELECT format('follower %s lacks post %s', f.follower_id, b.value)
  FROM feed.follows f, rcp.before b
 WHERE b.name = 'queued_post' AND f.followee_id = 1
   AND NOT EXISTS (SELECT 1 FROM feed.timelines t WHERE t.user_id = f.follower_id AND t.post_id = b.value);
