-- A post by "big" (about 120 followers, above feed.fanout_sync_max): a job for
-- the background fan-out worker.
SELECT feed.post(1, 'news from big');
