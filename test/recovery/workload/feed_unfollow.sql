-- An unfollow (followers owned by the client, as in feed_follow.sql): of big
-- or star 2 times in 14, otherwise of a random followee of the user.
\set f 3 + :client_id + :fclients * random(0, 300 / :fclients - 1)
\set t random(1, 14)
\if :t <= 2
SELECT feed.unfollow(:f, :t)
 WHERE EXISTS (SELECT 1 FROM feed.follows WHERE follower_id = :f AND followee_id = :t);
\else
SELECT feed.unfollow(:f, (SELECT followee_id FROM feed.follows WHERE follower_id = :f AND followee_id > 2
                           ORDER BY random() LIMIT 1))
 WHERE EXISTS (SELECT 1 FROM feed.follows WHERE follower_id = :f AND followee_id > 2);
\endif
