-- reference: the textbook policy, USING (tenant_id =
-- current_setting('app.tenant_id')::uuid); the query has no tenant predicate.
\set id random(1, 1000000)
\set n (:id - 1) / 1000 + 1
BEGIN;
SELECT set_config('app.tenant_id', md5(:n::text), true);
SELECT * FROM textbook.items WHERE id = :id;
COMMIT;
