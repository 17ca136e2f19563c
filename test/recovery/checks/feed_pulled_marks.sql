-- Pulled authors (docs/feed.md, "The home feed"): a follow is marked pulled
-- exactly when its followee's posts are pulled, and a post that was not
-- fanned out belongs to an author marked pulled no later than the post.
SELECT format('follow %s -> %s: pulled = %s, followee pulled since %s', f.follower_id, f.followee_id, f.pulled, u.pulled_since)
  FROM feed.follows f JOIN feed.users u ON u.id = f.followee_id
 WHERE f.pulled <> (u.pulled_since IS NOT NULL)
UNION ALL
SELECT format('post %s by %s at %s was not fanned out, author pulled since %s', p.id, p.author_id, p.created_at, u.pulled_since)
  FROM feed.posts p JOIN feed.users u ON u.id = p.author_id
 WHERE NOT p.fanned_out AND (u.pulled_since IS NULL OR u.pulled_since > p.created_at)
 LIMIT 50;
