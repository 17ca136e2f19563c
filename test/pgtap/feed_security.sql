-- feed: schema shape, privileges and attacks. Roles are created inside the
-- test transaction; every attack is an attempt followed by a check that it
-- failed. Everything runs in one transaction and rolls back.
--
-- The design: USAGE on schema feed is PUBLIC, nothing else is. The owner
-- grants EXECUTE on the functions a role needs; the SECURITY DEFINER
-- functions then work without table privileges, under a fixed search_path
-- a caller cannot subvert. The cursor key is readable by nobody but the
-- owner, so cursors cannot be forged.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS feed;

SELECT plan(34);

-------------------------------------------------------------------------------
-- A hostile search_path changes nothing. This runs before any other feed
-- call in this backend, so the kept plans are prepared while it is set.
-------------------------------------------------------------------------------
CREATE SCHEMA tap_feed_evil;
-- bigint = bigint is always true: every follow would look like a duplicate,
-- every user like every other.
CREATE FUNCTION tap_feed_evil.int8_always_eq(bigint, bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR tap_feed_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = tap_feed_evil.int8_always_eq);
-- bigint + bigint adds 1000: counts would jump.
CREATE FUNCTION tap_feed_evil.int8_plus_1000(bigint, bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
    AS 'SELECT $1 OPERATOR(pg_catalog.+) $2 OPERATOR(pg_catalog.+) 1000';
CREATE OPERATOR tap_feed_evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = tap_feed_evil.int8_plus_1000);
CREATE FUNCTION tap_feed_evil.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT '2000-01-01'::timestamptz$$;

CREATE TEMP TABLE hostile (step integer, result text);
SET search_path = tap_feed_evil, pg_catalog, public;
INSERT INTO hostile SELECT 1, (1::bigint = 2::bigint)::text;
INSERT INTO hostile SELECT 2, feed.create_user('tap_ann')::text;
INSERT INTO hostile SELECT 3, feed.create_user('tap_ben')::text;
INSERT INTO hostile SELECT 4, feed.follow((SELECT id FROM feed.users WHERE username OPERATOR(pg_catalog.=) 'tap_ben'),
                                          (SELECT id FROM feed.users WHERE username OPERATOR(pg_catalog.=) 'tap_ann'))::text;
INSERT INTO hostile SELECT 5, feed.post((SELECT id FROM feed.users WHERE username OPERATOR(pg_catalog.=) 'tap_ann'),
                                        'hello')::text;
INSERT INTO hostile SELECT 6, (SELECT string_agg(content, ',') FROM feed.home(
    (SELECT id FROM feed.users WHERE username OPERATOR(pg_catalog.=) 'tap_ben')));
RESET search_path;

SELECT is((SELECT result FROM hostile WHERE step = 1), 'true', 'the hostile = is in effect for the caller');
SELECT is((SELECT follower_count || '/' || following_count FROM feed.users WHERE username = 'tap_ann'), '1/0',
          'under the hostile path, follow counted exactly one follower');
SELECT is((SELECT follower_count || '/' || following_count FROM feed.users WHERE username = 'tap_ben'), '0/1',
          'and exactly one followee');
SELECT is((SELECT count(*) FROM feed.follows f JOIN feed.users a ON a.id = f.follower_id
            WHERE a.username = 'tap_ben'), 1::bigint, 'one follows row');
SELECT is((SELECT result FROM hostile WHERE step = 6), 'hello', 'home returned the post, once');
SELECT cmp_ok((SELECT a.last_seen_at FROM feed.activity a JOIN feed.users u ON u.id = a.user_id
                WHERE u.username = 'tap_ben'), '>', '2001-01-01'::timestamptz,
              'the shadowing now() was not used');

-------------------------------------------------------------------------------
-- Schema shape
-------------------------------------------------------------------------------
SELECT has_table('feed', t, 'table feed.' || t || ' exists')
  FROM unnest(ARRAY['users', 'activity', 'follows', 'posts', 'timelines', 'fanout_jobs', 'cursor_key']) t;
SELECT col_is_pk('feed', 'timelines', ARRAY['user_id', 'created_at', 'post_id'],
                 'timelines: primary key (user_id, created_at, post_id), read backward for newest first');
SELECT col_is_pk('feed', 'follows', ARRAY['follower_id', 'followee_id'], 'follows: primary key (follower, followee)');
SELECT has_index('feed', 'follows', 'follows_followee_idx', ARRAY['followee_id', 'follower_id'],
                 'retraction reads all followers through (followee_id, follower_id)');
SELECT is((SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indexrelid = 'feed.follows_fanout_idx'::regclass),
          'CREATE INDEX follows_fanout_idx ON feed.follows USING btree (followee_id, follower_id) WHERE (NOT dormant)',
          'fan-out reads the followers not marked dormant from a partial index');
SELECT is((SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indexrelid = 'feed.follows_pulled_idx'::regclass),
          'CREATE INDEX follows_pulled_idx ON feed.follows USING btree (follower_id, followee_id) WHERE pulled',
          'home reads a user''s pulled authors from a partial index');
SELECT is((SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'feed.posts_pulled_idx'::regclass),
          '(NOT fanned_out)', 'the pulled posts have a partial index');
SELECT throws_ok($$INSERT INTO feed.follows (follower_id, followee_id)
                   SELECT id, id FROM feed.users WHERE username = 'tap_ann'$$,
                 '23514', NULL, 'a self-follow is refused by a CHECK too');

-------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; SECURITY DEFINER with a fixed search_path
-------------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM pg_proc p
            WHERE p.pronamespace = 'feed'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE')),
          0::bigint, 'PUBLIC may execute no function of feed');
SELECT is((SELECT count(*) FROM pg_class c
            WHERE c.relnamespace = 'feed'::regnamespace AND c.relkind IN ('r', 'v')
              AND (has_table_privilege('public', c.oid, 'SELECT') OR has_table_privilege('public', c.oid, 'INSERT')
                   OR has_table_privilege('public', c.oid, 'UPDATE') OR has_table_privilege('public', c.oid, 'DELETE'))),
          0::bigint, 'PUBLIC has no privilege on any table or view of feed');
SELECT is((SELECT count(*) FROM pg_proc p
            WHERE p.pronamespace = 'feed'::regnamespace AND p.prosecdef
              AND p.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp']),
          0::bigint, 'every SECURITY DEFINER function of feed runs with search_path=pg_catalog, pg_temp');
SELECT is((SELECT array_agg(proname::text ORDER BY proname) FROM pg_proc p
            WHERE p.pronamespace = 'feed'::regnamespace AND p.prosecdef),
          ARRAY['_cron_park', '_cron_restore', 'create_user', 'delete_post', 'follow', 'home', 'import_follows',
                'import_posts', 'import_users', 'mark_dormant', 'post', 'run_fanout', 'unfollow'],
          'the native entry points, and the triggers that remove the pg_cron jobs on DROP EXTENSION, are SECURITY DEFINER');

-------------------------------------------------------------------------------
-- Attacks by a role that may only read feeds
-------------------------------------------------------------------------------
CREATE ROLE tap_feed_reader NOLOGIN;
GRANT EXECUTE ON FUNCTION feed.home(bigint, bigint, text) TO tap_feed_reader;
SET ROLE tap_feed_reader;
SELECT is((SELECT count(*) FROM feed.home((SELECT 1::bigint))), (SELECT count(*) FROM feed.home(1)),
          'the reader may read a feed through home()');
SELECT throws_ok($$SELECT key FROM feed.cursor_key$$, '42501', NULL,
                 'the reader cannot read the cursor key (so cannot forge cursors)');
SELECT throws_ok($$SELECT * FROM feed.timelines$$, '42501', NULL, 'nor the timelines table');
SELECT throws_ok($$SELECT feed.post(1, 'spam')$$, '42501', NULL, 'nor post');
SELECT throws_ok($$SELECT feed.follow(1, 2)$$, '42501', NULL, 'nor follow');
SELECT throws_ok($$SELECT feed.rotate_cursor_key()$$, '42501', NULL, 'nor rotate the cursor key');
SELECT throws_ok($$SELECT feed._new_key()$$, '42501', NULL, 'nor call the key generator');
SELECT throws_ok($$UPDATE feed.users SET follower_count = 1000000$$, '42501', NULL, 'nor fake a follower count');
SELECT throws_ok($$INSERT INTO feed.timelines VALUES (1, now(), 1, 1)$$, '42501', NULL,
                 'nor write into anyone''s timeline');
RESET ROLE;
SELECT is((SELECT count(*) FROM feed.posts WHERE content = 'spam'), 0::bigint, 'nothing was posted');

SELECT * FROM finish();
ROLLBACK;
