-- A follow. Each client owns the followers u with (u - 3) % :fclients =
-- :client_id, so no two clients change one follower's follows and a script
-- never fails with KB303; big and star are picked 2 times in 14.
\set f 3 + :client_id + :fclients * random(0, 300 / :fclients - 1)
\set t random(1, 14)
\if :t > 2
\set t random(3, 302)
\endif
SELECT feed.follow(:f, :t)
 WHERE :f <> :t AND NOT EXISTS (SELECT 1 FROM feed.follows WHERE follower_id = :f AND followee_id = :t);
