-- A synthetic social graph for feed: the demo loads it at small scale, the
-- benchmark at full scale (100,000 users, about 10 million follows).
--
-- psql variables (defaults in brackets):
--   gen_users [100000]   users
--   gen_follows [100]    average followees per user (0..2x, uniform)
--   gen_posts [200000]   posts, by uniformly drawn authors
--   gen_zipf [4]         followee = 1 + floor(users * random()^gen_zipf):
--                        the follower count of the user of rank r falls
--                        like r^-(1 - 1/gen_zipf), Zipf-like. At full
--                        scale about 30 users pass 10,000 followers.
--   gen_seed [0.42]      setseed(), for the same graph every time
--
-- Writes schema feed_gen: users(id, followers, followees), edges(follower,
-- followee), posts(id, author, created_at, content). Loading it into feed
-- (or into the textbook schema) is the caller's step: see
-- test/data/feed_load.sql.
\if :{?gen_users} \else \set gen_users 100000 \endif
\if :{?gen_follows} \else \set gen_follows 100 \endif
\if :{?gen_posts} \else \set gen_posts 200000 \endif
\if :{?gen_zipf} \else \set gen_zipf 4 \endif
\if :{?gen_seed} \else \set gen_seed 0.42 \endif

DROP SCHEMA IF EXISTS feed_gen CASCADE;
CREATE SCHEMA feed_gen;
SELECT setseed(:gen_seed);

CREATE UNLOGGED TABLE feed_gen.edges AS
SELECT DISTINCT u AS follower, 1 + floor(:gen_users * random() ^ :gen_zipf)::bigint AS followee
  FROM generate_series(1, :gen_users) u,
       LATERAL generate_series(1, (random() * 2 * :gen_follows)::int + (u * 0)) k;
DELETE FROM feed_gen.edges WHERE follower = followee;
ALTER TABLE feed_gen.edges ADD PRIMARY KEY (follower, followee);

CREATE UNLOGGED TABLE feed_gen.users AS
SELECT u AS id, coalesce(r.n, 0) AS followers, coalesce(g.n, 0) AS followees
  FROM generate_series(1, :gen_users) u
  LEFT JOIN (SELECT followee, count(*) AS n FROM feed_gen.edges GROUP BY followee) r ON r.followee = u
  LEFT JOIN (SELECT follower, count(*) AS n FROM feed_gen.edges GROUP BY follower) g ON g.follower = u;
ALTER TABLE feed_gen.users ADD PRIMARY KEY (id);

-- Posts over the last 7 days, newest last, by uniformly drawn authors (at
-- full scale about 17 million timeline rows).
CREATE UNLOGGED TABLE feed_gen.posts AS
SELECT g AS id, 1 + floor(:gen_users * random())::bigint AS author,
       now() - interval '7 days' + (interval '7 days' * g / :gen_posts) AS created_at,
       'post ' || g AS content
  FROM generate_series(1, :gen_posts) g;
ANALYZE feed_gen.edges, feed_gen.users, feed_gen.posts;
