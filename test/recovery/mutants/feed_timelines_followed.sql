-- A post of an author user 3 does not follow lands in user 3's timeline.
INSERT INTO feed.timelines (user_id, created_at, post_id, author_id)
SELECT 3, p.created_at, p.id, p.author_id
  FROM feed.posts p
 WHERE p.fanned_out AND p.author_id <> 3
   AND p.author_id NOT IN (SELECT followee_id FROM feed.follows WHERE follower_id = 3)
 ORDER BY p.id LIMIT 1;
