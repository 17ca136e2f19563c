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
-- Hybrid isolation: one large tenant in partitions of its own
-- ---------------------------------------------------------------------------
-- The layout isolate() works on (docs/tenancy.md, "Hybrid isolation"): a
-- protected table PARTITION BY LIST (tenant column) whose DEFAULT partition
-- holds the shared tenants, itself PARTITION BY HASH (tenant column) or a
-- plain table, and a primary key. isolate() gives the tenant a LIST
-- partition of its own; unisolate() puts its rows back into the default.
-- Both are procedures (CALL, outside a transaction block): each step
-- commits, so that the tenant's reads and writes go on during the copy.

-- Tenants in partitions of their own, per table.
CREATE TABLE @extschema@.isolated (
    tenant uuid NOT NULL,
    root regclass NOT NULL,
    partition_name regclass NOT NULL,
    isolated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, root)
);
-- Moves under way. A row left by a move that failed (an error, a crash) is
-- cleaned up by the next isolate() of that tenant, which starts again.
CREATE TABLE @extschema@.moves (
    tenant uuid NOT NULL,
    root regclass NOT NULL,
    partition_schema oid NOT NULL,
    partition_name name NOT NULL,
    default_partition regclass NOT NULL,
    leaf regclass NOT NULL,           -- where the tenant's rows are until the switch
    tenant_column name NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, root)
);
-- Primary keys of the tenant's rows written in the default partition since
-- the move began (the capture triggers); the copy is brought up to date
-- from the default partition for each of them.
CREATE TABLE @extschema@.move_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant uuid NOT NULL,
    root oid NOT NULL,
    pk jsonb NOT NULL
);
CREATE INDEX move_log_tenant ON @extschema@.move_log (tenant, root, seq);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.isolated', '');
REVOKE ALL ON @extschema@.isolated, @extschema@.moves, @extschema@.move_log FROM PUBLIC;

CREATE FUNCTION @extschema@._outside_transaction_block(what text) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'tenancy_outside_transaction_block';

CREATE FUNCTION @extschema@._require_superuser(what text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = format('permission denied: only a superuser can run tenancy.%s()', what),
            DETAIL = 'It copies and deletes every row of the tenant across the guard, and changes partitions.';
    END IF;
END
$$;

-- Names derived from the tenant: the partition, the constraints, triggers.
CREATE FUNCTION @extschema@._tenant_tag(tenant uuid) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
    AS $$ SELECT left(replace(tenant::text, '-', ''), 12) $$;

CREATE FUNCTION @extschema@._move_key(tenant uuid) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
    AS $$ SELECT hashtextextended('tenancy.move:' || tenant::text, 0) $$;

-- Every protected top-level table, and whether (and where) the tenant can
-- be moved out of its default partition: skip_reason says why not.
CREATE FUNCTION @extschema@._isolation_targets(tenant uuid)
    RETURNS TABLE (root regclass, tenant_column name, default_partition regclass, leaf regclass, skip_reason text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_column
DECLARE
    p record;
    pt record;
    dt record;
    col int2;
    def regclass;
    found_leaf regclass;
    has_pt boolean;
BEGIN
    FOR p IN SELECT r.relid, r.tenant_column FROM @extschema@.protected_tables r
             WHERE r.relid = r.root
               AND NOT EXISTS (SELECT FROM pg_inherits i WHERE i.inhrelid = r.relid)
             ORDER BY r.relid::text
    LOOP
        root := p.relid;
        tenant_column := p.tenant_column;
        default_partition := NULL;
        leaf := NULL;
        skip_reason := NULL;
        SELECT a.attnum INTO col FROM pg_attribute a WHERE a.attrelid = p.relid AND a.attname = p.tenant_column;
        SELECT * INTO pt FROM pg_partitioned_table x WHERE x.partrelid = p.relid;
        has_pt := FOUND;
        IF EXISTS (SELECT FROM @extschema@.isolated i WHERE i.root = p.relid AND i.tenant = $1) THEN
            skip_reason := 'already isolated';
        ELSIF NOT has_pt OR pt.partstrat <> 'l' OR pt.partnatts <> 1 OR pt.partattrs[0] <> col THEN
            skip_reason := format('not PARTITION BY LIST (%I)', p.tenant_column);
        ELSIF pt.partdefid = 0 THEN
            skip_reason := 'no DEFAULT partition';
        ELSIF NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = p.relid AND i.indisprimary) THEN
            skip_reason := 'no primary key';
        ELSE
            def := pt.partdefid::regclass;
            default_partition := def;
            IF (SELECT c.relkind FROM pg_class c WHERE c.oid = def) = 'r' THEN
                leaf := def;
            ELSE
                SELECT * INTO dt FROM pg_partitioned_table x WHERE x.partrelid = def;
                has_pt := FOUND;
                SELECT a.attnum INTO col FROM pg_attribute a WHERE a.attrelid = def AND a.attname = p.tenant_column;
                IF NOT has_pt OR dt.partstrat <> 'h' OR dt.partnatts <> 1 OR dt.partattrs[0] <> col THEN
                    skip_reason := format('the DEFAULT partition %s is neither a plain table nor PARTITION BY HASH (%I)',
                                          def, p.tenant_column);
                ELSIF EXISTS (SELECT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                              WHERE i.inhparent = def AND c.relkind <> 'r') THEN
                    skip_reason := format('a partition of %s is not a plain table', def);
                ELSE
                    SELECT c.oid::regclass INTO found_leaf
                    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                    WHERE i.inhparent = def
                      AND satisfies_hash_partition(def::oid,
                              substring(pg_get_expr(c.relpartbound, c.oid) FROM 'modulus (\d+)')::int,
                              substring(pg_get_expr(c.relpartbound, c.oid) FROM 'remainder (\d+)')::int,
                              $1);
                    IF found_leaf IS NULL THEN
                        skip_reason := format('no partition of %s takes the tenant''s hash', def);
                    END IF;
                    leaf := found_leaf;
                END IF;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- The capture trigger: the primary key of each row of the moving tenant
-- written in the default partition (old and new key of an update).
-- Arguments: the tenant, the root's OID, the key columns.
CREATE FUNCTION @extschema@._move_capture() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cols text[] := TG_ARGV[2:];
    j jsonb;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        j := to_jsonb(OLD);
        INSERT INTO @extschema@.move_log (tenant, root, pk)
        SELECT TG_ARGV[0]::uuid, TG_ARGV[1]::oid, jsonb_object_agg(k, j -> k) FROM unnest(cols) k;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        j := to_jsonb(NEW);
        INSERT INTO @extschema@.move_log (tenant, root, pk)
        SELECT TG_ARGV[0]::uuid, TG_ARGV[1]::oid, jsonb_object_agg(k, j -> k) FROM unnest(cols) k;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION @extschema@._move_refuse_truncate() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'KB418',
        MESSAGE = format('%s cannot be truncated while tenant %s is being isolated', TG_RELID::regclass, TG_ARGV[0]),
        HINT = 'Wait for tenancy.isolate() to finish.';
END
$$;

-- Column lists of a root: every stored column, and the primary key.
CREATE FUNCTION @extschema@._stored_columns(rel regclass, prefix text DEFAULT '') RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT string_agg(prefix || quote_ident(a.attname), ', ' ORDER BY a.attnum)
    FROM pg_attribute a
    WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
$$;
CREATE FUNCTION @extschema@._key_columns(rel regclass) RETURNS name[]
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT array_agg(a.attname ORDER BY k.ord)
    FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = k.attnum
    WHERE i.indrelid = rel AND i.indisprimary
$$;
-- "l.c1 = r.c1 AND l.c2 = r.c2" over the key columns.
CREATE FUNCTION @extschema@._key_match(rel regclass, l text, r text) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT string_agg(format('%s.%I = %s.%I', l, c, r, c), ' AND ')
    FROM unnest(@extschema@._key_columns(rel)) c
$$;

CREATE FUNCTION @extschema@._move_of(tenant uuid, root regclass) RETURNS @extschema@.moves
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    m @extschema@.moves;
BEGIN
    SELECT * INTO m FROM @extschema@.moves x WHERE x.tenant = $1 AND x.root = $2;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'KB418', MESSAGE = format('no move of tenant %s in %s is under way', $1, $2);
    END IF;
    RETURN m;
END
$$;

CREATE FUNCTION @extschema@._move_partition(m @extschema@.moves) RETURNS regclass
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT c.oid::regclass FROM pg_class c WHERE c.relnamespace = m.partition_schema AND c.relname = m.partition_name
$$;

-- The capture triggers of a move, and its fences (on the default partition
-- and on each of its partitions): dropped by the switch once the partition
-- is attached, and by _move_abandon after a failed move.
CREATE FUNCTION @extschema@._move_drop_triggers(m @extschema@.moves) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    tag text := @extschema@._tenant_tag(m.tenant);
    kind text;
BEGIN
    FOREACH kind IN ARRAY ARRAY['i', 'u', 'd'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'tenancy_move_' || kind || '_' || tag, m.default_partition);
    END LOOP;
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'tenancy_move_t_' || tag, m.leaf);
END
$$;
CREATE FUNCTION @extschema@._move_drop_fences(m @extschema@.moves) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cname name := 'tenancy_not_' || @extschema@._tenant_tag(m.tenant);
    l regclass;
BEGIN
    FOR l IN SELECT c.conrelid::regclass FROM pg_constraint c
             WHERE c.conname = cname
               AND (c.conrelid = m.default_partition
                    OR c.conrelid IN (SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = m.default_partition))
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', l, cname);
    END LOOP;
END
$$;

-- Undoes what a failed move left: the copy, the triggers, the fences, the log.
CREATE FUNCTION @extschema@._move_abandon(tenant uuid, root regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    m @extschema@.moves;
    part regclass;
BEGIN
    SELECT * INTO m FROM @extschema@.moves x WHERE x.tenant = $1 AND x.root = $2;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    part := @extschema@._move_partition(m);
    IF part IS NOT NULL AND NOT EXISTS (SELECT FROM pg_inherits i WHERE i.inhrelid = part) THEN
        EXECUTE format('DROP TABLE %s', part);
    END IF;
    PERFORM @extschema@._move_drop_triggers(m);
    PERFORM @extschema@._move_drop_fences(m);
    DELETE FROM @extschema@.move_log g WHERE g.tenant = $1 AND g.root = $2;
    DELETE FROM @extschema@.moves x WHERE x.tenant = $1 AND x.root = $2;
END
$$;

-- Step 1: the tenant's partition, empty and detached, with the root's
-- columns, indexes, CHECK and foreign keys (validated while empty) and a
-- CHECK that proves its partition constraint at ATTACH; then the capture
-- triggers on the default partition. Returns the partition.
CREATE FUNCTION @extschema@._move_prepare(tenant uuid, root regclass, tenant_column name,
                                          default_partition regclass, leaf regclass) RETURNS regclass
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    tag text := @extschema@._tenant_tag(tenant);
    nsp oid;
    pname name;
    part regclass;
    f record;
    keycols text;
BEGIN
    PERFORM @extschema@._move_abandon(tenant, root);
    SELECT c.relnamespace, left(c.relname, 40) || '_t_' || tag INTO nsp, pname FROM pg_class c WHERE c.oid = root;
    INSERT INTO @extschema@.moves (tenant, root, partition_schema, partition_name, default_partition, leaf, tenant_column)
    VALUES (tenant, root, nsp, pname, default_partition, leaf, tenant_column);
    EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES '
                   'INCLUDING STORAGE INCLUDING GENERATED INCLUDING COMMENTS INCLUDING STATISTICS)',
                   (SELECT n.nspname FROM pg_namespace n WHERE n.oid = nsp), pname, root);
    part := format('%I.%I', (SELECT n.nspname FROM pg_namespace n WHERE n.oid = nsp), pname)::regclass;
    EXECUTE format('ALTER TABLE %s OWNER TO %I', part,
                   (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = root));
    IF (SELECT c.relreplident FROM pg_class c WHERE c.oid = root) = 'f' THEN
        EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', part);
    END IF;
    FOR f IN SELECT c.conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
             WHERE c.conrelid = root AND c.contype = 'f' AND c.conparentid = 0 ORDER BY c.conname
    LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', part, f.conname, f.def);
    END LOOP;
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I = %L::uuid)', part, 'tenancy_only_' || tag,
                   tenant_column, tenant);
    SELECT string_agg(quote_literal(k), ', ') INTO keycols FROM unnest(@extschema@._key_columns(root)) k;
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s FOR EACH ROW WHEN (NEW.%I = %L::uuid) '
                   'EXECUTE FUNCTION @extschema@._move_capture(%L, %L, %s)',
                   'tenancy_move_i_' || tag, default_partition, tenant_column, tenant, tenant, root::oid, keycols);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s FOR EACH ROW WHEN (OLD.%I = %L::uuid OR NEW.%I = %L::uuid) '
                   'EXECUTE FUNCTION @extschema@._move_capture(%L, %L, %s)',
                   'tenancy_move_u_' || tag, default_partition, tenant_column, tenant, tenant_column, tenant,
                   tenant, root::oid, keycols);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s FOR EACH ROW WHEN (OLD.%I = %L::uuid) '
                   'EXECUTE FUNCTION @extschema@._move_capture(%L, %L, %s)',
                   'tenancy_move_d_' || tag, default_partition, tenant_column, tenant, tenant, root::oid, keycols);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT '
                   'EXECUTE FUNCTION @extschema@._move_refuse_truncate(%L)', 'tenancy_move_t_' || tag, leaf, tenant);
    RETURN part;
END
$$;

-- Step 2: the tenant's rows as of now (later writes are in the log).
CREATE FUNCTION @extschema@._move_copy(tenant uuid, root regclass) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    m @extschema@.moves := @extschema@._move_of(tenant, root);
    cols text := @extschema@._stored_columns(root);
    n bigint;
BEGIN
    -- No trigger of the table fires for the copy (nor for the deletes of
    -- the switch): the rows are not new, only moved.
    PERFORM set_config('session_replication_role', 'replica', true);
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s WHERE %I = %L::uuid',
                   @extschema@._move_partition(m), cols, cols, m.leaf, m.tenant_column, tenant);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- Step 3 (repeated): up to batch logged keys, each row copied again from
-- the default partition (or removed from the copy when it is gone there).
CREATE FUNCTION @extschema@._move_resync(tenant uuid, root regclass, batch integer) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    m @extschema@.moves := @extschema@._move_of(tenant, root);
    part regclass := @extschema@._move_partition(m);
    cols text := @extschema@._stored_columns(root);
    keys jsonb;
    n bigint;
BEGIN
    PERFORM set_config('session_replication_role', 'replica', true);
    WITH l AS (
        DELETE FROM @extschema@.move_log g
        WHERE g.seq IN (SELECT x.seq FROM @extschema@.move_log x
                        WHERE x.tenant = $1 AND x.root = $2::oid ORDER BY x.seq LIMIT batch)
        RETURNING g.pk)
    SELECT jsonb_agg(DISTINCT l.pk), count(*) INTO keys, n FROM l;
    IF n = 0 THEN
        RETURN 0;
    END IF;
    EXECUTE format('DELETE FROM %s t USING jsonb_populate_recordset(NULL::%s, $1) k WHERE %s',
                   part, root, @extschema@._key_match(root, 't', 'k')) USING keys;
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s s JOIN jsonb_populate_recordset(NULL::%s, $1) k ON %s '
                   'WHERE s.%I = $2',
                   part, cols, @extschema@._stored_columns(root, 's.'),
                   m.leaf, root, @extschema@._key_match(root, 's', 'k'), m.tenant_column) USING keys, tenant;
    RETURN n;
END
$$;

-- Step 4: on every other partition of the default, a CHECK that excludes
-- the tenant (it never had a row there), NOT VALID then validated while
-- writes go on; with it, ATTACH proves the default holds no row of the
-- tenant without scanning it.
CREATE FUNCTION @extschema@._move_fence(tenant uuid, root regclass, validate boolean) RETURNS integer
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    m @extschema@.moves := @extschema@._move_of(tenant, root);
    cname name := 'tenancy_not_' || @extschema@._tenant_tag(tenant);
    l regclass;
    n integer := 0;
BEGIN
    FOR l IN SELECT i.inhrelid::regclass FROM pg_inherits i
             WHERE i.inhparent = m.default_partition AND i.inhrelid <> m.leaf ORDER BY i.inhrelid
    LOOP
        IF NOT validate AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conrelid = l AND c.conname = cname) THEN
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I <> %L::uuid) NOT VALID',
                           l, cname, m.tenant_column, tenant);
            n := n + 1;
        ELSIF validate AND EXISTS (SELECT FROM pg_constraint c WHERE c.conrelid = l AND c.conname = cname
                                   AND NOT c.convalidated) THEN
            EXECUTE format('ALTER TABLE %s VALIDATE CONSTRAINT %I', l, cname);
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;

-- Step 5, one transaction: the table and its default partition locked
-- (ACCESS EXCLUSIVE: queries on the table wait, none fails), the last logged keys applied,
-- the tenant's rows deleted from the default (as many as the copy holds, or
-- everything rolls back), the default's leaf fenced, the partition
-- attached (no scan: both sides are proven by CHECK constraints) and
-- guarded by the event trigger. Readers see the rows in the default before
-- the commit and in the partition after it.
CREATE FUNCTION @extschema@._move_switch(tenant uuid, root regclass) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    m @extschema@.moves := @extschema@._move_of(tenant, root);
    part regclass := @extschema@._move_partition(m);
    tag text := @extschema@._tenant_tag(tenant);
    deleted bigint;
    copied bigint;
BEGIN
    -- The root first: a statement that reached it before the ATTACH commits
    -- would route and read with the partitions it saw then (an INSERT of the
    -- tenant sent to the default fails its partition check, a read misses
    -- the moved rows); waiting for the root, it plans with the new partition.
    EXECUTE format('LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE', root);
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', m.default_partition);
    LOOP
        EXIT WHEN @extschema@._move_resync(tenant, root, 100000) = 0;
    END LOOP;
    PERFORM set_config('session_replication_role', 'replica', true);
    EXECUTE format('DELETE FROM %s WHERE %I = %L::uuid', m.leaf, m.tenant_column, tenant);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    EXECUTE format('SELECT count(*) FROM %s', part) INTO copied;
    IF copied <> deleted THEN
        RAISE EXCEPTION USING ERRCODE = 'XX000',
            MESSAGE = format('isolate(): the copy of tenant %s in %s holds %s rows, the default partition had %s',
                             tenant, root, copied, deleted),
            DETAIL = 'Nothing was changed. Please report this as a bug.';
    END IF;
    PERFORM @extschema@._move_drop_triggers(m);
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I <> %L::uuid) NOT VALID',
                   m.leaf, 'tenancy_not_' || tag, m.tenant_column, tenant);
    EXECUTE format('ALTER TABLE %s VALIDATE CONSTRAINT %I', m.leaf, 'tenancy_not_' || tag);
    DELETE FROM @extschema@.moves x WHERE x.tenant = $1 AND x.root = $2;
    DELETE FROM @extschema@.move_log g WHERE g.tenant = $1 AND g.root = $2::oid;
    -- Event triggers fire in origin mode only: the one that guards the new
    -- partition must see the ATTACH.
    PERFORM set_config('session_replication_role', 'origin', true);
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES IN (%L::uuid)', root, part, tenant);
    -- The fences were needed by ATTACH only: the default's partition
    -- constraint now excludes the tenant.
    PERFORM @extschema@._move_drop_fences(m);
    INSERT INTO @extschema@.isolated (tenant, root, partition_name) VALUES (tenant, root, part);
    RETURN copied;
END
$$;

-- unisolate(), one transaction: the table locked (ACCESS EXCLUSIVE), the
-- foreign keys that reference it dropped, the partition detached, its rows
-- inserted back through the root, the partition dropped, the foreign keys
-- added back: validated at once when the referencing table is partitioned,
-- else NOT VALID and validated by the procedure afterwards, online.
-- Returns the rows moved and the keys to validate.
CREATE FUNCTION @extschema@._unmove_switch(tenant uuid, root regclass) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    part regclass;
    cols text := @extschema@._stored_columns(root);
    f record;
    fks jsonb := '[]';
    n bigint;
BEGIN
    SELECT i.partition_name INTO part FROM @extschema@.isolated i WHERE i.tenant = $1 AND i.root = $2;
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', root);
    PERFORM set_config('session_replication_role', 'replica', true);
    -- DETACH refuses while rows of other tables reference the partition's
    -- rows; the keys are dropped for the move and come back at once.
    FOR f IN SELECT c.conrelid::regclass AS rel, c.conname, pg_get_constraintdef(c.oid) AS def,
                    -- PostgreSQL 15 has no NOT VALID foreign key on a
                    -- partitioned table: those are added back validated.
                    c.convalidated AND k.relkind <> 'p' AS later
             FROM pg_constraint c JOIN pg_class k ON k.oid = c.conrelid
             WHERE c.contype = 'f' AND c.confrelid = root AND c.conparentid = 0
             ORDER BY c.conrelid, c.conname
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', f.rel, f.conname);
        fks := fks || jsonb_build_object('rel', f.rel::text, 'name', f.conname, 'def', f.def, 'later', f.later);
    END LOOP;
    EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', root, part);
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s', root, cols, cols, part);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('session_replication_role', 'origin', true);  -- the event triggers see the DROP
    EXECUTE format('DROP TABLE %s', part);
    FOR f IN SELECT * FROM jsonb_to_recordset(fks) AS x(rel text, name name, def text, later boolean) LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s%s', f.rel, f.name, f.def,
                       CASE WHEN f.later THEN ' NOT VALID' ELSE '' END);
    END LOOP;
    DELETE FROM @extschema@.isolated i WHERE i.tenant = $1 AND i.root = $2;
    RETURN jsonb_build_object('rows', n,
                              'validate', (SELECT coalesce(jsonb_agg(x), '[]') FROM jsonb_array_elements(fks) x
                                           WHERE (x ->> 'later')::boolean));
END
$$;

CREATE FUNCTION @extschema@._validate_constraint(rel regclass, name name) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s VALIDATE CONSTRAINT %I', rel, name);
    RETURN to_jsonb(name);
END
$$;

-- Runs one step in a transaction of its own, with lock_timeout for its
-- locks; a step that times out (or is chosen as a deadlock victim) is
-- rolled back, waits a little and runs again, attempts times at most
-- (KB417). It commits what came before it.
CREATE PROCEDURE @extschema@._step(sql text, lock_wait interval, attempts integer, INOUT result jsonb DEFAULT NULL)
    LANGUAGE plpgsql
    AS $$
DECLARE
    tries integer := 0;
    done boolean;
BEGIN
    COMMIT;
    LOOP
        tries := tries + 1;
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout',
                                          (pg_catalog.date_part('epoch', lock_wait) * 1000)::bigint::text, true);
            EXECUTE sql INTO result;
            done := true;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            IF tries >= attempts THEN
                RAISE EXCEPTION USING ERRCODE = 'KB417',
                    MESSAGE = pg_catalog.format('could not take the locks of a move step in %s attempts', attempts),
                    DETAIL = pg_catalog.format('Each attempt waited up to %s: %s', lock_wait, SQLERRM),
                    HINT = 'Long transactions on the table hold its locks; retry later or with a larger lock_timeout.';
            END IF;
            done := false;
        END;
        COMMIT;
        EXIT WHEN done;
        PERFORM pg_catalog.pg_sleep(LEAST(0.02 * tries, 0.5));
    END LOOP;
END
$$;
REVOKE ALL ON PROCEDURE @extschema@._step(text, interval, integer, jsonb) FROM PUBLIC;

-- Moves the tenant to a partition of its own in every protected table laid
-- out for it (others are reported and left as they are); its reads and
-- writes, and everyone else's, go on during the copy. Superusers only.
CREATE PROCEDURE @extschema@.isolate(tenant uuid, lock_timeout interval DEFAULT '100ms', attempts integer DEFAULT 600)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_variable
DECLARE
    t record;
    r jsonb;
    copied bigint;
    moved integer := 0;
    eligible integer;
    t0 timestamptz;
    t1 timestamptz;
    t2 timestamptz;
    t3 timestamptz;
BEGIN
    PERFORM @extschema@._require_superuser('isolate');
    IF tenant IS NULL OR lock_timeout IS NULL OR attempts IS NULL OR attempts < 1 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'isolate(): tenant, lock_timeout and attempts (>= 1) are required';
    END IF;
    SELECT count(*) FILTER (WHERE x.skip_reason IS NULL OR x.skip_reason = 'already isolated')
      INTO eligible FROM @extschema@._isolation_targets(tenant) x;
    IF eligible = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'KB415',
            MESSAGE = 'isolate(): no protected table is partitioned for isolation',
            DETAIL = (SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s', x.root, x.skip_reason), '; ')
                      FROM @extschema@._isolation_targets(tenant) x),
            HINT = 'Partition the table BY LIST (tenant column) with a DEFAULT partition (a plain table or '
                   'PARTITION BY HASH (tenant column)) and a primary key; see docs/tenancy.md.';
    END IF;
    -- Last of the checks: inside try() blocks (subtransactions) the ones
    -- above are reported as they are.
    PERFORM @extschema@._outside_transaction_block('tenancy.isolate()');
    IF NOT pg_catalog.pg_try_advisory_lock(@extschema@._move_key(tenant)) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB418',
            MESSAGE = pg_catalog.format('tenant %s is being moved by another session', tenant);
    END IF;
    FOR t IN SELECT * FROM @extschema@._isolation_targets(tenant) LOOP
        IF t.skip_reason IS NOT NULL THEN
            RAISE NOTICE 'isolate(): % skipped: %', t.root, t.skip_reason;
            CONTINUE;
        END IF;
        t0 := pg_catalog.clock_timestamp();
        CALL @extschema@._step(pg_catalog.format('SELECT pg_catalog.to_jsonb(@extschema@._move_prepare(%L, %L, %L, %L, %L)::text)',
                                                 tenant, t.root, t.tenant_column, t.default_partition, t.leaf),
                               lock_timeout, attempts, r);
        CALL @extschema@._step(pg_catalog.format('SELECT pg_catalog.to_jsonb(@extschema@._move_copy(%L, %L))', tenant, t.root),
                               lock_timeout, attempts, r);
        copied := r::text::bigint;
        t1 := pg_catalog.clock_timestamp();
        -- Catch up while writes go on; what remains is applied by the switch.
        FOR i IN 1..20 LOOP
            CALL @extschema@._step(pg_catalog.format('SELECT pg_catalog.to_jsonb(@extschema@._move_resync(%L, %L, 50000))',
                                                     tenant, t.root), lock_timeout, attempts, r);
            EXIT WHEN r::text::bigint < 1000;
        END LOOP;
        CALL @extschema@._step(pg_catalog.format('SELECT pg_catalog.to_jsonb(@extschema@._move_fence(%L, %L, false))', tenant, t.root),
                               lock_timeout, attempts, r);
        CALL @extschema@._step(pg_catalog.format('SELECT pg_catalog.to_jsonb(@extschema@._move_fence(%L, %L, true))', tenant, t.root),
                               lock_timeout, attempts, r);
        t2 := pg_catalog.clock_timestamp();
        CALL @extschema@._step(pg_catalog.format('SELECT pg_catalog.to_jsonb(@extschema@._move_switch(%L, %L))', tenant, t.root),
                               lock_timeout, attempts, r);
        t3 := pg_catalog.clock_timestamp();
        -- The time each part took (the switch includes its lock waits and retries).
        RAISE DEBUG 'isolate(): % of tenant %: prepare and copy % ms, catch-up and fences % ms, switch % ms',
            t.root, tenant, round(pg_catalog.date_part('epoch', t1 - t0) * 1000),
            round(pg_catalog.date_part('epoch', t2 - t1) * 1000), round(pg_catalog.date_part('epoch', t3 - t2) * 1000);
        RAISE NOTICE 'isolate(): % rows of tenant % now in a partition of their own of %', r, tenant, t.root;
        moved := moved + 1;
    END LOOP;
    -- Every hold of this session (one left by an earlier call that failed
    -- is released too; until then other sessions get KB418).
    PERFORM pg_catalog.set_config('client_min_messages', 'error', true);
    WHILE pg_catalog.pg_advisory_unlock(@extschema@._move_key(tenant)) LOOP
    END LOOP;
END
$$;
REVOKE ALL ON PROCEDURE @extschema@.isolate(uuid, interval, integer) FROM PUBLIC;

-- Moves an isolated tenant back into the default partitions. Not online
-- like isolate(): each table is locked while the tenant's rows are copied
-- back (docs/tenancy.md). Superusers only. KB416 when not isolated.
CREATE PROCEDURE @extschema@.unisolate(tenant uuid, lock_timeout interval DEFAULT '100ms', attempts integer DEFAULT 600)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_variable
DECLARE
    t record;
    r jsonb;
    v record;
BEGIN
    PERFORM @extschema@._require_superuser('unisolate');
    IF tenant IS NULL OR lock_timeout IS NULL OR attempts IS NULL OR attempts < 1 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'unisolate(): tenant, lock_timeout and attempts (>= 1) are required';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.isolated i WHERE i.tenant = unisolate.tenant) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB416', MESSAGE = pg_catalog.format('tenant %s is not isolated', tenant);
    END IF;
    -- Last of the checks: inside try() blocks (subtransactions) the ones
    -- above are reported as they are.
    PERFORM @extschema@._outside_transaction_block('tenancy.unisolate()');
    IF NOT pg_catalog.pg_try_advisory_lock(@extschema@._move_key(tenant)) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB418',
            MESSAGE = pg_catalog.format('tenant %s is being moved by another session', tenant);
    END IF;
    FOR t IN SELECT i.root FROM @extschema@.isolated i WHERE i.tenant = unisolate.tenant ORDER BY i.root::text LOOP
        CALL @extschema@._step(pg_catalog.format('SELECT @extschema@._unmove_switch(%L, %L)', tenant, t.root),
                               lock_timeout, attempts, r);
        FOR v IN SELECT * FROM pg_catalog.jsonb_to_recordset(r -> 'validate') AS x(rel text, name name) LOOP
            CALL @extschema@._step(pg_catalog.format('SELECT @extschema@._validate_constraint(%L, %L)', v.rel, v.name),
                                   lock_timeout, attempts, r);
        END LOOP;
        RAISE NOTICE 'unisolate(): rows of tenant % back in the default partition of %', tenant, t.root;
    END LOOP;
    -- Every hold of this session (one left by an earlier call that failed
    -- is released too; until then other sessions get KB418).
    PERFORM pg_catalog.set_config('client_min_messages', 'error', true);
    WHILE pg_catalog.pg_advisory_unlock(@extschema@._move_key(tenant)) LOOP
    END LOOP;
END
$$;
REVOKE ALL ON PROCEDURE @extschema@.unisolate(uuid, interval, integer) FROM PUBLIC;

-- The database a tenant's connections should use behind pgbouncer: its own
-- pool when it is isolated, the shared pool otherwise. SECURITY DEFINER: a
-- role granted it learns that much of tenancy.isolated, nothing more.
CREATE FUNCTION @extschema@.pool_for(tenant uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE WHEN EXISTS (SELECT FROM @extschema@.isolated i WHERE i.tenant = $1)
                THEN current_database() || '_t_' || @extschema@._tenant_tag($1)
                ELSE current_database() END
$$;
REVOKE ALL ON FUNCTION @extschema@.pool_for(uuid) FROM PUBLIC;

-- pgbouncer's [databases] section: the shared pool under the database's own
-- name, and one pool per isolated tenant (pool_for() names it).
CREATE FUNCTION @extschema@.pgbouncer_config(host text DEFAULT NULL, port integer DEFAULT NULL,
                                             shared_pool_size integer DEFAULT 20,
                                             isolated_pool_size integer DEFAULT 5) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_variable
DECLARE
    h text := coalesce(host, host(inet_server_addr()),
                       split_part(current_setting('unix_socket_directories'), ',', 1));
    p integer := coalesce(port, current_setting('port')::integer);
    db text := current_database();
    target text;
    out text;
BEGIN
    IF shared_pool_size IS NULL OR shared_pool_size < 1 OR isolated_pool_size IS NULL OR isolated_pool_size < 1 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'pgbouncer_config(): pool sizes must be at least 1';
    END IF;
    IF db !~ '^[A-Za-z0-9_]+$' THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('pgbouncer_config(): database name %s needs quoting that pgbouncer does not read', db);
    END IF;
    target := format('host=%s port=%s dbname=%s', trim(h), p, db);
    out := E'[databases]\n'
        || '; the shared pool: every tenant that is not isolated' || E'\n'
        || format('%s = %s pool_size=%s', db, target, shared_pool_size) || E'\n';
    SELECT out || coalesce(string_agg(format('; tenant %s', i.tenant) || E'\n'
                                      || format('%s_t_%s = %s pool_size=%s', db, @extschema@._tenant_tag(i.tenant),
                                                target, isolated_pool_size) || E'\n', '' ORDER BY i.tenant), '')
      INTO out
      FROM (SELECT DISTINCT x.tenant FROM @extschema@.isolated x) i;
    RETURN out;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.pgbouncer_config(text, integer, integer, integer) FROM PUBLIC;
-- The move's internals: superusers only (isolate() and unisolate() call them).
REVOKE ALL ON FUNCTION @extschema@._require_superuser(text), @extschema@._outside_transaction_block(text), @extschema@._tenant_tag(uuid), @extschema@._move_key(uuid),
    @extschema@._isolation_targets(uuid), @extschema@._move_capture(), @extschema@._move_refuse_truncate(),
    @extschema@._stored_columns(regclass, text), @extschema@._key_columns(regclass),
    @extschema@._key_match(regclass, text, text), @extschema@._move_of(uuid, regclass),
    @extschema@._move_partition(@extschema@.moves), @extschema@._move_abandon(uuid, regclass),
    @extschema@._move_drop_triggers(@extschema@.moves), @extschema@._move_drop_fences(@extschema@.moves),
    @extschema@._move_prepare(uuid, regclass, name, regclass, regclass), @extschema@._move_copy(uuid, regclass),
    @extschema@._move_resync(uuid, regclass, integer), @extschema@._move_fence(uuid, regclass, boolean),
    @extschema@._move_switch(uuid, regclass), @extschema@._unmove_switch(uuid, regclass),
    @extschema@._validate_constraint(regclass, name) FROM PUBLIC;

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
        IF EXISTS (SELECT FROM @extschema@.moves m JOIN pg_class k ON k.relnamespace = m.partition_schema
                   AND k.relname = m.partition_name WHERE k.oid = r.relid) THEN
            CONTINUE;  -- a partition isolate() is filling: guarded when it is attached
        END IF;
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
