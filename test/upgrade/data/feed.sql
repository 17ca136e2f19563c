-- feed: users, follows and posts written through the extension's functions
-- (the API of the oldest version tested) before ALTER EXTENSION ... UPDATE.
-- The same script fills the fresh install. User names start with upg.
SELECT feed.create_user(name) FROM unnest(ARRAY['upg_ann', 'upg_ben', 'upg_cat']) AS name;
SELECT feed.follow(b.id, a.id) FROM feed.users a, feed.users b
 WHERE (a.username, b.username) IN (('upg_ann', 'upg_ben'), ('upg_ann', 'upg_cat'), ('upg_ben', 'upg_cat'));
SELECT feed.post(id, 'ann before the upgrade') IS NOT NULL AS posted FROM feed.users WHERE username = 'upg_ann';
SELECT feed.post(id, 'ben before the upgrade') IS NOT NULL AS posted FROM feed.users WHERE username = 'upg_ben';
-- A grant on functions whose signatures change in 0.2.0 (integer -> bigint):
-- the update keeps it (data/feed_check.sql).
DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'upg_feed_app') THEN CREATE ROLE upg_feed_app; END IF; END $$;
GRANT EXECUTE ON FUNCTION feed.home, feed.run_fanout TO upg_feed_app;
