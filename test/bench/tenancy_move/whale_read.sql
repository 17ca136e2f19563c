-- The whale's point read (tenant 1000).
\set k random(1, 100000)
BEGIN;
SELECT tenancy.enter(md5('1000')::uuid) IS NULL AS entered;
SELECT payload FROM app.items WHERE id = :k;
COMMIT;
