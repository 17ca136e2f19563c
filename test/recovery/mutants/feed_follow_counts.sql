-- big's follower count is off by one.
UPDATE feed.users SET follower_count = follower_count + 1 WHERE id = 1;
