-- A timeline holds only posts of authors the user follows (unfollow removes
-- them in its transaction; a background batch waits for it), and each entry
-- matches a live, fanned-out post (author and time as the post says).
SELECT format('timeline of user %s: post %s by %s, whom the user does not follow', t.user_id, t.post_id, t.author_id)
  FROM feed.timelines t
 WHERE NOT EXISTS (SELECT 1 FROM feed.follows f WHERE f.follower_id = t.user_id AND f.followee_id = t.author_id)
UNION ALL
SELECT format('timeline of user %s: post %s (author %s, %s) %s', t.user_id, t.post_id, t.author_id, t.created_at,
              CASE WHEN p.id IS NULL THEN 'does not exist'
                   WHEN p.deleted_at IS NOT NULL THEN 'was deleted'
                   WHEN NOT p.fanned_out THEN 'is pulled, never fanned out'
                   ELSE format('is by %s at %s', p.author_id, p.created_at) END)
  FROM feed.timelines t LEFT JOIN feed.posts p ON p.id = t.post_id
 WHERE p.id IS NULL OR p.deleted_at IS NOT NULL OR NOT p.fanned_out
    OR p.author_id <> t.author_id OR p.created_at <> t.created_at
 LIMIT 50;
