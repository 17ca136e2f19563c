-- A small tenant's point read (tenants 1..999).
\set n random(1, 999)
\set k random(1, 900)
BEGIN;
SELECT tenancy.enter(md5(:n::text)::uuid) IS NULL AS entered;
SELECT payload FROM app.items WHERE id = :k;
COMMIT;
