-- feed demo: case study 3 end to end on a generated graph (2,000 users,
-- Zipf-like follower counts, about 36,000 follows, 20,000 posts over a week,
-- celebrity threshold 100). Each workflow writes one row to
-- casebook_demo.scoreboard: whether it held, and the invariant it checked.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.score(workflow text, ok boolean, invariant text, detail text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO casebook_demo.scoreboard (extension, workflow, ok, invariant, detail)
    VALUES ('feed', workflow, coalesce(ok, false), invariant, detail)
$$;
CREATE FUNCTION pg_temp.fails_with(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- 1. The textbook's timeline table does not even create.
SELECT pg_temp.score('the textbook timeline DDL',
    pg_temp.fails_with($$CREATE TEMP TABLE textbook_timelines (user_id bigint, post_id bigint, author_id bigint,
        created_at timestamptz, PRIMARY KEY (user_id, created_at DESC, post_id))$$) = '42601',
    'PRIMARY KEY (user_id, created_at DESC, post_id) is a syntax error (42601); feed''s key is ascending, read backward',
    'textbook DDL -> 42601');

-- 2. The graph: generated, loaded with exact counts.
SET feed.celebrity_threshold = 100;
SET feed.fanout_worker = on;
\set gen_users 2000
\set gen_follows 20
\set gen_posts 20000
\ir ../../test/data/feed_graph.sql
\ir ../../test/data/feed_load.sql
SELECT pg_temp.score('a Zipf-like graph with exact counts',
    (SELECT bool_and(u.follower_count = (SELECT count(*) FROM feed.follows f WHERE f.followee_id = u.id)
                 AND u.following_count = (SELECT count(*) FROM feed.follows f WHERE f.follower_id = u.id))
       FROM feed.users u)
    AND (SELECT count(*) FROM feed.users WHERE follower_count >= 100) > 0,
    'follower_count and following_count equal the follows rows; some users are celebrities',
    (SELECT format('%s users, %s follows, %s celebrities (>= 100 followers), max %s followers, %s timeline rows',
                   (SELECT count(*) FROM feed.users), (SELECT count(*) FROM feed.follows),
                   (SELECT count(*) FROM feed.users WHERE follower_count >= 100),
                   (SELECT max(follower_count) FROM feed.users), (SELECT count(*) FROM feed.timelines))));

-- The truth a home feed must equal: every live post of every followee,
-- newest first.
CREATE FUNCTION pg_temp.truth(u bigint, n integer) RETURNS bigint[]
LANGUAGE sql AS $$
    SELECT coalesce(array_agg(id ORDER BY created_at DESC, id DESC), '{}') FROM (
        SELECT p.id, p.created_at FROM feed.posts p JOIN feed.follows f ON f.followee_id = p.author_id
         WHERE f.follower_id = u AND p.deleted_at IS NULL ORDER BY p.created_at DESC, p.id DESC LIMIT n) t
$$;
CREATE FUNCTION pg_temp.feed_ids(u bigint, n integer) RETURNS bigint[]
LANGUAGE sql AS $$ SELECT coalesce(array_agg(post_id ORDER BY created_at DESC, post_id DESC), '{}') FROM feed.home(u, n) $$;
-- A reader who follows celebrities and ordinary authors.
SELECT f.follower_id AS reader FROM feed.follows f JOIN feed.users c ON c.id = f.followee_id
 WHERE c.follower_count >= 100
 GROUP BY f.follower_id HAVING count(*) >= 2
    AND (SELECT count(*) FROM feed.follows g JOIN feed.users o ON o.id = g.followee_id
          WHERE g.follower_id = f.follower_id AND o.follower_count < 100) >= 5
 ORDER BY f.follower_id LIMIT 1 \gset
SELECT set_config('demo.reader', :'reader', false);

-- 3. The hybrid home feed equals the truth.
SELECT pg_temp.score('hybrid home feed = every followee''s newest posts',
    pg_temp.feed_ids(:reader, 50) = pg_temp.truth(:reader, 50) AND cardinality(pg_temp.truth(:reader, 50)) = 50,
    'the materialized timeline merged with the pulled celebrity posts gives exactly the 50 newest posts of all followees',
    format('reader %s follows %s authors (%s celebrities); feed %s posts, truth %s, equal: %s', :reader,
           (SELECT following_count FROM feed.users WHERE id = :reader),
           (SELECT count(*) FROM feed.follows f JOIN feed.users c ON c.id = f.followee_id
             WHERE f.follower_id = :reader AND c.follower_count >= 100),
           cardinality(pg_temp.feed_ids(:reader, 50)), cardinality(pg_temp.truth(:reader, 50)),
           pg_temp.feed_ids(:reader, 50) = pg_temp.truth(:reader, 50)));

-- 4. Pages through the cursor: 5 pages of 20 are the newest 100, each once.
CREATE TEMP TABLE paged (page integer, post_id bigint, created_at timestamptz);
DO $$
DECLARE
    c text := NULL;
    r record;
    reader bigint := current_setting('demo.reader')::bigint;
BEGIN
    FOR pg IN 1..5 LOOP
        FOR r IN SELECT * FROM feed.home(reader, 20, c) LOOP
            INSERT INTO paged VALUES (pg, r.post_id, r.created_at);
            c := r.cursor;
        END LOOP;
    END LOOP;
END
$$ ;
SELECT pg_temp.score('keyset pages through the opaque cursor',
    (SELECT array_agg(post_id ORDER BY page, created_at DESC, post_id DESC) FROM paged) = pg_temp.truth(:reader, 100)
    AND (SELECT count(DISTINCT post_id) FROM paged) = 100,
    'five pages of 20 are the newest 100 posts, none twice, none missing',
    format('%s rows over 5 pages, %s distinct, equal to the newest 100: %s', (SELECT count(*) FROM paged),
           (SELECT count(DISTINCT post_id) FROM paged),
           (SELECT array_agg(post_id ORDER BY page, created_at DESC, post_id DESC) FROM paged)
             = pg_temp.truth(:reader, 100)));

-- 5. An ordinary author's post reaches every follower's timeline at once.
SELECT u.id AS author FROM feed.users u WHERE u.follower_count BETWEEN 10 AND 99 ORDER BY u.id LIMIT 1 \gset
SELECT feed.post(:author, 'hello from an ordinary author') AS p_small \gset
SELECT pg_temp.score('fan-out on write',
    (SELECT count(*) FROM feed.timelines WHERE post_id = :p_small)
      = (SELECT follower_count FROM feed.users WHERE id = :author),
    'a post by an author below the threshold is in every (active) follower''s timeline when post() returns',
    format('author %s: %s followers, %s timeline rows', :author,
           (SELECT follower_count FROM feed.users WHERE id = :author),
           (SELECT count(*) FROM feed.timelines WHERE post_id = :p_small)));

-- 6. A celebrity's post is copied nowhere and still read by followers.
SELECT u.id AS celeb FROM feed.users u WHERE u.follower_count >= 100 ORDER BY u.follower_count DESC LIMIT 1 \gset
SELECT feed.post(:celeb, 'hello from a celebrity') AS p_celeb \gset
SELECT f.follower_id AS celeb_fan FROM feed.follows f WHERE f.followee_id = :celeb ORDER BY 1 LIMIT 1 \gset
SELECT pg_temp.score('fan-out on read for celebrities',
    (SELECT count(*) FROM feed.timelines WHERE post_id = :p_celeb) = 0
    AND (SELECT post_id FROM feed.home(:celeb_fan, 1)) = :p_celeb,
    'a celebrity post writes no timeline row, yet is the newest entry of a follower''s feed',
    format('celebrity %s (%s followers): 0 timeline rows; newest in follower %s''s feed', :celeb,
           (SELECT follower_count FROM feed.users WHERE id = :celeb), :celeb_fan));

-- 7. Unfollow and delete: gone at once.
SELECT feed.unfollow(:celeb_fan, :celeb);
SELECT feed.delete_post(:p_small);
SELECT pg_temp.score('unfollow and delete',
    NOT EXISTS (SELECT 1 FROM feed.home(:celeb_fan, 1000) h WHERE h.author_id = :celeb)
    AND (SELECT count(*) FROM feed.timelines WHERE post_id = :p_small) = 0
    AND pg_temp.feed_ids(:reader, 50) = pg_temp.truth(:reader, 50),
    'an unfollowed author leaves the feed; a deleted post leaves every timeline; the reader''s feed still equals the truth',
    'unfollowed celebrity absent; deleted post in 0 timelines');

-- 8. A large fan-out runs after the commit, in batches, by the worker.
SET feed.fanout_sync_max = 10;
SELECT u.id AS mid FROM feed.users u WHERE u.follower_count BETWEEN 30 AND 99 ORDER BY u.id LIMIT 1 \gset
SELECT feed.post(:mid, 'hello to many') AS p_big \gset
DO $$
BEGIN
    FOR i IN 1..100 LOOP
        EXIT WHEN NOT EXISTS (SELECT 1 FROM feed.fanout_jobs);
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT pg_temp.score('background fan-out',
    NOT EXISTS (SELECT 1 FROM feed.fanout_jobs)
    AND (SELECT count(*) FROM feed.timelines WHERE post_id = :p_big)
        = (SELECT follower_count FROM feed.users WHERE id = :mid),
    'a post to more than feed.fanout_sync_max followers is queued, and the background worker delivers it within seconds',
    format('%s followers reached by the worker', (SELECT count(*) FROM feed.timelines WHERE post_id = :p_big)));

-- 9. A forged cursor is refused.
SELECT pg_temp.score('cursors cannot be forged',
    pg_temp.fails_with($$SELECT * FROM feed.home(1, 20, 'AQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')$$) = 'KB306',
    'a cursor not sealed with this database''s key fails with KB306',
    'forged cursor -> KB306');

DROP SCHEMA feed_gen CASCADE;
