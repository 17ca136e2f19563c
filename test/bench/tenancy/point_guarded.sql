-- casebook: the same row through tenancy's guard (tenancy.protect), the
-- tenant entered with tenancy.enter(); the query has no tenant predicate.
\set id random(1, 1000000)
\set n (:id - 1) / 1000 + 1
BEGIN;
SELECT tenancy.enter(md5(:n::text)::uuid);
SELECT * FROM guarded.items WHERE id = :id;
COMMIT;
