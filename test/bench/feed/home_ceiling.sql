-- reference: the protocol's ceiling for a home page. Twenty rows of
-- home()'s shape (two bigints, a short text, a timestamptz, a 66-character
-- cursor) made up without reading a table: what 8 clients get through the
-- server when the feed itself costs nothing.
\set u random(1, 100000)
SELECT g::bigint + :u AS post_id, g::bigint AS author_id, 'post 187344'::text AS content, now() AS created_at,
       repeat('x', 66) AS cursor
  FROM generate_series(1, 20) g;
