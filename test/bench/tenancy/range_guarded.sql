-- casebook: the same 100 rows through tenancy's guard, tenant entered with
-- tenancy.enter(); no tenant predicate in the query.
\set n random(1, 1000)
\set from random(1, 900)
BEGIN;
SELECT tenancy.enter(md5(:n::text)::uuid);
SELECT * FROM guarded.items WHERE id > (:n - 1) * 1000 + :from ORDER BY id LIMIT 100;
COMMIT;
