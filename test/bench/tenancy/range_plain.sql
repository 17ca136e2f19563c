-- baseline: 100 consecutive rows of one tenant, no RLS, the tenant
-- predicate written by hand (setting set but unread, as in point_plain.sql).
\set n random(1, 1000)
\set from random(1, 900)
BEGIN;
SELECT set_config('app.tenant_id', md5(:n::text), true);
SELECT * FROM plain.items WHERE tenant_id = md5(:n::text)::uuid AND id > (:n - 1) * 1000 + :from ORDER BY id LIMIT 100;
COMMIT;
