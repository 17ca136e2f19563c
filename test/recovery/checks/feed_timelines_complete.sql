-- After the fan-out queue is drained: every fanned-out post made after a
-- follow began is in the follower's timeline (posted first: the follow's
-- backfill copied it; followed first: the post's fan-out, in its
-- transaction or in background batches). No user is dormant here, and
-- timelines are not trimmed (feed.timeline_max = 100000).
SELECT format('user %s, following %s since %s, lacks post %s of %s', f.follower_id, f.followee_id, f.created_at,
              p.id, p.created_at)
  FROM feed.follows f
  JOIN feed.posts p ON p.author_id = f.followee_id AND p.fanned_out AND p.deleted_at IS NULL
                   AND p.created_at > f.created_at
 WHERE NOT f.dormant
   AND NOT EXISTS (SELECT 1 FROM feed.timelines t
                    WHERE t.user_id = f.follower_id AND t.created_at = p.created_at AND t.post_id = p.id)
 LIMIT 50;
