-- baseline: a tenant's row by primary key, no RLS, the tenant predicate
-- written by hand. The setting is set as in the other cases (same number of
-- statements per transaction); nothing reads it.
\set id random(1, 1000000)
\set n (:id - 1) / 1000 + 1
BEGIN;
SELECT set_config('app.tenant_id', md5(:n::text), true);
SELECT * FROM plain.items WHERE tenant_id = md5(:n::text)::uuid AND id = :id;
COMMIT;
