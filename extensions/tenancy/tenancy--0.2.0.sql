-- tenancy 0.2.0: a tenant guard over row-level security (casebook case study 4).
-- Needs shared_preload_libraries = 'tenancy' (KB001 otherwise).
\echo Use "CREATE EXTENSION tenancy" to load this file. \quit

CREATE FUNCTION @extschema@._require_preload() RETURNS void
    LANGUAGE c AS 'MODULE_PATHNAME', 'tenancy_require_preload';
SELECT @extschema@._require_preload();

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

-- Every relation that carries the guard (a protected table and each of its
-- partitions), with the guard's text as created: the event triggers refuse
-- DDL that changes it (KB407). Written only by the extension's functions.
CREATE TABLE @extschema@.protected_tables (
    relid regclass PRIMARY KEY,
    tenant_column name NOT NULL,
    root regclass NOT NULL,           -- the table protect() was called on
    guard_qual text NOT NULL,         -- pg_get_expr() of tenancy_guard as created
    rls_before boolean NOT NULL,      -- put back by unprotect()
    force_before boolean NOT NULL,
    protected_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX protected_tables_root ON @extschema@.protected_tables (root);

-- Schemas whose new tables with the tenant column are protected (or refused).
CREATE TABLE @extschema@.schemas (
    schema_name regnamespace PRIMARY KEY,
    on_new_table text NOT NULL DEFAULT 'protect' CHECK (on_new_table IN ('protect', 'refuse')),
    tenant_column name NOT NULL DEFAULT 'tenant_id'
);

-- Token keys (HMAC-SHA256 secrets). No application role can read them.
CREATE TABLE @extschema@.token_keys (
    kid text PRIMARY KEY CHECK (kid <> '' AND length(kid) <= 200),
    secret bytea NOT NULL CHECK (octet_length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.protected_tables', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.schemas', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.token_keys', '');

-- Every role calls enter_token(), current(), leave(); guards call tenant().
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
REVOKE ALL ON @extschema@.protected_tables, @extschema@.schemas, @extschema@.token_keys FROM PUBLIC;
GRANT SELECT ON @extschema@.protected_tables, @extschema@.schemas TO PUBLIC;

-- Every backend reloads its cached keys and limits after a change commits.
CREATE FUNCTION @extschema@._cache_changed() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'tenancy_cache_changed';
CREATE TRIGGER keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.token_keys
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._cache_changed();

-- ---------------------------------------------------------------------------
-- The tenant context
-- ---------------------------------------------------------------------------

-- For trusted roles (EXECUTE is granted by hand): enters any tenant.
CREATE FUNCTION @extschema@.enter(tenant uuid, session boolean DEFAULT false) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tenancy_enter';
-- For application roles: the tenant of a valid HS256 token.
CREATE FUNCTION @extschema@.enter_token(token text, session boolean DEFAULT false) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tenancy_enter_token';
CREATE FUNCTION @extschema@.issue_token(tenant uuid, ttl interval DEFAULT '1 hour') RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tenancy_issue_token';
CREATE FUNCTION @extschema@.current() RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'tenancy_current';
CREATE FUNCTION @extschema@.leave() RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'tenancy_leave';
-- What the guards compare with: the context, or KB401 without one.
CREATE FUNCTION @extschema@.tenant() RETURNS uuid
    LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'tenancy_tenant';

-- The USING/WITH CHECK of tenancy_rows: true, folded away at planning.
-- It exists so that tenancy_rows depends on the extension: DROP EXTENSION
-- ... CASCADE drops it with tenancy_guard, and the tables stay closed
-- (forced row security without a permissive policy shows no row).
CREATE FUNCTION @extschema@._rows() RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT true';

REVOKE ALL ON FUNCTION @extschema@.enter(uuid, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.issue_token(uuid, interval) FROM PUBLIC;

-- Keys: a superuser adds, rotates and drops them.
CREATE FUNCTION @extschema@.add_token_key(secret bytea, kid text DEFAULT NULL) RETURNS text
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
    AS $$
    INSERT INTO @extschema@.token_keys (kid, secret)
    VALUES (coalesce(kid, pg_catalog.gen_random_uuid()::text), secret)
    RETURNING kid
$$;
CREATE FUNCTION @extschema@.drop_token_key(kid text) RETURNS boolean
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
    AS $$
    WITH d AS (DELETE FROM @extschema@.token_keys k WHERE k.kid = drop_token_key.kid RETURNING 1)
    SELECT count(*) > 0 FROM d
$$;
REVOKE ALL ON FUNCTION @extschema@.add_token_key(bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.drop_token_key(text) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Per-tenant limits, applied by enter() and enter_token()
-- ---------------------------------------------------------------------------

-- A plan's limits (NULL: no limit of that kind).
CREATE TABLE @extschema@.plan_limits (
    plan text PRIMARY KEY,
    statement_timeout_ms integer CHECK (statement_timeout_ms > 0),
    lock_timeout_ms integer CHECK (lock_timeout_ms > 0),
    work_mem_kb integer CHECK (work_mem_kb >= 64)
);
-- A tenant's plan, and its own limits (each overrides the plan's).
CREATE TABLE @extschema@.tenant_limits (
    tenant uuid PRIMARY KEY,
    plan text REFERENCES @extschema@.plan_limits (plan) ON UPDATE CASCADE,
    statement_timeout_ms integer CHECK (statement_timeout_ms > 0),
    lock_timeout_ms integer CHECK (lock_timeout_ms > 0),
    work_mem_kb integer CHECK (work_mem_kb >= 64)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.plan_limits', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tenant_limits', '');
REVOKE ALL ON @extschema@.plan_limits, @extschema@.tenant_limits FROM PUBLIC;

CREATE TRIGGER limits_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.plan_limits
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._cache_changed();
CREATE TRIGGER limits_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.tenant_limits
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._cache_changed();

-- The limits enter() applies: the tenant's own, else its plan's.
CREATE FUNCTION @extschema@._effective_limits(tenant uuid)
    RETURNS TABLE (statement_timeout_ms integer, lock_timeout_ms integer, work_mem_kb integer)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT coalesce(t.statement_timeout_ms, p.statement_timeout_ms),
           coalesce(t.lock_timeout_ms, p.lock_timeout_ms),
           coalesce(t.work_mem_kb, p.work_mem_kb)
    FROM @extschema@.tenant_limits t
    LEFT JOIN @extschema@.plan_limits p ON p.plan = t.plan
    WHERE t.tenant = _effective_limits.tenant
$$;
REVOKE ALL ON FUNCTION @extschema@._effective_limits(uuid) FROM PUBLIC;

-- Superusers set them (work_mem as PostgreSQL writes it: '64MB', '4096kB').
CREATE FUNCTION @extschema@.set_plan_limits(plan text, statement_timeout interval DEFAULT NULL,
                                            lock_timeout interval DEFAULT NULL, work_mem text DEFAULT NULL)
    RETURNS void LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
    AS $$
    INSERT INTO @extschema@.plan_limits AS p (plan, statement_timeout_ms, lock_timeout_ms, work_mem_kb)
    VALUES (plan, (extract(epoch FROM statement_timeout) * 1000)::integer,
            (extract(epoch FROM lock_timeout) * 1000)::integer, (pg_size_bytes(work_mem) / 1024)::integer)
    ON CONFLICT ON CONSTRAINT plan_limits_pkey DO UPDATE
        SET statement_timeout_ms = EXCLUDED.statement_timeout_ms, lock_timeout_ms = EXCLUDED.lock_timeout_ms,
            work_mem_kb = EXCLUDED.work_mem_kb
$$;
CREATE FUNCTION @extschema@.set_tenant_limits(tenant uuid, plan text DEFAULT NULL,
                                              statement_timeout interval DEFAULT NULL,
                                              lock_timeout interval DEFAULT NULL, work_mem text DEFAULT NULL)
    RETURNS void LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
    AS $$
    INSERT INTO @extschema@.tenant_limits AS t (tenant, plan, statement_timeout_ms, lock_timeout_ms, work_mem_kb)
    VALUES (tenant, plan, (extract(epoch FROM statement_timeout) * 1000)::integer,
            (extract(epoch FROM lock_timeout) * 1000)::integer, (pg_size_bytes(work_mem) / 1024)::integer)
    ON CONFLICT ON CONSTRAINT tenant_limits_pkey DO UPDATE
        SET plan = EXCLUDED.plan, statement_timeout_ms = EXCLUDED.statement_timeout_ms,
            lock_timeout_ms = EXCLUDED.lock_timeout_ms, work_mem_kb = EXCLUDED.work_mem_kb
$$;
REVOKE ALL ON FUNCTION @extschema@.set_plan_limits(text, interval, interval, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.set_tenant_limits(uuid, text, interval, interval, text) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Protection
-- ---------------------------------------------------------------------------

-- Table owners protect their tables (ownership is checked, as ALTER TABLE does).
CREATE FUNCTION @extschema@.protect(tab regclass, tenant_column name DEFAULT 'tenant_id') RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tenancy_protect';
CREATE FUNCTION @extschema@.unprotect(tab regclass) RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tenancy_unprotect';

CREATE FUNCTION @extschema@._busy() RETURNS boolean
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'tenancy_busy';
CREATE FUNCTION @extschema@._forget_dropped() RETURNS bigint
    LANGUAGE c VOLATILE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'tenancy_forget_dropped';

-- Why a registered relation's guard is not what protect() made, or NULL.
CREATE FUNCTION @extschema@._broken(rel regclass) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE
        WHEN NOT c.relrowsecurity THEN 'row level security is disabled'
        WHEN NOT c.relforcerowsecurity THEN 'row level security is not forced (the owner would bypass it)'
        WHEN g.oid IS NULL THEN 'policy tenancy_guard is missing'
        WHEN g.polpermissive OR g.polcmd <> '*' OR g.polroles <> '{0}'
            THEN 'policy tenancy_guard is no longer RESTRICTIVE, FOR ALL, TO PUBLIC'
        WHEN pg_get_expr(g.polqual, g.polrelid) IS DISTINCT FROM p.guard_qual
          OR pg_get_expr(g.polwithcheck, g.polrelid) IS DISTINCT FROM p.guard_qual
            THEN 'policy tenancy_guard was changed'
    END
    FROM @extschema@.protected_tables p
    JOIN pg_class c ON c.oid = p.relid
    LEFT JOIN pg_policy g ON g.polrelid = p.relid AND g.polname = 'tenancy_guard'
    WHERE p.relid = rel
$$;

-- The tenant column a relation is (or would be) protected by: its own
-- registration, or that of its nearest registered ancestor.
CREATE FUNCTION @extschema@._inherited_column(rel regclass) RETURNS name
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    WITH RECURSIVE a(relid, depth) AS (
        SELECT rel::oid, 0
        UNION ALL
        SELECT i.inhparent, a.depth + 1 FROM pg_inherits i JOIN a ON i.inhrelid = a.relid)
    SELECT p.tenant_column FROM a JOIN @extschema@.protected_tables p ON p.relid = a.relid
    ORDER BY a.depth LIMIT 1
$$;

-- Tables (ordinary or partitioned) below rel, rel included, that carry no guard.
CREATE FUNCTION @extschema@._unguarded_below(rel regclass) RETURNS SETOF regclass
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    WITH RECURSIVE t(relid) AS (
        SELECT rel::oid
        UNION SELECT i.inhrelid FROM pg_inherits i JOIN t ON i.inhparent = t.relid)
    SELECT t.relid::regclass FROM t JOIN pg_class c ON c.oid = t.relid
    WHERE c.relkind IN ('r', 'p')
      AND NOT EXISTS (SELECT FROM @extschema@.protected_tables p WHERE p.relid = t.relid)
$$;

CREATE FUNCTION @extschema@.register_schema(schema_name regnamespace, on_new_table text DEFAULT 'protect',
                                            tenant_column name DEFAULT 'tenant_id') RETURNS void
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
    AS $$
    INSERT INTO @extschema@.schemas AS s (schema_name, on_new_table, tenant_column)
    VALUES (schema_name, on_new_table, tenant_column)
    ON CONFLICT ON CONSTRAINT schemas_pkey DO UPDATE
        SET on_new_table = EXCLUDED.on_new_table, tenant_column = EXCLUDED.tenant_column
$$;
CREATE FUNCTION @extschema@.unregister_schema(schema_name regnamespace) RETURNS boolean
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
    AS $$
    WITH d AS (DELETE FROM @extschema@.schemas s WHERE s.schema_name = unregister_schema.schema_name RETURNING 1)
    SELECT count(*) > 0 FROM d
$$;
REVOKE ALL ON FUNCTION @extschema@.register_schema(regnamespace, text, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.unregister_schema(regnamespace) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- GDPR: every row of one tenant, exported or erased
-- ---------------------------------------------------------------------------

-- Walks up the foreign keys between the top-level protected relations
-- (every registered relation that is not a partition or child of another
-- registered one; a detached partition counts on its own): a relation's
-- depth on a walk is the number of referencing tables below it, and a walk
-- that reaches a relation already on its path closes a cycle.
CREATE FUNCTION @extschema@._fk_walks() RETURNS TABLE (rel oid, depth integer, closes_cycle boolean)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    WITH RECURSIVE tops AS (
        SELECT p.relid::oid AS rel FROM @extschema@.protected_tables p
        WHERE NOT EXISTS (SELECT FROM pg_inherits i JOIN @extschema@.protected_tables q ON q.relid = i.inhparent
                          WHERE i.inhrelid = p.relid)
    ), edges AS (
        SELECT DISTINCT c.conrelid AS child, c.confrelid AS parent
        FROM pg_constraint c JOIN tops a ON a.rel = c.conrelid JOIN tops b ON b.rel = c.confrelid
        WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conrelid <> c.confrelid
    ), walk(rel, depth, path, closes_cycle) AS (
        SELECT t.rel, 0, ARRAY[t.rel], false FROM tops t
        UNION ALL
        SELECT e.parent, w.depth + 1, w.path || e.parent, e.parent = ANY (w.path)
        FROM walk w JOIN edges e ON e.child = w.rel
        WHERE NOT w.closes_cycle
    )
    SELECT w.rel, w.depth, w.closes_cycle FROM walk w
$$;

-- The protected relations a tenant's rows are read and deleted through:
-- every registered relation that is not a partition or child of another
-- registered relation (a detached partition counts on its own), with its
-- place in foreign-key order: 0 for a table no other one of them
-- references, else one more than the highest table referencing it.
-- Children come first when deleting. A reference cycle is KB412.
CREATE FUNCTION @extschema@._tops_in_delete_order()
    RETURNS TABLE (rel regclass, tenant_column name, level integer)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_column
DECLARE
    cycle text;
BEGIN
    -- No temporary table: export() and erase() are SECURITY DEFINER, and a
    -- temporary table the caller created first (with a trigger of its own)
    -- would run the caller's code with the owner's rights.
    SELECT string_agg(DISTINCT w.rel::regclass::text, ', ' ORDER BY w.rel::regclass::text) INTO cycle
    FROM @extschema@._fk_walks() w WHERE w.closes_cycle;
    IF cycle IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'KB412',
            MESSAGE = 'the foreign keys between protected tables form a cycle',
            DETAIL = 'Tables in the cycle: ' || cycle,
            HINT = 'Delete the rows in an order of your own, or make one of the keys DEFERRABLE and delete in one transaction.';
    END IF;
    RETURN QUERY
        SELECT w.rel::regclass, p.tenant_column, max(w.depth)
        FROM @extschema@._fk_walks() w JOIN @extschema@.protected_tables p ON p.relid = w.rel
        GROUP BY w.rel, p.tenant_column
        ORDER BY max(w.depth), w.rel::regclass::text;
END
$$;

-- Every row of the tenant in every protected table, as JSON.
CREATE FUNCTION @extschema@.export(tenant uuid) RETURNS TABLE (table_name regclass, row_data jsonb)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t record;
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'argument tenant must not be NULL';
    END IF;
    FOR t IN SELECT * FROM @extschema@._tops_in_delete_order() ORDER BY rel::text LOOP
        RETURN QUERY EXECUTE format('SELECT %L::pg_catalog.regclass, pg_catalog.to_jsonb(x) FROM %s x WHERE x.%I = $1',
                                    t.rel, t.rel, t.tenant_column)
            USING tenant;
    END LOOP;
END
$$;

-- Deletes every row of the tenant, referencing tables first; returns the
-- count per table. One transaction: an error (a foreign key from an
-- unprotected table, say) deletes nothing.
CREATE FUNCTION @extschema@.erase(tenant uuid) RETURNS TABLE (table_name regclass, deleted bigint)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t record;
    n bigint;
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'argument tenant must not be NULL';
    END IF;
    FOR t IN SELECT * FROM @extschema@._tops_in_delete_order() LOOP
        EXECUTE format('DELETE FROM %s x WHERE x.%I = $1', t.rel, t.tenant_column) USING tenant;
        GET DIAGNOSTICS n = ROW_COUNT;
        table_name := t.rel;
        deleted := n;
        RETURN NEXT;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION @extschema@._tops_in_delete_order() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._fk_walks() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.export(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.erase(uuid) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- One tenant's rows on a replica of its own (logical replication)
-- ---------------------------------------------------------------------------

-- Creates the publication (or replaces its table list) with every
-- protected top-level table, each filtered to the tenant's rows; partitioned
-- tables publish through their root. Row filters need the tenant column in
-- the replica identity (for UPDATE and DELETE): KB413 otherwise, before
-- anything is created.
CREATE FUNCTION @extschema@.replicate(tenant uuid, publication name) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_variable
DECLARE
    t record;
    bad text;
    tables text;
    n bigint;
BEGIN
    IF tenant IS NULL OR publication IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'tenant and publication must not be NULL';
    END IF;
    -- Relations (leaves included) whose replica identity lacks the tenant column.
    SELECT string_agg(p.relid::text, ', ' ORDER BY p.relid::text) INTO bad
    FROM @extschema@.protected_tables p JOIN pg_class c ON c.oid = p.relid
    JOIN pg_attribute a ON a.attrelid = p.relid AND a.attname = p.tenant_column
    WHERE c.relreplident <> 'f'
      AND NOT EXISTS (SELECT FROM pg_index i
                      WHERE i.indrelid = p.relid
                        AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident))
                        AND a.attnum = ANY (i.indkey::int2[]));
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'KB413',
            MESSAGE = format('the replica identity of %s does not contain the tenant column', bad),
            DETAIL = 'A row filter on the tenant column can publish UPDATE and DELETE only when the column is part of the replica identity.',
            HINT = 'Put the tenant column in the primary key, or ALTER TABLE ... REPLICA IDENTITY FULL.';
    END IF;
    SELECT string_agg(format('%s WHERE (%I = %L::uuid)', x.rel, x.tenant_column, tenant), ', ' ORDER BY x.rel::text),
           count(*)
      INTO tables, n
      FROM @extschema@._tops_in_delete_order() x;
    IF n = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'KB406', MESSAGE = 'no protected table to replicate';
    END IF;
    IF EXISTS (SELECT FROM pg_publication WHERE pubname = publication) THEN
        EXECUTE format('ALTER PUBLICATION %I SET TABLE %s', publication, tables);
        EXECUTE format('ALTER PUBLICATION %I SET (publish_via_partition_root = true)', publication);
    ELSE
        EXECUTE format('CREATE PUBLICATION %I FOR TABLE %s WITH (publish_via_partition_root = true)', publication, tables);
    END IF;
    RETURN n;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.replicate(uuid, name) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Event triggers: guards follow new partitions, new tables of registered
-- schemas are protected (or refused), and DDL cannot weaken a guard.
-- They run as the extension's owner (SECURITY DEFINER, search_path pinned):
-- every role's DDL passes through them, whatever its rights on this schema.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._on_ddl_command_end() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
    why text;
    col name;
    s record;
    u regclass;
BEGIN
    IF @extschema@._busy() THEN
        RETURN;  -- protect() / unprotect() at work
    END IF;
    FOR r IN
        SELECT DISTINCT c.objid AS relid
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_class k ON k.oid = c.objid
        WHERE c.classid = 'pg_catalog.pg_class'::regclass AND k.relkind IN ('r', 'p')
        UNION
        SELECT DISTINCT p.polrelid
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_policy p ON p.oid = c.objid
        WHERE c.classid = 'pg_catalog.pg_policy'::regclass
    LOOP
        why := @extschema@._broken(r.relid);
        IF why IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'KB407',
                MESSAGE = format('%s is protected by tenancy: this change would leave it unguarded (%s)',
                                 r.relid::regclass, why),
                HINT = format('Call tenancy.unprotect(%L) first.', r.relid::regclass::text);
        END IF;
        col := @extschema@._inherited_column(r.relid);
        IF col IS NOT NULL THEN
            -- A protected table, or a new partition/child below one: every
            -- relation of its tree carries the guard.
            FOR u IN SELECT * FROM @extschema@._unguarded_below(r.relid) LOOP
                PERFORM @extschema@.protect(u, col);
            END LOOP;
            CONTINUE;
        END IF;
        SELECT sc.* INTO s FROM @extschema@.schemas sc JOIN pg_class k ON k.relnamespace = sc.schema_name
        WHERE k.oid = r.relid;
        IF FOUND AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = r.relid
                             AND a.attname = s.tenant_column AND NOT a.attisdropped) THEN
            IF s.on_new_table = 'refuse' THEN
                RAISE EXCEPTION USING ERRCODE = 'KB408',
                    MESSAGE = format('%s has the tenant column %I but is not protected', r.relid::regclass,
                                     s.tenant_column),
                    DETAIL = format('Schema %s is registered with on_new_table => ''refuse''.', s.schema_name),
                    HINT = format('Create the table, then call tenancy.protect() in the same transaction, '
                                  'after tenancy.register_schema(%L, ''protect'').', s.schema_name::text);
            END IF;
            PERFORM @extschema@.protect(r.relid, s.tenant_column);
        END IF;
    END LOOP;
END
$$;

CREATE FUNCTION @extschema@._on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    d record;
    t regclass;
BEGIN
    IF @extschema@._busy() THEN
        RETURN;
    END IF;
    FOR d IN SELECT * FROM pg_event_trigger_dropped_objects() o
             WHERE o.object_type = 'policy' AND o.address_names[3] = 'tenancy_guard'
    LOOP
        t := to_regclass(format('%I.%I', d.address_names[1], d.address_names[2]));
        IF t IS NOT NULL AND EXISTS (SELECT FROM @extschema@.protected_tables p WHERE p.relid = t) THEN
            RAISE EXCEPTION USING ERRCODE = 'KB407',
                MESSAGE = format('%s is protected by tenancy: its policy tenancy_guard cannot be dropped', t),
                HINT = format('Call tenancy.unprotect(%L) first.', t::text);
        END IF;
    END LOOP;
    IF EXISTS (SELECT FROM pg_event_trigger_dropped_objects() o WHERE o.object_type IN ('table', 'schema')) THEN
        PERFORM @extschema@._forget_dropped();
    END IF;
END
$$;

CREATE EVENT TRIGGER tenancy_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE', 'ALTER POLICY', 'CREATE POLICY')
    EXECUTE FUNCTION @extschema@._on_ddl_command_end();
CREATE EVENT TRIGGER tenancy_sql_drop ON sql_drop
    EXECUTE FUNCTION @extschema@._on_sql_drop();

-- ---- audit ----

-- What, in this database and among the roles that can log in, undoes or
-- weakens the tenant guard (docs/tenancy.md, "Audit"). One row per finding
-- and object, ordered by finding then object; `fix` is the SQL to run or,
-- where a choice is needed, the action to take. It reads the catalogs and
-- the registry, never a row of a table: every role may call it.
CREATE FUNCTION @extschema@.audit()
    RETURNS TABLE (finding text, object text, detail text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
WITH RECURSIVE
-- Registered relations, with the number of their tenant column.
reg AS (
    SELECT c.oid AS relid, p.tenant_column AS col, a.attnum, c.relowner, c.relispartition, c.relacl
    FROM @extschema@.protected_tables p
    JOIN pg_catalog.pg_class c ON c.oid = p.relid
    LEFT JOIN pg_catalog.pg_attribute a
           ON a.attrelid = c.oid AND a.attname = p.tenant_column AND a.attnum > 0 AND NOT a.attisdropped
),
-- The names a tenant column goes by.
tenant_names(name) AS (
    SELECT p.tenant_column FROM @extschema@.protected_tables p
    UNION SELECT s.tenant_column FROM @extschema@.schemas s
    UNION SELECT 'tenant_id'::pg_catalog.name
),
-- Relations below a registered one (partitions, inheritance children, any
-- depth), each with a registered ancestor and its distance.
below(relid, anc, depth) AS (
    SELECT i.inhrelid, i.inhparent, 1
    FROM pg_catalog.pg_inherits i JOIN reg ON reg.relid = i.inhparent
    UNION ALL
    SELECT i.inhrelid, b.anc, b.depth + 1
    FROM pg_catalog.pg_inherits i JOIN below b ON i.inhparent = b.relid
),
nearest AS (  -- the nearest registered ancestor of each
    SELECT DISTINCT ON (b.relid) b.relid, b.anc FROM below b ORDER BY b.relid, b.depth, b.anc
),
-- Tables of users' schemas with a tenant column of type uuid, neither
-- registered nor below a registered table.
unprotected AS (
    SELECT c.oid AS relid, (pg_catalog.array_agg(a.attname ORDER BY a.attnum))[1] AS col,
           (pg_catalog.array_agg(a.attnum ORDER BY a.attnum))[1] AS attnum
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
    WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.oid <> '@extschema@'::pg_catalog.regnamespace
      AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'pg_catalog.uuid'::pg_catalog.regtype
      AND a.attname IN (SELECT t.name FROM tenant_names t)
      AND NOT EXISTS (SELECT FROM reg WHERE reg.relid = c.oid)
      AND NOT EXISTS (SELECT FROM below b WHERE b.relid = c.oid)
    GROUP BY c.oid
),
-- The topmost unprotected table above each one: protect() on it covers its tree.
unprotected_top(relid, top) AS (
    SELECT u.relid, u.relid FROM unprotected u
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_inherits i JOIN unprotected v ON v.relid = i.inhparent
                      WHERE i.inhrelid = u.relid)
    UNION
    SELECT i.inhrelid, t.top
    FROM pg_catalog.pg_inherits i
    JOIN unprotected_top t ON i.inhparent = t.relid
    JOIN unprotected u ON u.relid = i.inhrelid
),
-- Views and materialized views whose rules read a registered relation,
-- directly or through other views, with that relation.
readers(relid, prot) AS (
    SELECT r.ev_class, d.refobjid
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
      AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.refobjid IN (SELECT reg.relid FROM reg) AND r.ev_class <> d.refobjid
    UNION
    SELECT r.ev_class, x.prot
    FROM readers x
    JOIN pg_catalog.pg_class v ON v.oid = x.relid AND v.relkind = 'v'
    JOIN pg_catalog.pg_depend d
      ON d.refobjid = x.relid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
     AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
    JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.ev_class <> x.relid
),
reader_of AS (
    SELECT x.relid, pg_catalog.string_agg(DISTINCT x.prot::pg_catalog.regclass::text, ', '
                                          ORDER BY x.prot::pg_catalog.regclass::text) AS tabs
    FROM readers x GROUP BY x.relid
),
-- The tenant column of each relation that holds tenant rows: a registered
-- one's, or an unprotected tenant table's.
tenant_attrs(relid, attnum) AS (
    SELECT reg.relid, reg.attnum FROM reg WHERE reg.attnum IS NOT NULL
    UNION ALL
    SELECT u.relid, u.attnum FROM unprotected u
),
-- Registered relations without a valid, non-partial index led by the
-- tenant column, and the topmost of them above each one (CREATE INDEX on a
-- partitioned table creates it on every partition).
unindexed AS (
    SELECT reg.relid, reg.col, reg.relispartition FROM reg
    WHERE reg.attnum IS NOT NULL
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i
                      WHERE i.indrelid = reg.relid AND i.indisvalid AND i.indpred IS NULL
                        AND i.indkey[0] = reg.attnum)
),
unindexed_top(relid, top) AS (
    SELECT u.relid, u.relid FROM unindexed u
    WHERE NOT (u.relispartition AND EXISTS (SELECT FROM pg_catalog.pg_inherits i JOIN unindexed v ON v.relid = i.inhparent
                                            WHERE i.inhrelid = u.relid))
    UNION
    SELECT i.inhrelid, t.top
    FROM pg_catalog.pg_inherits i
    JOIN unindexed_top t ON i.inhparent = t.relid
    JOIN unindexed u ON u.relid = i.inhrelid AND u.relispartition
),
findings AS (
    -- 1. A table with a tenant column that nothing guards.
    SELECT 'unprotected_tenant_table' AS finding, u.relid::pg_catalog.regclass::text AS object,
           pg_catalog.format('%s has the tenant column %I (uuid) but is not protected: no tenant guard applies to it, '
                             'so every role that can read it reads every tenant''s rows', u.relid::pg_catalog.regclass, u.col)
           || CASE WHEN t.top <> u.relid THEN pg_catalog.format(' (it is below %s)', t.top::pg_catalog.regclass) ELSE '' END
               AS detail,
           CASE WHEN t.top = u.relid
                THEN pg_catalog.format('SELECT @extschema@.protect(%L, %L);', u.relid::pg_catalog.regclass::text, u.col)
                ELSE pg_catalog.format('covered by the fix for %s', t.top::pg_catalog.regclass) END AS fix
    FROM unprotected u
    JOIN (SELECT DISTINCT ON (t.relid) t.relid, t.top FROM unprotected_top t ORDER BY t.relid, t.top) t
      ON t.relid = u.relid

    UNION ALL
    -- 2. A registered relation whose guard is not what protect() made.
    SELECT 'guard_broken', reg.relid::pg_catalog.regclass::text, b.why,
           pg_catalog.format('SELECT @extschema@.protect(%L, %L);', reg.relid::pg_catalog.regclass::text, reg.col)
    FROM reg CROSS JOIN LATERAL (SELECT @extschema@._broken(reg.relid::pg_catalog.regclass) AS why) b
    WHERE b.why IS NOT NULL

    UNION ALL
    -- 3. A table below a registered one that carries no guard of its own.
    SELECT 'unguarded_partition', c.oid::pg_catalog.regclass::text,
           pg_catalog.format('%s is %s below the protected table %s but is not protected itself: '
                             'queried directly, it is not filtered by tenant', c.oid::pg_catalog.regclass,
                             CASE WHEN c.relispartition THEN 'a partition' ELSE 'an inheritance child' END,
                             nr.anc::pg_catalog.regclass),
           pg_catalog.format('SELECT @extschema@.protect(%L, %L);', c.oid::pg_catalog.regclass::text, reg.col)
    FROM nearest nr
    JOIN pg_catalog.pg_class c ON c.oid = nr.relid
    JOIN reg ON reg.relid = nr.anc
    WHERE c.relkind IN ('r', 'p') AND NOT EXISTS (SELECT FROM reg r2 WHERE r2.relid = c.oid)

    UNION ALL
    -- 3'. A foreign table below a registered one: row security cannot apply to it.
    SELECT 'foreign_partition', c.oid::pg_catalog.regclass::text,
           pg_catalog.format('%s is a foreign table below the protected table %s: row security does not apply to '
                             'foreign tables, so a query of %s itself is not filtered by tenant (nor is the remote '
                             'table it reads)', c.oid::pg_catalog.regclass, nr.anc::pg_catalog.regclass,
                             c.oid::pg_catalog.regclass),
           CASE WHEN c.relispartition
                THEN pg_catalog.format('ALTER TABLE %s DETACH PARTITION %s;', par.inhparent::pg_catalog.regclass,
                                       c.oid::pg_catalog.regclass)
                ELSE pg_catalog.format('ALTER FOREIGN TABLE %s NO INHERIT %s;', c.oid::pg_catalog.regclass,
                                       par.inhparent::pg_catalog.regclass) END
    FROM nearest nr
    JOIN pg_catalog.pg_class c ON c.oid = nr.relid AND c.relkind = 'f'
    CROSS JOIN LATERAL (SELECT i.inhparent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid
                        ORDER BY i.inhseqno LIMIT 1) par

    UNION ALL
    -- 4. A materialized view of protected rows.
    SELECT 'materialized_view_over_protected', m.oid::pg_catalog.regclass::text,
           pg_catalog.format('%s stores rows of %s: a materialized view has no row security, so every role that can '
                             'read it sees the rows its last REFRESH stored, of whichever tenants',
                             m.oid::pg_catalog.regclass, ro.tabs),
           pg_catalog.format('DROP MATERIALIZED VIEW %s; CREATE VIEW %s WITH (security_invoker = true) AS %s',
                             m.oid::pg_catalog.regclass, m.oid::pg_catalog.regclass,
                             pg_catalog.ltrim(pg_catalog.pg_get_viewdef(m.oid)))
    FROM reader_of ro JOIN pg_catalog.pg_class m ON m.oid = ro.relid AND m.relkind = 'm'

    UNION ALL
    -- 5. A view that reads protected rows with its owner's rights.
    SELECT 'view_without_security_invoker', v.oid::pg_catalog.regclass::text,
           pg_catalog.format('%s reads %s with the rights of its owner %s, not of the role that queries it '
                             '(security_invoker is off): privileges and row security are checked for %s, and '
                             'none of the guard applies if %s is a superuser or has BYPASSRLS',
                             v.oid::pg_catalog.regclass, ro.tabs, v.relowner::pg_catalog.regrole,
                             v.relowner::pg_catalog.regrole, v.relowner::pg_catalog.regrole),
           pg_catalog.format('ALTER VIEW %s SET (security_invoker = true);', v.oid::pg_catalog.regclass)
    FROM reader_of ro JOIN pg_catalog.pg_class v ON v.oid = ro.relid AND v.relkind = 'v'
    WHERE NOT coalesce((SELECT pg_catalog.substr(o, 18)::pg_catalog.bool
                        FROM pg_catalog.unnest(v.reloptions) o WHERE o LIKE 'security\_invoker=%'), false)

    UNION ALL
    -- 6. A SECURITY DEFINER function that takes the caller's search_path.
    SELECT 'security_definer_without_search_path', p.oid::pg_catalog.regprocedure::text,
           pg_catalog.format('%s runs with the rights of its owner %s but takes its search_path from the caller: '
                             'the caller can put tables, functions or operators of its own in front of the ones '
                             'its body means, and they run as %s', p.oid::pg_catalog.regprocedure,
                             p.proowner::pg_catalog.regrole, p.proowner::pg_catalog.regrole),
           pg_catalog.format('ALTER %s %s SET search_path = pg_catalog, %I, pg_temp;',
                             CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
                             p.oid::pg_catalog.regprocedure, n.nspname)
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND NOT EXISTS (SELECT FROM pg_catalog.unnest(p.proconfig) s WHERE s LIKE 'search\_path=%')
      -- only one a role other than a superuser may call (dblink_connect_u,
      -- revoked from PUBLIC, is not reported)
      AND EXISTS (SELECT FROM pg_catalog.pg_roles r
                  WHERE NOT r.rolsuper AND pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE'))

    UNION ALL
    -- 7. A login role that uses protected tables and can step around the guard.
    SELECT 'privileged_application_role', r.oid::pg_catalog.regrole::text,
           pg_catalog.format('%s can log in and reads or writes protected tables, but %s',
                             r.oid::pg_catalog.regrole, w.why),
           w.fix
    FROM pg_catalog.pg_roles r
    CROSS JOIN LATERAL (
        SELECT pg_catalog.string_agg(x.why, '; ' ORDER BY x.n, x.why) AS why,
               pg_catalog.string_agg(x.fix, ' ' ORDER BY x.n, x.why) AS fix
        FROM (
            SELECT 1 AS n, 'it is a superuser: row security does not apply to it' AS why,
                   pg_catalog.format('ALTER ROLE %I NOSUPERUSER;', r.rolname) AS fix
            WHERE r.rolsuper
            UNION ALL
            SELECT 2, 'it has BYPASSRLS: row security does not apply to it',
                   pg_catalog.format('ALTER ROLE %I NOBYPASSRLS;', r.rolname)
            WHERE r.rolbypassrls AND NOT r.rolsuper
            UNION ALL
            SELECT 3,
                   CASE WHEN o.owner = r.oid
                        THEN pg_catalog.format('it owns %s', o.tabs)
                        ELSE pg_catalog.format('it is a member of %s, the owner of %s', o.owner::pg_catalog.regrole, o.tabs)
                   END || ' (an owner can unprotect its tables)',
                   CASE WHEN o.owner = r.oid
                        THEN pg_catalog.format('give its tables to a role that cannot log in (REASSIGN OWNED BY %I TO '
                                               'that role) and connect the application as another one;', r.rolname)
                        WHEN EXISTS (SELECT FROM pg_catalog.pg_auth_members am
                                     WHERE am.roleid = o.owner AND am.member = r.oid)
                        THEN pg_catalog.format('REVOKE %s FROM %I;', o.owner::pg_catalog.regrole, r.rolname)
                        ELSE pg_catalog.format('revoke from %I the role through which it is a member of %s;',
                                               r.rolname, o.owner::pg_catalog.regrole) END
            FROM (SELECT reg.relowner AS owner,
                         coalesce(pg_catalog.string_agg(reg.relid::pg_catalog.regclass::text, ', '
                                                        ORDER BY reg.relid::pg_catalog.regclass::text)
                                      FILTER (WHERE NOT reg.relispartition),
                                  pg_catalog.string_agg(reg.relid::pg_catalog.regclass::text, ', '
                                                        ORDER BY reg.relid::pg_catalog.regclass::text)) AS tabs
                  FROM reg GROUP BY reg.relowner) o
            WHERE NOT r.rolsuper AND pg_catalog.pg_has_role(r.oid, o.owner, 'MEMBER')
            UNION ALL
            SELECT 4, pg_catalog.format('it is a member of %s: %s', g.rolname, g.why),
                   CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_auth_members am
                                     WHERE am.roleid = g.oid AND am.member = r.oid)
                        THEN pg_catalog.format('REVOKE %I FROM %I;', g.rolname, r.rolname)
                        ELSE pg_catalog.format('revoke from %I the role through which it is a member of %I;',
                                               r.rolname, g.rolname) END
            FROM (SELECT ra.oid, ra.rolname,
                         CASE ra.rolname
                             WHEN 'pg_read_all_data'
                             THEN 'it can read @extschema@.token_keys and sign a token for any tenant'
                             ELSE 'it can add a key to @extschema@.token_keys and sign a token for any tenant, '
                                  'and rewrite the registry @extschema@.protected_tables'
                         END AS why
                  FROM pg_catalog.pg_roles ra
                  WHERE ra.rolname IN ('pg_read_all_data', 'pg_write_all_data')) g
            WHERE NOT r.rolsuper AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER')
        ) x
    ) w
    WHERE r.rolcanlogin AND r.oid <> 10 AND w.why IS NOT NULL
      AND EXISTS (SELECT FROM reg
                  WHERE pg_catalog.has_table_privilege(r.oid, reg.relid, 'SELECT, INSERT, UPDATE, DELETE'))

    UNION ALL
    -- 8. TRUNCATE granted on a registered relation.
    SELECT 'truncate_privilege', reg.relid::pg_catalog.regclass::text,
           pg_catalog.format('%s may TRUNCATE %s: TRUNCATE does not apply row security, it empties the table '
                             'for every tenant', t.grantees, reg.relid::pg_catalog.regclass),
           pg_catalog.format('REVOKE TRUNCATE ON %s FROM %s;', reg.relid::pg_catalog.regclass, t.grantees)
    FROM reg
    CROSS JOIN LATERAL (
        SELECT pg_catalog.string_agg(x.name, ', ' ORDER BY x.name COLLATE pg_catalog."C") AS grantees
        FROM (SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::pg_catalog.regrole::text END
                                  AS name
              FROM pg_catalog.aclexplode(reg.relacl) a
              LEFT JOIN pg_catalog.pg_roles g ON g.oid = a.grantee
              WHERE a.privilege_type = 'TRUNCATE' AND a.grantee <> reg.relowner
                AND NOT coalesce(g.rolsuper, false)) x
    ) t
    WHERE t.grantees IS NOT NULL

    UNION ALL
    -- 9. A primary key or unique constraint without the tenant column.
    SELECT 'key_without_tenant_column',
           pg_catalog.format('%I on %s', k.conname, reg.relid::pg_catalog.regclass),
           pg_catalog.format('%s %I of %s does not include the tenant column %I: unique checks bypass row '
                             'security, so a unique violation tells a tenant that another tenant has the value',
                             CASE k.contype WHEN 'p' THEN 'primary key' ELSE 'unique constraint' END, k.conname,
                             reg.relid::pg_catalog.regclass, reg.col),
           pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s;',
                             reg.relid::pg_catalog.regclass, k.conname, k.conname,
                             overlay(d.def PLACING '(' || pg_catalog.quote_ident(reg.col) || ', '
                                                FROM pg_catalog.strpos(d.def, '(') FOR 1))
    FROM reg
    JOIN pg_catalog.pg_constraint k ON k.conrelid = reg.relid AND k.contype IN ('p', 'u') AND k.conparentid = 0
    CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_constraintdef(k.oid) AS def) d
    WHERE NOT (reg.attnum = ANY (k.conkey))

    UNION ALL
    -- 9'. A unique index (of no constraint) without the tenant column among its keys.
    SELECT 'key_without_tenant_column', i.indexrelid::pg_catalog.regclass::text,
           pg_catalog.format('unique index %s of %s does not include the tenant column %I: unique checks bypass '
                             'row security, so a unique violation tells a tenant that another tenant has the value',
                             i.indexrelid::pg_catalog.regclass, reg.relid::pg_catalog.regclass, reg.col),
           pg_catalog.format('DROP INDEX %s; %s;', i.indexrelid::pg_catalog.regclass,
                             overlay(d.def PLACING d.head || pg_catalog.quote_ident(reg.col) || ', '
                                                FROM pg_catalog.strpos(d.def, d.head)
                                                FOR pg_catalog.length(d.head)))
    FROM reg
    JOIN pg_catalog.pg_index i ON i.indrelid = reg.relid AND i.indisunique
    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_catalog.pg_am am ON am.oid = ic.relam
    CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
                               pg_catalog.format(' USING %s (', am.amname) AS head) d
    WHERE reg.attnum IS NOT NULL
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k
                      WHERE k.conrelid = reg.relid AND k.conindid = i.indexrelid AND k.contype IN ('p', 'u'))
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid)
      AND NOT EXISTS (SELECT FROM pg_catalog.generate_series(0, i.indnkeyatts - 1) s
                      WHERE i.indkey[s] = reg.attnum)

    UNION ALL
    -- 9''. A foreign key to tenant rows that does not pair the tenant columns.
    SELECT 'key_without_tenant_column',
           pg_catalog.format('%I on %s', k.conname, k.conrelid::pg_catalog.regclass),
           pg_catalog.format('foreign key %I of %s references %s (%s) ', k.conname, k.conrelid::pg_catalog.regclass,
                             k.confrelid::pg_catalog.regclass, cols.referenced)
           || CASE WHEN mine.attnum IS NULL
                   THEN 'from a table without a tenant column: '
                   ELSE pg_catalog.format('without matching its tenant column %I to the tenant column %I '
                                          'of %s: ', mine.attname, theirs.attname, k.confrelid::pg_catalog.regclass)
              END
           || 'foreign-key checks bypass row security, so a reference to another tenant''s row succeeds '
              '(and tells that the row exists)',
           CASE WHEN mine.attnum IS NULL
                THEN pg_catalog.format('give %s a tenant column, protect it, and make %I reference %s (%s)',
                                       k.conrelid::pg_catalog.regclass, k.conname, k.confrelid::pg_catalog.regclass,
                                       pg_catalog.concat_ws(', ', pg_catalog.quote_ident(theirs.attname), cols.theirs))
                ELSE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I FOREIGN KEY (%s) '
                                       'REFERENCES %s (%s)%s; -- as a superuser (the owner''s check of the '
                                       'existing rows runs under the guard); needs a unique key on %s (%s)',
                                       k.conrelid::pg_catalog.regclass, k.conname, k.conname,
                                       pg_catalog.concat_ws(', ', pg_catalog.quote_ident(mine.attname), cols.mine),
                                       k.confrelid::pg_catalog.regclass,
                                       pg_catalog.concat_ws(', ', pg_catalog.quote_ident(theirs.attname), cols.theirs),
                                       cols.tail, k.confrelid::pg_catalog.regclass,
                                       pg_catalog.concat_ws(', ', pg_catalog.quote_ident(theirs.attname), cols.theirs))
           END
    FROM pg_catalog.pg_constraint k
    JOIN tenant_attrs ta ON ta.relid = k.confrelid
    JOIN pg_catalog.pg_attribute theirs ON theirs.attrelid = k.confrelid AND theirs.attnum = ta.attnum
    LEFT JOIN tenant_attrs tm ON tm.relid = k.conrelid
    LEFT JOIN pg_catalog.pg_attribute mine ON mine.attrelid = k.conrelid AND mine.attnum = tm.attnum
    CROSS JOIN LATERAL (
        -- The other columns of the key, both sides, and what follows the
        -- referenced columns in its definition (MATCH, ON DELETE, ...).
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(am.attname), ', ' ORDER BY u.n) AS mine,
               pg_catalog.string_agg(pg_catalog.quote_ident(af.attname), ', ' ORDER BY u.n) AS theirs,
               (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY r.n)
                FROM pg_catalog.unnest(k.confkey) WITH ORDINALITY AS r(b, n)
                JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = r.b) AS referenced,
               (SELECT pg_catalog.substr(s.rest, pg_catalog.strpos(s.rest, ')') + 1)
                FROM (SELECT pg_catalog.substr(d.def, pg_catalog.strpos(d.def, ' REFERENCES ')) AS rest
                      FROM (SELECT pg_catalog.pg_get_constraintdef(k.oid) AS def) d) s) AS tail
        FROM ROWS FROM (pg_catalog.unnest(k.conkey), pg_catalog.unnest(k.confkey)) WITH ORDINALITY AS u(a, b, n)
        JOIN pg_catalog.pg_attribute am ON am.attrelid = k.conrelid AND am.attnum = u.a
        JOIN pg_catalog.pg_attribute af ON af.attrelid = k.confrelid AND af.attnum = u.b
        WHERE u.a IS DISTINCT FROM tm.attnum AND u.b <> ta.attnum
    ) cols
    WHERE k.contype = 'f' AND k.conparentid = 0
      AND (k.conrelid IN (SELECT reg.relid FROM reg) OR k.confrelid IN (SELECT reg.relid FROM reg))
      AND NOT EXISTS (SELECT FROM ROWS FROM (pg_catalog.unnest(k.conkey), pg_catalog.unnest(k.confkey)) AS u(a, b)
                      WHERE u.a = tm.attnum AND u.b = ta.attnum)

    UNION ALL
    -- 10. No index leads with the tenant column.
    SELECT 'tenant_column_not_leading', u.relid::pg_catalog.regclass::text,
           pg_catalog.format('no valid index of %s has the tenant column %I as its first key column: every '
                             'guarded query (%I = @extschema@.tenant()) reads all of it', u.relid::pg_catalog.regclass,
                             u.col, u.col),
           CASE WHEN t.top = u.relid
                THEN pg_catalog.format('CREATE INDEX ON %s (%I);', u.relid::pg_catalog.regclass, u.col)
                ELSE pg_catalog.format('covered by the fix for %s', t.top::pg_catalog.regclass) END
    FROM unindexed u
    JOIN (SELECT DISTINCT ON (t.relid) t.relid, t.top FROM unindexed_top t ORDER BY t.relid, t.top) t
      ON t.relid = u.relid

    UNION ALL
    -- 11. A permissive policy ORed with tenancy_rows (true): it restricts nothing.
    SELECT 'permissive_policy_shadowed', reg.relid::pg_catalog.regclass::text,
           pg_catalog.string_agg(pg_catalog.format('the permissive policy %I of %s is ORed with tenancy_rows, '
                                                   'which is true: it restricts nothing', pol.polname,
                                                   reg.relid::pg_catalog.regclass), '; ' ORDER BY pol.polname),
           pg_catalog.string_agg(pg_catalog.format('DROP POLICY %I ON %s; CREATE POLICY %I ON %s AS RESTRICTIVE '
                                                   'FOR %s TO %s%s%s;', pol.polname, reg.relid::pg_catalog.regclass,
                                                   pol.polname, reg.relid::pg_catalog.regclass,
                                                   CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                                                                   WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE'
                                                                   ELSE 'ALL' END,
                                                   (SELECT pg_catalog.string_agg(
                                                               CASE WHEN pr.r = 0 THEN 'PUBLIC'
                                                                    ELSE pr.r::pg_catalog.regrole::text END,
                                                               ', ' ORDER BY pr.n)
                                                    FROM pg_catalog.unnest(pol.polroles) WITH ORDINALITY AS pr(r, n)),
                                                   ' USING (' || pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) || ')',
                                                   ' WITH CHECK (' || pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid)
                                                       || ')'),
                                 ' ' ORDER BY pol.polname)
    FROM reg
    JOIN pg_catalog.pg_policy pol ON pol.polrelid = reg.relid AND pol.polpermissive AND pol.polname <> 'tenancy_rows'
    WHERE EXISTS (SELECT FROM pg_catalog.pg_policy tr WHERE tr.polrelid = reg.relid AND tr.polname = 'tenancy_rows')
    GROUP BY reg.relid
)
SELECT f.finding, f.object, f.detail, f.fix FROM findings f
ORDER BY f.finding COLLATE pg_catalog."C", f.object COLLATE pg_catalog."C"
$$;
