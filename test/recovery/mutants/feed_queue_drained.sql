-- A job stays in the queue.
INSERT INTO feed.fanout_jobs (post_id, kind, author_id, created_at, followers_total)
SELECT max(id), 'deliver', 1, now(), 1 FROM feed.posts;
