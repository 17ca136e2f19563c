-- feed with pg_cron: installed into a database where pg_cron is present
-- (cron.database_name = 'casebook'), feed schedules mark_dormant() hourly.
-- Everything rolls back, so the job never reaches the scheduler.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS pg_cron;
-- Installed here, after pg_cron, whatever an earlier file left.
SET LOCAL client_min_messages = warning;
DROP EXTENSION IF EXISTS feed;
CREATE EXTENSION feed;
RESET client_min_messages;

SELECT plan(8);

SELECT has_extension('pg_cron', 'pg_cron is installed in this database');
SELECT has_extension('feed', 'feed', 'feed is installed (after pg_cron)');

SELECT results_eq(
    $$SELECT schedule, command FROM cron.job WHERE jobname = 'feed-dormant'$$,
    $$VALUES ('17 * * * *', 'SELECT feed.mark_dormant()')$$,
    'one cron job feed-dormant runs SELECT feed.mark_dormant() hourly');
SELECT results_eq(
    $$SELECT database, username, active FROM cron.job WHERE jobname = 'feed-dormant'$$,
    $$SELECT pg_catalog.current_database()::text COLLATE "default", e.extowner::regrole::text, true
        FROM pg_catalog.pg_extension e WHERE e.extname = 'feed'$$,
    'the job is active, in this database, as the extension owner (who may call mark_dormant)');

-- The scheduled command does its job: a follower not seen for longer than
-- feed.inactive_after becomes dormant, with their follow, and fan-out skips
-- them.
SELECT feed.create_user('tap_cron_author') AS author \gset
SELECT feed.create_user('tap_cron_away') AS away \gset
SELECT feed.create_user('tap_cron_here') AS here \gset
SELECT feed.follow(:away, :author) + feed.follow(:here, :author) AS backfilled;
INSERT INTO feed.activity (user_id, last_seen_at)
VALUES (:away, now() - interval '40 days'), (:here, now() - interval '1 day');

SELECT is((SELECT count(*) FROM feed.users WHERE dormant), 0::bigint, 'before the job runs, nobody is dormant');
SELECT results_eq(
    (SELECT command FROM cron.job WHERE jobname = 'feed-dormant'),
    $$VALUES (1::bigint)$$,
    'running the job''s command marks exactly one user');
SELECT results_eq(
    $$SELECT u.username, f.dormant FROM feed.users u JOIN feed.follows f ON f.follower_id = u.id
       WHERE f.followee_id = $$ || :author || $$ ORDER BY u.username$$,
    $$VALUES ('tap_cron_away'::text, true), ('tap_cron_here', false)$$,
    'the user away for 40 days is dormant, with their follow; the other is not');
SELECT feed.post(:author, 'while one is away') AS p \gset
SELECT results_eq(
    $$SELECT user_id FROM feed.timelines WHERE post_id = $$ || :p,
    ARRAY[:here::bigint],
    'a post reaches only the follower who is not dormant');

SELECT * FROM finish();
ROLLBACK;
