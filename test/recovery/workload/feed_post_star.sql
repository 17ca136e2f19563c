-- A post by "star" (the celebrity: pulled at read time while it has 150
-- followers or more).
SELECT feed.post(2, 'news from star');
