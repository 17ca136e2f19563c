-- feed: users, follows and posts written through the extension's functions
-- (the API of the oldest version tested) before ALTER EXTENSION ... UPDATE.
-- The same script fills the fresh install. User names start with upg.
SELECT feed.create_user(name) FROM unnest(ARRAY['upg_ann', 'upg_ben', 'upg_cat']) AS name;
SELECT feed.follow(b.id, a.id) FROM feed.users a, feed.users b
 WHERE (a.username, b.username) IN (('upg_ann', 'upg_ben'), ('upg_ann', 'upg_cat'), ('upg_ben', 'upg_cat'));
SELECT feed.post(id, 'ann before the upgrade') IS NOT NULL AS posted FROM feed.users WHERE username = 'upg_ann';
SELECT feed.post(id, 'ben before the upgrade') IS NOT NULL AS posted FROM feed.users WHERE username = 'upg_ben';
