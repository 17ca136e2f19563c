-- casebook: the same post through feed.post (fan-out in the transaction up
-- to feed.fanout_sync_max followers, background batches beyond).
\set k random(1, :nauthors)
SELECT id AS a FROM bench.authors WHERE n = :k \gset
SELECT feed.post(:a, 'bench post');
