-- casebook: the native home feed, first page.
\set u random(1, 100000)
SELECT * FROM feed.home(:u, 20);
