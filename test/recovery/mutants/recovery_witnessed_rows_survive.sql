-- A witnessed post's content changes (what a lost or torn write would do).
UPDATE feed.posts SET content = content || ' (changed)'
 WHERE id = (SELECT max(key) FROM rc.witness WHERE kind = 'post');
