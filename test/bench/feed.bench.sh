# shellcheck shell=bash disable=SC2034
# feed: the home feed and posting with fan-out, against the case study's
# SQL on the same generated graph (test/data/feed_graph.sql at full scale:
# 100,000 users, about 9 million follows, about 30 users above 10,000
# followers, 200,000 posts over a week, about 16 million timeline rows).
# Sourced by test/bench/run.sh.
#
# Both schemas hold the same rows. The textbook's is the case study's, with
# its defects fixed only where it cannot run: the timeline key is ascending
# (DESC is a syntax error), user_stats exists, and follows has an index on
# following_id (its fan-out query scans the whole table without one).

BENCH_NAME=feed
BENCH_TITLE="feed (home feed and fan-out vs the textbook SQL)"

# label|script|clients|seconds|group|role
BENCH_CASES=(
  "textbook-cte|feed/home_textbook.sql|1|30|home-1-client|baseline"
  "feed.home|feed/home_feed.sql|1|30|home-1-client|casebook"
  "textbook-cte|feed/home_textbook.sql|8|30|home-8-clients|baseline"
  "feed.home|feed/home_feed.sql|8|30|home-8-clients|casebook"
  "protocol-ceiling|feed/home_ceiling.sql|8|30|home-8-clients|reference"
  "textbook-insert-select|feed/post_textbook.sql|8|30|post-8-clients|baseline"
  "feed.post|feed/post_feed.sql|8|30|post-8-clients|casebook"
)
BENCH_TARGETS=("home-8-clients|5")

bench_setup() {
  bench_psql -f "$REPO/test/data/feed_graph.sql"
  bench_psql -c "CREATE EXTENSION feed"
  bench_psql -f "$REPO/test/data/feed_load.sql"
  bench_psql <<'SQL'
\set ON_ERROR_STOP 1
CREATE SCHEMA textbook;
CREATE TABLE textbook.users (id bigint PRIMARY KEY, username varchar(50) UNIQUE NOT NULL,
                             created_at timestamptz DEFAULT now());
-- The case study's foreign keys are added after the load (one validating
-- query each instead of a trigger call per row; the same constraints).
CREATE TABLE textbook.follows (follower_id bigint NOT NULL,
                               following_id bigint NOT NULL,
                               created_at timestamptz DEFAULT now(),
                               PRIMARY KEY (follower_id, following_id));
CREATE TABLE textbook.posts (id bigserial PRIMARY KEY, author_id bigint NOT NULL,
                             content text NOT NULL, media_urls text[], created_at timestamptz DEFAULT now());
CREATE TABLE textbook.timelines (user_id bigint NOT NULL, post_id bigint NOT NULL,
                                 author_id bigint NOT NULL, created_at timestamptz NOT NULL,
                                 PRIMARY KEY (user_id, created_at, post_id));
CREATE TABLE textbook.user_stats (user_id bigint PRIMARY KEY, follower_count bigint NOT NULL);
INSERT INTO textbook.users (id, username) SELECT id, 'user_' || id FROM feed_gen.users;
INSERT INTO textbook.follows (follower_id, following_id) SELECT follower, followee FROM feed_gen.edges;
CREATE INDEX textbook_follows_following_idx ON textbook.follows (following_id);
INSERT INTO textbook.user_stats SELECT id, followers FROM feed_gen.users;
INSERT INTO textbook.posts (id, author_id, content, created_at) SELECT id, author, content, created_at FROM feed_gen.posts;
SELECT setval('textbook.posts_id_seq', (SELECT max(id) FROM textbook.posts));
CREATE INDEX idx_posts_author_time ON textbook.posts (author_id, created_at DESC);
INSERT INTO textbook.timelines (user_id, post_id, author_id, created_at)
SELECT e.follower, p.id, p.author, p.created_at
  FROM feed_gen.posts p JOIN feed_gen.users u ON u.id = p.author JOIN feed_gen.edges e ON e.followee = p.author
 WHERE u.followers <= 10000;
ALTER TABLE textbook.follows ADD FOREIGN KEY (follower_id) REFERENCES textbook.users (id),
                             ADD FOREIGN KEY (following_id) REFERENCES textbook.users (id);
ALTER TABLE textbook.posts ADD FOREIGN KEY (author_id) REFERENCES textbook.users (id);
ALTER TABLE textbook.timelines ADD FOREIGN KEY (post_id) REFERENCES textbook.posts (id);
-- The authors both posting cases draw from: below the threshold.
CREATE SCHEMA bench;
CREATE TABLE bench.authors AS
SELECT row_number() OVER (ORDER BY id) AS n, id FROM feed_gen.users WHERE followers < 10000;
ALTER TABLE bench.authors ADD PRIMARY KEY (n);
VACUUM ANALYZE;
CHECKPOINT;
-- Both schemas start warm (into the OS cache: they do not fit in
-- shared_buffers together), so the first runs do not pay for the disk.
CREATE EXTENSION pg_prewarm;
SELECT sum(pg_prewarm(c.oid, 'read')) FROM pg_class c
 WHERE c.relnamespace IN ('feed'::regnamespace, 'textbook'::regnamespace) AND c.relkind IN ('r', 'i');
SQL
  BENCH_DEFINES+=("nauthors=$(bench_sql "SELECT count(*) FROM bench.authors")")
}

bench_reset() {
  bench_psql -c "CHECKPOINT" >/dev/null
}

# Posting runs: every post of the run reached every follower (feed: every
# one not marked dormant, after the background batches drained; they are waited for,
# up to 5 minutes, and the wait is reported). The check logs report the
# timeline rows written, for rows/s: rows / (seconds + drain wait).
bench_check() {
  case "$1" in
    textbook-insert-select)
      bench_psql <<'SQL'
DO $$
DECLARE bad bigint;
BEGIN
    SELECT count(*) INTO bad FROM textbook.posts p
     WHERE p.content = 'bench post'
       AND (SELECT count(*) FROM textbook.timelines t WHERE t.user_id IN
              (SELECT follower_id FROM textbook.follows WHERE following_id = p.author_id) AND t.post_id = p.id)
           <> (SELECT count(*) FROM textbook.follows WHERE following_id = p.author_id);
    IF bad > 0 THEN RAISE EXCEPTION '% textbook posts missing from timelines', bad; END IF;
    RAISE NOTICE 'textbook posts: %, timeline rows: %',
        (SELECT count(*) FROM textbook.posts WHERE content = 'bench post'),
        (SELECT count(*) FROM textbook.timelines t JOIN textbook.posts p ON p.id = t.post_id
          WHERE p.content = 'bench post');
END $$;
SQL
      ;;
    feed.post)
      bench_psql <<'SQL'
DO $$
DECLARE
    started timestamptz := clock_timestamp();
    bad bigint;
BEGIN
    WHILE EXISTS (SELECT 1 FROM feed.fanout_jobs) AND clock_timestamp() < started + interval '5 minutes' LOOP
        PERFORM pg_sleep(0.2);
    END LOOP;
    RAISE NOTICE 'fan-out drained % after the run', clock_timestamp() - started;
    SELECT count(*) INTO bad FROM feed.posts p
     WHERE p.content = 'bench post'
       AND (SELECT count(*) FROM feed.timelines t JOIN feed.follows f ON f.follower_id = t.user_id
             WHERE f.followee_id = p.author_id AND t.post_id = p.id)
           <> (SELECT count(*) FROM feed.follows f WHERE f.followee_id = p.author_id AND NOT f.dormant);
    IF bad > 0 THEN RAISE EXCEPTION '% feed posts not in every active follower''s timeline', bad; END IF;
    RAISE NOTICE 'feed posts: %, timeline rows: %', (SELECT count(*) FROM feed.posts WHERE content = 'bench post'),
        (SELECT count(*) FROM feed.timelines t JOIN feed.posts p ON p.id = t.post_id WHERE p.content = 'bench post');
END $$;
SQL
      ;;
  esac
}
