-- A home page (the direct read path, merged with star's pulled posts).
\set u random(3, 302)
SELECT count(*) FROM feed.home(:u, 20);
