-- feed: what the data of data/feed.sql reads as (no timestamps, no cursors).
-- Printed before and after the update and on the fresh install; all three
-- must equal expected/feed.out.
SELECT username, follower_count, following_count, dormant FROM feed.users
 WHERE username LIKE 'upg%' ORDER BY username;
SELECT a.username AS follower, b.username AS followee
  FROM feed.follows f JOIN feed.users a ON a.id = f.follower_id JOIN feed.users b ON b.id = f.followee_id
 WHERE a.username LIKE 'upg%' ORDER BY 1, 2;
SELECT u.username AS author, p.content, p.fanned_out, p.deleted_at IS NULL AS live
  FROM feed.posts p JOIN feed.users u ON u.id = p.author_id WHERE u.username LIKE 'upg%' ORDER BY p.id;
SELECT u.username AS reader, a.username AS author, h.content
  FROM feed.users u, feed.home(u.id) h JOIN feed.users a ON a.id = h.author_id
 WHERE u.username LIKE 'upg%' ORDER BY u.username, h.created_at DESC, h.post_id DESC;
SELECT p.proname, has_function_privilege('upg_feed_app', p.oid, 'EXECUTE') AS granted
  FROM pg_proc p WHERE p.pronamespace = 'feed'::regnamespace AND p.proname IN ('home', 'run_fanout')
 ORDER BY 1;
