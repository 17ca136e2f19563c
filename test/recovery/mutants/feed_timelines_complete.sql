-- One delivered timeline entry of a post made after its follow is lost.
DELETE FROM feed.timelines
 WHERE (user_id, post_id) = (SELECT t.user_id, t.post_id
                               FROM feed.timelines t
                               JOIN feed.follows f ON f.follower_id = t.user_id AND f.followee_id = t.author_id
                              WHERE t.created_at > f.created_at
                              ORDER BY t.post_id LIMIT 1);
