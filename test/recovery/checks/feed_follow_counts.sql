-- follower_count and following_count equal the follows counted (docs/feed.md,
-- "Exact counts": both change in the follow's transaction).
WITH ers AS (SELECT followee_id AS id, count(*) AS n FROM feed.follows GROUP BY followee_id),
     ing AS (SELECT follower_id AS id, count(*) AS n FROM feed.follows GROUP BY follower_id)
SELECT format('user %s: follower_count %s (follows: %s), following_count %s (follows: %s)',
              u.id, u.follower_count, coalesce(ers.n, 0), u.following_count, coalesce(ing.n, 0))
  FROM feed.users u LEFT JOIN ers USING (id) LEFT JOIN ing USING (id)
 WHERE u.follower_count <> coalesce(ers.n, 0) OR u.following_count <> coalesce(ing.n, 0)
 ORDER BY u.id;
