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

CREATE FUNCTION @extschema@._keys_changed() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'tenancy_keys_changed';
CREATE TRIGGER keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.token_keys
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();

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

CREATE FUNCTION @extschema@._limits_changed() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'tenancy_limits_changed';
CREATE TRIGGER limits_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.plan_limits
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._limits_changed();
CREATE TRIGGER limits_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.tenant_limits
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._limits_changed();

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

-- The protected relations a tenant's rows are read and deleted through:
-- every registered relation that is not a partition or child of another
-- registered relation (a detached partition counts on its own), with its
-- place in foreign-key order: 0 for a table no other one of them
-- references, else one more than the highest table referencing it.
-- Children come first when deleting. A reference cycle is KB412.
CREATE FUNCTION @extschema@._tops_in_delete_order()
    RETURNS TABLE (rel regclass, tenant_column name, level integer)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_column
DECLARE
    n integer;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS pg_temp.tenancy_tops (rel oid PRIMARY KEY, tenant_column name, level integer)
        ON COMMIT DROP;
    TRUNCATE pg_temp.tenancy_tops;
    INSERT INTO pg_temp.tenancy_tops
    SELECT p.relid, p.tenant_column, NULL
    FROM @extschema@.protected_tables p
    WHERE NOT EXISTS (SELECT FROM pg_inherits i JOIN @extschema@.protected_tables q ON q.relid = i.inhparent
                      WHERE i.inhrelid = p.relid);
    -- Levels, bottom up: a table gets one when every table referencing it has one.
    FOR i IN 0 .. 1000 LOOP
        UPDATE pg_temp.tenancy_tops t SET level = i
        WHERE t.level IS NULL
          AND NOT EXISTS (SELECT FROM pg_constraint c JOIN pg_temp.tenancy_tops r ON r.rel = c.conrelid
                          WHERE c.contype = 'f' AND c.confrelid = t.rel AND c.conrelid <> t.rel
                            AND c.conparentid = 0 AND (r.level IS NULL OR r.level = i));
        GET DIAGNOSTICS n = ROW_COUNT;
        EXIT WHEN NOT EXISTS (SELECT FROM pg_temp.tenancy_tops x WHERE x.level IS NULL);
        IF n = 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'KB412',
                MESSAGE = 'the foreign keys between protected tables form a cycle',
                DETAIL = (SELECT 'Tables in the cycle or behind it: ' || string_agg(rel::regclass::text, ', ' ORDER BY rel::regclass::text)
                          FROM pg_temp.tenancy_tops x WHERE x.level IS NULL),
                HINT = 'Delete the rows in an order of your own, or make one of the keys DEFERRABLE and delete in one transaction.';
        END IF;
    END LOOP;
    RETURN QUERY SELECT t.rel::regclass, t.tenant_column, t.level FROM pg_temp.tenancy_tops t
                 ORDER BY t.level, t.rel::regclass::text;
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
