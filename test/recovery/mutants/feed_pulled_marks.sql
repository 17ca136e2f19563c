-- One follow of star loses its pulled mark.
UPDATE feed.follows SET pulled = false
 WHERE followee_id = 2 AND follower_id = (SELECT min(follower_id) FROM feed.follows WHERE followee_id = 2);
