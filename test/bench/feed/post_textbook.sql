-- textbook: a post by an author below the threshold, fanned out with the
-- case study's INSERT ... SELECT FROM follows (post and fan-out in one
-- statement here: pgbench cannot pass the post's timestamp between
-- statements).
\set k random(1, :nauthors)
SELECT id AS a FROM bench.authors WHERE n = :k \gset
WITH p AS (INSERT INTO textbook.posts (author_id, content) VALUES (:a, 'bench post')
           RETURNING id, author_id, created_at)
INSERT INTO textbook.timelines (user_id, post_id, author_id, created_at)
SELECT f.follower_id, p.id, p.author_id, p.created_at FROM p JOIN textbook.follows f ON f.following_id = p.author_id;
