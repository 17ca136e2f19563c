-- reference: the same 100 rows under the textbook current_setting() policy;
-- no tenant predicate in the query.
\set n random(1, 1000)
\set from random(1, 900)
BEGIN;
SELECT set_config('app.tenant_id', md5(:n::text), true);
SELECT * FROM textbook.items WHERE id > (:n - 1) * 1000 + :from ORDER BY id LIMIT 100;
COMMIT;
