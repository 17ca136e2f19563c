-- tenancy: export() and erase() of one tenant: every protected table
-- (partitions through their parent, a detached partition on its own), in
-- foreign-key order, nothing of another tenant touched.
\i sql/include/try.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS tenancy CASCADE;
DROP SCHEMA IF EXISTS gdpr CASCADE;
DROP ROLE IF EXISTS gdpr_app;
CREATE EXTENSION tenancy;
RESET client_min_messages;
CREATE SCHEMA gdpr;
CREATE TABLE gdpr.tenants (id uuid PRIMARY KEY);
CREATE TABLE gdpr.users (id bigint, tenant_id uuid NOT NULL REFERENCES gdpr.tenants, email text,
                         PRIMARY KEY (tenant_id, id));
CREATE TABLE gdpr.projects (id bigint, tenant_id uuid NOT NULL, owner_id bigint NOT NULL, name text,
                            PRIMARY KEY (tenant_id, id),
                            FOREIGN KEY (tenant_id, owner_id) REFERENCES gdpr.users (tenant_id, id))
    PARTITION BY HASH (tenant_id);
CREATE TABLE gdpr.projects_0 PARTITION OF gdpr.projects FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE gdpr.projects_1 PARTITION OF gdpr.projects FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE gdpr.tasks (id bigint, tenant_id uuid NOT NULL, project_id bigint NOT NULL, assignee_id bigint,
                         title text, PRIMARY KEY (tenant_id, id),
                         FOREIGN KEY (tenant_id, project_id) REFERENCES gdpr.projects (tenant_id, id),
                         FOREIGN KEY (tenant_id, assignee_id) REFERENCES gdpr.users (tenant_id, id));
INSERT INTO gdpr.tenants VALUES ('aaaaaaaa-0000-4000-8000-000000000001'), ('bbbbbbbb-0000-4000-8000-000000000002');
INSERT INTO gdpr.users SELECT g, t, 'u' || g || '@' || left(t::text, 1)
    FROM generate_series(1, 3) g, (VALUES ('aaaaaaaa-0000-4000-8000-000000000001'::uuid), ('bbbbbbbb-0000-4000-8000-000000000002')) v(t);
INSERT INTO gdpr.projects SELECT g, t, 1, 'p' || g FROM generate_series(1, 4) g,
    (VALUES ('aaaaaaaa-0000-4000-8000-000000000001'::uuid), ('bbbbbbbb-0000-4000-8000-000000000002')) v(t);
INSERT INTO gdpr.tasks SELECT g, t, 1 + g % 4, 1 + g % 3, 't' || g FROM generate_series(1, 10) g,
    (VALUES ('aaaaaaaa-0000-4000-8000-000000000001'::uuid), ('bbbbbbbb-0000-4000-8000-000000000002')) v(t);
SELECT tenancy.protect('gdpr.users') + tenancy.protect('gdpr.projects') + tenancy.protect('gdpr.tasks') AS protected;
-- The delete order: tasks references projects and users, projects users.
SELECT rel, level FROM tenancy._tops_in_delete_order();

-- export: every row of A, table by table; no row of B.
SELECT table_name, count(*) AS rows, bool_and(row_data ->> 'tenant_id' = 'aaaaaaaa-0000-4000-8000-000000000001') AS only_a
  FROM tenancy.export('aaaaaaaa-0000-4000-8000-000000000001') GROUP BY 1 ORDER BY table_name::text;
SELECT row_data FROM tenancy.export('aaaaaaaa-0000-4000-8000-000000000001')
 WHERE table_name = 'gdpr.users'::regclass ORDER BY row_data ->> 'id';
SELECT count(*) AS unknown_tenant_rows FROM tenancy.export('cccccccc-0000-4000-8000-000000000003');

-- Application roles cannot call them.
CREATE ROLE gdpr_app;
SET ROLE gdpr_app;
SELECT pg_temp.try($$SELECT count(*) FROM tenancy.export('aaaaaaaa-0000-4000-8000-000000000001')$$) AS app_export;
SELECT pg_temp.try($$SELECT count(*) FROM tenancy.erase('aaaaaaaa-0000-4000-8000-000000000001')$$) AS app_erase;
RESET ROLE;
SELECT pg_temp.try($$SELECT count(*) FROM tenancy.erase(NULL)$$) AS null_tenant;

-- A foreign key from an unprotected table blocks the erase: nothing deleted.
CREATE TABLE gdpr.audit_log (tenant uuid, user_id bigint, FOREIGN KEY (tenant, user_id) REFERENCES gdpr.users (tenant_id, id));
INSERT INTO gdpr.audit_log VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 2);
SELECT pg_temp.try($$SELECT count(*) FROM tenancy.erase('aaaaaaaa-0000-4000-8000-000000000001')$$) AS blocked;
SELECT (SELECT count(*) FROM gdpr.users) AS users, (SELECT count(*) FROM gdpr.tasks) AS tasks;
DROP TABLE gdpr.audit_log;

-- A detached partition keeps its guard and is erased on its own.
ALTER TABLE gdpr.tasks DROP CONSTRAINT tasks_tenant_id_project_id_fkey;
ALTER TABLE gdpr.projects DETACH PARTITION gdpr.projects_1;
SELECT rel, level FROM tenancy._tops_in_delete_order();

-- erase: A's rows gone, B's untouched.
SELECT * FROM tenancy.erase('aaaaaaaa-0000-4000-8000-000000000001');
SELECT tenant_id, count(*) FROM (SELECT tenant_id FROM gdpr.users UNION ALL SELECT tenant_id FROM gdpr.projects
                                 UNION ALL SELECT tenant_id FROM gdpr.projects_1 UNION ALL SELECT tenant_id FROM gdpr.tasks) x
 GROUP BY 1 ORDER BY 1;
SELECT * FROM tenancy.erase('aaaaaaaa-0000-4000-8000-000000000001') WHERE deleted > 0;

-- A role granted erase() cannot make it run code of its own as the owner
-- (say, through a temporary table it prepared under a name erase() might use).
CREATE ROLE gdpr_dpo;
GRANT EXECUTE ON FUNCTION tenancy.erase(uuid) TO gdpr_dpo;
SET ROLE gdpr_dpo;
CREATE FUNCTION pg_temp.escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'ALTER ROLE gdpr_dpo SUPERUSER';
    RETURN NEW;
END $$;
CREATE TEMP TABLE tenancy_tops (rel oid PRIMARY KEY, tenant_column name, level integer);
CREATE TRIGGER escalate BEFORE INSERT OR UPDATE ON pg_temp.tenancy_tops FOR EACH ROW EXECUTE FUNCTION pg_temp.escalate();
SELECT count(*) AS erased_tables FROM tenancy.erase('cccccccc-0000-4000-8000-000000000003');
RESET ROLE;
SELECT rolsuper AS dpo_became_superuser FROM pg_roles WHERE rolname = 'gdpr_dpo';
DROP TABLE pg_temp.tenancy_tops;
DROP FUNCTION pg_temp.escalate();
REVOKE ALL ON FUNCTION tenancy.erase(uuid) FROM gdpr_dpo;
DROP ROLE gdpr_dpo;

-- A cycle of foreign keys has no delete order.
ALTER TABLE gdpr.users ADD COLUMN fav_project bigint;
ALTER TABLE gdpr.users ADD FOREIGN KEY (tenant_id, fav_project) REFERENCES gdpr.projects (tenant_id, id);
SELECT pg_temp.try($$SELECT count(*) FROM tenancy.erase('bbbbbbbb-0000-4000-8000-000000000002')$$) AS cycle;
SELECT count(*) AS b_rows_kept FROM gdpr.tasks;

SET client_min_messages = warning;
DROP SCHEMA gdpr CASCADE;
RESET client_min_messages;
DROP ROLE gdpr_app;
