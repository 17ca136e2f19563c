-- textbook: the case study's hybrid CTE home query (user_stats defined).
\set u random(1, 100000)
WITH celebrities AS (
    SELECT following_id
    FROM textbook.follows f
    JOIN textbook.user_stats us ON us.user_id = f.following_id
    WHERE f.follower_id = :u
      AND us.follower_count > 10000
),
materialized AS (
    SELECT post_id, author_id, created_at
    FROM textbook.timelines
    WHERE user_id = :u
      AND created_at > NOW() - INTERVAL '7 days'
    ORDER BY created_at DESC
    LIMIT 100
),
celebrity_posts AS (
    SELECT id AS post_id, author_id, created_at
    FROM textbook.posts
    WHERE author_id IN (SELECT following_id FROM celebrities)
      AND created_at > NOW() - INTERVAL '7 days'
    ORDER BY created_at DESC
    LIMIT 100
)
SELECT p.*
FROM textbook.posts p
JOIN (
    SELECT * FROM materialized
    UNION ALL
    SELECT * FROM celebrity_posts
) feed ON feed.post_id = p.id
ORDER BY feed.created_at DESC
LIMIT 20;
