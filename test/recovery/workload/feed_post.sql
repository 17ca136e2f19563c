-- A post by a regular user (fanned out in the posting transaction).
\set a random(3, 302)
SELECT feed.post(:a, 'post by ' || :a);
