-- The whale writes: one new row, one row updated (its count of updates + 1).
\set k random(1, 100000)
BEGIN;
SELECT tenancy.enter(md5('1000')::uuid) IS NULL AS entered;
INSERT INTO app.items VALUES (md5('1000')::uuid, nextval('app.whale_ids'), 'new');
UPDATE app.items SET payload = md5(:k::text || 'u'), updates = updates + 1 WHERE id = :k;
-- The truth the checks compare with: a table the move does not touch.
INSERT INTO app.whale_writes VALUES (currval('app.whale_ids'));
COMMIT;
