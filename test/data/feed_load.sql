-- Loads schema feed_gen (test/data/feed_graph.sql) into an empty feed: users
-- with exact counts, follows, posts (fanned out or pulled by the celebrity
-- threshold then in effect), and the timelines fan-out on write would have
-- built (every follower active). Bulk SQL: the same rows post() and follow()
-- would write, in one pass.
-- The feed.* settings exist once the library is loaded (no feed function
-- has run in this session yet).
LOAD 'feed';
INSERT INTO feed.users (id, username, follower_count, following_count)
SELECT id, 'user_' || id, followers, followees FROM feed_gen.users;
SELECT setval(pg_get_serial_sequence('feed.users', 'id'), (SELECT max(id) FROM feed.users));
INSERT INTO feed.follows (follower_id, followee_id) SELECT follower, followee FROM feed_gen.edges;
INSERT INTO feed.posts (id, author_id, content, created_at, fanned_out) OVERRIDING SYSTEM VALUE
SELECT p.id, p.author, p.content, p.created_at,
       u.followers < current_setting('feed.celebrity_threshold')::bigint
  FROM feed_gen.posts p JOIN feed_gen.users u ON u.id = p.author;
SELECT setval(pg_get_serial_sequence('feed.posts', 'id'), (SELECT max(id) FROM feed.posts));
UPDATE feed.users u SET pulled_since = p.first
  FROM (SELECT author_id, min(created_at) AS first FROM feed.posts WHERE NOT fanned_out GROUP BY author_id) p
 WHERE u.id = p.author_id;
UPDATE feed.follows f SET pulled = true FROM feed.users u WHERE u.id = f.followee_id AND u.pulled_since IS NOT NULL;
INSERT INTO feed.timelines (user_id, created_at, post_id, author_id)
SELECT e.follower, p.created_at, p.id, p.author_id
  FROM feed.posts p JOIN feed_gen.edges e ON e.followee = p.author_id
 WHERE p.fanned_out;
ANALYZE feed.users, feed.follows, feed.posts, feed.timelines;
