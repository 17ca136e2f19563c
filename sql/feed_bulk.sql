-- feed: many follows in one transaction (counts applied once per user and
-- statement, exact in the next statement, right across subtransactions,
-- never under the caller's search_path), and the bulk import of a graph
-- (import_users, import_follows, import_posts) with every error path.
\i sql/include/try.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS feed;
CREATE EXTENSION feed;
RESET client_min_messages;
SET feed.fanout_sync_max = 1000;
SELECT count(feed.create_user('user_' || g)) FROM generate_series(1, 60) g;
-- Every count against the follows it counts.
CREATE TEMP VIEW counts_exact AS
SELECT bool_and(u.follower_count = (SELECT count(*) FROM feed.follows f WHERE f.followee_id = u.id)
            AND u.following_count = (SELECT count(*) FROM feed.follows f WHERE f.follower_id = u.id)) AS exact,
       sum(u.follower_count) AS follows
  FROM feed.users u;
CREATE TEMP VIEW first_users AS
SELECT string_agg(id || ':' || follower_count || '/' || following_count, ' ' ORDER BY id) AS counts
  FROM feed.users WHERE id <= 6;

-------------------------------------------------------------------------------
-- Counts inside a transaction
-------------------------------------------------------------------------------
BEGIN;
SELECT feed.follow(2, 1) + feed.follow(3, 1) AS backfilled;
-- The next statement reads them exact.
SELECT follower_count AS after_two FROM feed.users WHERE id = 1;
DO $$ BEGIN PERFORM feed.follow(4, 1); PERFORM feed.follow(5, 1); END $$;
SELECT follower_count AS after_do_block FROM feed.users WHERE id = 1;
COMMIT;
-- A rolled-back subtransaction takes its follows' counts with it.
BEGIN;
SELECT feed.follow(6, 1);
SAVEPOINT s;
SELECT feed.follow(6, 2);
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT * FROM first_users;
-- A post applies the counts first (they decide push or pull). Applied
-- inside a subtransaction that then rolls back, the follow made before it
-- is counted again, once.
DO $$
BEGIN
    PERFORM feed.follow(1, 2);
    BEGIN
        PERFORM feed.post(3, 'applies the counts inside a subtransaction');
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
END $$;
SELECT * FROM first_users;
SELECT * FROM counts_exact;

-------------------------------------------------------------------------------
-- One statement, 400 follows among 50 users: each user's row is updated
-- once (0.1 updated both rows per follow: 800 versions, each later lookup
-- walking all of them).
-------------------------------------------------------------------------------
BEGIN;
SELECT n_tup_upd AS updates_before FROM pg_stat_xact_user_tables WHERE relid = 'feed.users'::regclass \gset
SELECT count(feed.follow(f, t)) AS follows FROM generate_series(7, 46) f, generate_series(47, 56) t;
SELECT n_tup_upd - :updates_before AS user_rows_updated
  FROM pg_stat_xact_user_tables WHERE relid = 'feed.users'::regclass;
SELECT follower_count AS user_47_followers FROM feed.users WHERE id = 47;
COMMIT;
SELECT * FROM counts_exact;

-------------------------------------------------------------------------------
-- The counts' update runs as the table's owner, under search_path =
-- pg_catalog, pg_temp: a caller with only EXECUTE on follow() and an
-- operator + of its own first in its search_path gets it called never.
-------------------------------------------------------------------------------
CREATE ROLE regress_feed_bulk_app;
GRANT USAGE ON SCHEMA feed TO regress_feed_bulk_app;
GRANT EXECUTE ON FUNCTION feed.follow(bigint, bigint), feed.unfollow(bigint, bigint) TO regress_feed_bulk_app;
CREATE SCHEMA regress_feed_bulk_evil AUTHORIZATION regress_feed_bulk_app;
SET ROLE regress_feed_bulk_app;
CREATE TABLE regress_feed_bulk_evil.calls (who text);
CREATE FUNCTION regress_feed_bulk_evil.plus(bigint, bigint) RETURNS bigint LANGUAGE sql AS
    $$ INSERT INTO regress_feed_bulk_evil.calls VALUES (current_user) RETURNING 1000000::bigint $$;
CREATE OPERATOR regress_feed_bulk_evil.+ (LEFTARG = bigint, RIGHTARG = bigint,
                                          FUNCTION = regress_feed_bulk_evil.plus);
SET search_path = regress_feed_bulk_evil, pg_catalog;
SELECT 1::bigint + 1::bigint AS shadowed_plus;
TRUNCATE regress_feed_bulk_evil.calls;
SELECT feed.follow(57, 58);
BEGIN;
SELECT feed.follow(59, 58);
SELECT feed.unfollow(59, 58);
COMMIT;
SELECT count(*) AS calls_of_the_shadowing_operator FROM regress_feed_bulk_evil.calls;
RESET search_path;
RESET ROLE;
SELECT id, follower_count, following_count FROM feed.users WHERE id IN (57, 58, 59) ORDER BY id;
DROP SCHEMA regress_feed_bulk_evil CASCADE;
DROP OWNED BY regress_feed_bulk_app;
DROP ROLE regress_feed_bulk_app;
SELECT * FROM counts_exact;

-------------------------------------------------------------------------------
-- Bulk import: users
-------------------------------------------------------------------------------
CREATE TEMP VIEW graph AS
SELECT (SELECT count(*) FROM feed.users) AS users, (SELECT count(*) FROM feed.follows) AS follows,
       (SELECT count(*) FROM feed.posts) AS posts, (SELECT count(*) FROM feed.timelines) AS timeline_rows;
SELECT * FROM graph;
SELECT feed.import_users(ARRAY['imp_a', 'imp_b', 'imp_c']) AS ids;
SELECT feed.import_users('{}') AS none;
SELECT pg_temp.try($$SELECT feed.import_users(NULL)$$);
SELECT pg_temp.try($$SELECT feed.import_users(ARRAY['imp_d', NULL])$$);
SELECT pg_temp.try($$SELECT feed.import_users(ARRAY['imp_d', 'bad name'])$$);
SELECT pg_temp.try($$SELECT feed.import_users(ARRAY['imp_d', 'imp_e', 'imp_d'])$$);
SELECT pg_temp.try($$SELECT feed.import_users(ARRAY['imp_d', 'imp_a'])$$);
SELECT pg_temp.try($$SELECT feed.import_users(ARRAY[['imp_d'], ['imp_e']])$$);
SELECT * FROM graph;

-------------------------------------------------------------------------------
-- Bulk import: follows (61 = imp_a, 62 = imp_b, 63 = imp_c)
-------------------------------------------------------------------------------
SELECT feed.post(62, 'imp_b before the import') > 0 AS posted;
SELECT feed.import_follows(ARRAY[61, 61, 63, 61], ARRAY[62, 63, 62, 62]) AS added;
SELECT feed.import_follows(ARRAY[61, 1], ARRAY[62, 61]) AS added_again;
SELECT id, follower_count, following_count FROM feed.users WHERE id IN (1, 61, 62, 63) ORDER BY id;
-- Backfilled as follow() does.
SELECT user_id, count(*) FROM feed.timelines WHERE author_id = 62 GROUP BY user_id ORDER BY user_id;
-- A dormant follower's new follow is dormant, and nothing is backfilled
-- (their next read rebuilds the timeline), as follow() does.
UPDATE feed.users SET dormant = true WHERE id = 60;
SELECT feed.import_follows(ARRAY[60], ARRAY[62]) AS added_dormant;
SELECT dormant, (SELECT count(*) FROM feed.timelines WHERE user_id = 60) AS backfilled
  FROM feed.follows WHERE follower_id = 60 AND followee_id = 62;
SELECT pg_temp.try($$SELECT feed.import_follows(ARRAY[61], ARRAY[62, 63])$$);
SELECT pg_temp.try($$SELECT feed.import_follows(ARRAY[2, 61], ARRAY[3, 61])$$);
SELECT pg_temp.try($$SELECT feed.import_follows(ARRAY[61, 9999], ARRAY[2, 3])$$);
SELECT pg_temp.try($$SELECT feed.import_follows(NULL, ARRAY[2])$$);
SELECT pg_temp.try($$SELECT feed.import_follows(ARRAY[61, NULL], ARRAY[2, 3])$$);
SELECT * FROM graph;
SELECT * FROM counts_exact;

-------------------------------------------------------------------------------
-- Bulk import: posts, at their own times; pushed to followers, or pulled
-- for an author at the celebrity threshold
-------------------------------------------------------------------------------
SET feed.celebrity_threshold = 10;
SELECT feed.import_posts(ARRAY[61, 62, 61], ARRAY['old a', 'old b', 'older a'],
                         ARRAY['2026-01-02', '2026-01-03', '2026-01-01']::timestamptz[]) AS ids \gset
SELECT p.id = (:'ids'::bigint[])[x.i] AS in_input_order, p.content, p.created_at, p.fanned_out
  FROM unnest(ARRAY['old a', 'old b', 'older a']) WITH ORDINALITY x (c, i) JOIN feed.posts p ON p.content = x.c
 ORDER BY x.i;
SELECT user_id, string_agg(p.content, ', ' ORDER BY t.created_at) FROM feed.timelines t JOIN feed.posts p ON p.id = t.post_id
 WHERE p.content IN ('old a', 'old b', 'older a') GROUP BY user_id ORDER BY user_id;
-- 61 and 62 have 1 and 2 followers (below feed.celebrity_threshold = 10):
-- pushed. 47 has 40: pulled, and marked as post() marks it.
SELECT feed.import_posts(ARRAY[47], ARRAY['pulled one']) IS NOT NULL AS imported;
SELECT fanned_out, (SELECT pulled_since IS NOT NULL FROM feed.users WHERE id = 47) AS author_marked,
       (SELECT bool_and(pulled) FROM feed.follows WHERE followee_id = 47) AS follows_marked
  FROM feed.posts WHERE content = 'pulled one';
SELECT count(*) AS pulled_in_timelines FROM feed.timelines t JOIN feed.posts p ON p.id = t.post_id
 WHERE p.content = 'pulled one';
SELECT content FROM feed.home(7, 1);
RESET feed.celebrity_threshold;
SELECT * FROM graph;
SELECT pg_temp.try($$SELECT feed.import_posts(ARRAY[61], ARRAY['a', 'b'])$$);
SELECT pg_temp.try($$SELECT feed.import_posts(ARRAY[61, 62], ARRAY['a', 'b'], ARRAY[now()])$$);
SELECT pg_temp.try($$SELECT feed.import_posts(ARRAY[61, 62], ARRAY['a', NULL])$$);
SELECT pg_temp.try($$SELECT feed.import_posts(ARRAY[61, 62], ARRAY['a', ''])$$);
SELECT pg_temp.try($$SELECT feed.import_posts(ARRAY[61], ARRAY[repeat('x', 10001)])$$);
SELECT pg_temp.try($$SELECT feed.import_posts(ARRAY[61, 62], ARRAY['a', 'b'], ARRAY[now(), now() + interval '1 day'])$$);
SELECT pg_temp.try($$SELECT feed.import_posts(ARRAY[61, 62], ARRAY['a', 'b'], ARRAY[now(), NULL])$$);
SELECT pg_temp.try($$SELECT feed.import_posts(ARRAY[61, 9999], ARRAY['a', 'b'])$$);
SELECT pg_temp.try($$SELECT feed.import_posts(NULL, ARRAY['a'])$$);
SELECT pg_temp.try($$SELECT feed.import_posts(ARRAY[61], NULL)$$);
SELECT * FROM graph;
SELECT * FROM counts_exact;
RESET feed.fanout_sync_max;
