-- georoute 0.2.0: region registry, region-carrying ids, routing by id and
-- by place (casebook case study 6). docs/georoute.md.
\echo Use "CREATE EXTENSION georoute" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Registry: the same rows in every region's cluster
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.regions (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,15}$'),
    -- In the ids (ids.hpp): 1..127, the same in every cluster.
    number smallint NOT NULL UNIQUE CHECK (number BETWEEN 1 AND 127),
    -- The postgres_fdw server that reaches the region's cluster (NULL: the
    -- region is not reachable from here yet).
    server name,
    -- Rows of one jurisdiction never leave it (e.g. 'EU', 'US').
    jurisdiction text NOT NULL CHECK (jurisdiction ~ '^[A-Za-z][A-Za-z0-9_-]{0,31}$'),
    -- Where the region serves (region_of()); border zones may overlap.
    area geography,
    added_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX regions_area_idx ON @extschema@.regions USING gist (area);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.regions', '');
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT SELECT ON @extschema@.regions TO PUBLIC;

-- Ids this cluster mints: 2^49 - 1 of them (ids.hpp).
CREATE SEQUENCE @extschema@.id_sequence AS bigint MINVALUE 0 START 0 MAXVALUE 562949953421311 NO CYCLE;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.id_sequence', '');

CREATE FUNCTION @extschema@._registry_changed() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'georoute_registry_changed';
CREATE TRIGGER registry_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.regions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._registry_changed();

-- Registers a region: its code, the postgres_fdw server of its cluster,
-- its jurisdiction, and where it serves. The number (in the ids) is the
-- next free one unless given: give the same numbers in every cluster.
CREATE FUNCTION @extschema@.add_region(code text, server name, jurisdiction text, area geography DEFAULT NULL,
                                       number integer DEFAULT NULL) RETURNS smallint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_variable
DECLARE
    n integer := number;
BEGIN
    IF code IS NULL OR jurisdiction IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'add_region(): code and jurisdiction are required';
    END IF;
    IF code !~ '^[a-z][a-z0-9_]{0,15}$' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%L is not a region code', code),
            DETAIL = 'A lower-case letter, then up to 15 lower-case letters, digits or underscores.';
    END IF;
    IF jurisdiction !~ '^[A-Za-z][A-Za-z0-9_-]{0,31}$' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%L is not a jurisdiction', jurisdiction),
            DETAIL = 'A letter, then up to 31 letters, digits, - or _ (e.g. EU, US, APAC).';
    END IF;
    IF server IS NOT NULL AND NOT EXISTS (
           SELECT FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
            WHERE s.srvname = server AND w.fdwname = 'postgres_fdw') THEN
        RAISE EXCEPTION USING ERRCODE = 'KB605', MESSAGE = format('no postgres_fdw server %I', server),
            HINT = 'CREATE SERVER ... FOREIGN DATA WRAPPER postgres_fdw first (docs/georoute.md: credentials).';
    END IF;
    IF area IS NOT NULL AND (SELECT GeometryType(area::geometry)) NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'add_region(): area must be a polygon or multipolygon';
    END IF;
    LOCK TABLE @extschema@.regions IN SHARE ROW EXCLUSIVE MODE;   -- one add at a time: numbers
    IF EXISTS (SELECT FROM @extschema@.regions r WHERE r.code = code) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB604', MESSAGE = format('region %L exists', code);
    END IF;
    IF n IS NULL THEN
        SELECT coalesce(max(r.number), 0) + 1 INTO n FROM @extschema@.regions r;
    END IF;
    IF n NOT BETWEEN 1 AND 127 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('region number %s is out of range', n),
            DETAIL = 'Region numbers are 1 to 127 (they are 7 bits of every id).';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.regions r WHERE r.number = n) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB604', MESSAGE = format('region number %s is taken', n);
    END IF;
    INSERT INTO @extschema@.regions (code, number, server, jurisdiction, area) VALUES (code, n, server, jurisdiction, area);
    PERFORM @extschema@._assert_credentials();
    RETURN n;
END
$$;

-- ---------------------------------------------------------------------------
-- Ids and routing
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@._preloaded() RETURNS boolean
    LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'georoute_preloaded';
-- BEFORE UPDATE OF <region column> FOR EACH ROW of every distributed table
-- (distribute() makes it): a new region of another jurisdiction is refused
-- (KB612).
CREATE FUNCTION @extschema@._region_change() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'georoute_region_change';
CREATE FUNCTION @extschema@._local_region() RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'georoute_local_region';
CREATE FUNCTION @extschema@.next_id(region text) RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'georoute_next_id';
COMMENT ON FUNCTION @extschema@.next_id(text) IS
    'a new 64-bit id whose home is region, minted by this cluster (georoute.local_region)';
CREATE FUNCTION @extschema@.region_of_id(id bigint) RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'georoute_region_of_id';
COMMENT ON FUNCTION @extschema@.region_of_id(bigint) IS 'the home region of a georoute id, without a lookup';

-- The connection target of a region for applications: host, port and
-- dbname of its server (never a user name or password: those are in user
-- mappings, and a password is never stored there by georoute).
CREATE FUNCTION @extschema@._target(region text) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    opts text[];
BEGIN
    SELECT s.srvoptions INTO opts
      FROM @extschema@.regions r JOIN pg_foreign_server s ON s.srvname = r.server
     WHERE r.code = region;
    RETURN (SELECT string_agg(o, ' ' ORDER BY o) FROM unnest(opts) o
             WHERE split_part(o, '=', 1) IN ('host', 'hostaddr', 'port', 'dbname'));
END
$$;

-- route(id) and route(region): the region and its connection target
-- (route(id) from the backend's cached registry: it is on the hot path).
CREATE FUNCTION @extschema@.route(id bigint, OUT region text, OUT target text)
    LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'georoute_route_id';
CREATE FUNCTION @extschema@.route(code text, OUT region text, OUT target text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_variable
BEGIN
    IF code IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'route(): region must not be NULL';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.regions r WHERE r.code = code) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB601', MESSAGE = format('no region %L', code);
    END IF;
    region := code;
    target := @extschema@._target(code);
END
$$;

-- The regions whose area covers a place: one, or two and more in a border
-- zone (areas may overlap on purpose), or none.
CREATE FUNCTION @extschema@.region_of(place geography) RETURNS SETOF text
    LANGUAGE sql STABLE STRICT
    AS $$ SELECT r.code FROM @extschema@.regions r WHERE ST_Covers(r.area, place) ORDER BY r.number $$;

-- ---------------------------------------------------------------------------
-- distribute(): one table, its rows in their home regions' clusters
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.distributed (
    tbl regclass PRIMARY KEY,
    region_column name NOT NULL,
    distributed_at timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.distributed', '');
-- Every role reads it; a table's owner adds it (through distribute()).
ALTER TABLE @extschema@.distributed ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone_reads ON @extschema@.distributed FOR SELECT USING (true);
CREATE POLICY owners_add ON @extschema@.distributed FOR INSERT
    WITH CHECK (pg_catalog.pg_has_role(current_user,
                    (SELECT k.relowner FROM pg_catalog.pg_class k WHERE k.oid OPERATOR(pg_catalog.=) tbl), 'USAGE'));
GRANT SELECT, INSERT ON @extschema@.distributed TO PUBLIC;

-- Takes a table PARTITION BY LIST (region_column) and gives it a partition
-- per registered region: a local table for this cluster's region, a
-- postgres_fdw foreign table for every other region that has a server
-- (the remote table is that cluster's local partition, of the same name:
-- run distribute() in every cluster). Rows written through the table go
-- to their region's cluster; a query with a region predicate reads only
-- that region's partition. PostgreSQL refuses foreign partitions under a
-- unique index of the parent, so the parent's primary key and unique
-- constraints move to each local partition: they contain the region
-- column, so each region's cluster enforces them for all its rows.
CREATE FUNCTION @extschema@.distribute(tbl regclass, region_column name DEFAULT 'region')
    RETURNS TABLE (region text, partition regclass, kind text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_variable
DECLARE
    local text := @extschema@._local_region();
    pt record;
    r record;
    c record;
    nsp name;
    rel name;
    part name;
    found_part regclass;
    moved jsonb := '[]';
    col_type regtype;
BEGIN
    IF tbl IS NULL OR region_column IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'distribute(): table and region_column are required';
    END IF;
    IF NOT pg_has_role(current_user, (SELECT k.relowner FROM pg_class k WHERE k.oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format('must be owner of table %s', tbl);
    END IF;
    SELECT a.atttypid::regtype INTO col_type FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attname = region_column AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT * INTO pt FROM pg_partitioned_table p WHERE p.partrelid = tbl;
    IF NOT FOUND OR pt.partstrat <> 'l' OR pt.partnatts <> 1 OR col_type IS NULL
       OR pt.partattrs[0] <> (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = region_column) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB606', MESSAGE = format('%s is not PARTITION BY LIST (%I)', tbl, region_column),
            HINT = 'Create it PARTITION BY LIST on its region column (text), without partitions for the regions.';
    END IF;
    IF col_type NOT IN ('text'::regtype, 'character varying'::regtype) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB606', MESSAGE = format('column %I of %s is %s, not text', region_column, tbl, col_type);
    END IF;
    IF EXISTS (SELECT FROM pg_constraint k WHERE k.confrelid = tbl AND k.contype = 'f') THEN
        RAISE EXCEPTION USING ERRCODE = 'KB607', MESSAGE = format('%s is referenced by a foreign key', tbl),
            DETAIL = 'Its rows will live in several clusters: no cluster can check a foreign key to all of them.',
            HINT = 'Drop the foreign key (check it in the application, or key on a region-local table).';
    END IF;
    IF local IS NULL OR NOT EXISTS (SELECT FROM @extschema@.regions x WHERE x.code = local) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB603', MESSAGE = 'georoute.local_region is not set, or not a registered region',
            HINT = 'Set georoute.local_region in postgresql.conf and register the region with add_region().';
    END IF;
    IF NOT @extschema@._preloaded() THEN
        RAISE EXCEPTION USING ERRCODE = 'KB613', MESSAGE = 'georoute is not in shared_preload_libraries',
            DETAIL = 'The residency guard and georoute.enforce_home_region are hooks: loaded on demand, they would be missing from sessions that have not called a georoute function yet.',
            HINT = 'Add georoute to shared_preload_libraries and restart, then distribute the table.';
    END IF;
    SELECT n.nspname, k.relname INTO nsp, rel FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = tbl;
    -- A row's region changes only within its jurisdiction (native trigger,
    -- ENABLE ALWAYS: it fires for replication and replica sessions too).
    IF NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = tbl AND t.tgname = 'georoute_region_change') THEN
        EXECUTE format('CREATE TRIGGER georoute_region_change BEFORE UPDATE OF %I ON %s FOR EACH ROW '
                       'EXECUTE FUNCTION @extschema@._region_change(%L)', region_column, tbl, region_column);
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER georoute_region_change', tbl);
    END IF;
    INSERT INTO @extschema@.distributed AS d (tbl, region_column) VALUES (tbl, region_column)
    ON CONFLICT ON CONSTRAINT distributed_pkey DO NOTHING;

    -- The parent's unique constraints move to the local partitions.
    FOR c IN SELECT k.conname, pg_get_constraintdef(k.oid) AS def FROM pg_constraint k
              WHERE k.conrelid = tbl AND k.contype IN ('p', 'u') ORDER BY k.contype, k.conname LOOP
        moved := moved || jsonb_build_object('name', c.conname, 'def', c.def);
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, c.conname);
    END LOOP;
    IF EXISTS (SELECT FROM pg_index x WHERE x.indrelid = tbl AND x.indisunique) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB606', MESSAGE = format('%s has a unique index that is not a constraint', tbl),
            HINT = 'Make it a UNIQUE constraint (it moves to each local partition) or drop it.';
    END IF;

    FOR r IN SELECT x.code, x.server FROM @extschema@.regions x ORDER BY x.number LOOP
        region := r.code;
        part := left(rel, 62 - length(r.code)) || '_' || r.code;
        SELECT k.oid::regclass INTO found_part FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
         WHERE i.inhparent = tbl AND pg_get_expr(k.relpartbound, k.oid) = format('FOR VALUES IN (%L)', r.code);
        IF found_part IS NOT NULL THEN
            partition := found_part;
            kind := CASE WHEN (SELECT k.relkind FROM pg_class k WHERE k.oid = found_part) = 'f' THEN 'foreign' ELSE 'local' END;
        ELSIF r.code = local THEN
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES IN (%L)', nsp, part, tbl, r.code);
            partition := format('%I.%I', nsp, part)::regclass;
            kind := 'local';
        ELSIF r.server IS NOT NULL THEN
            EXECUTE format('CREATE FOREIGN TABLE %I.%I PARTITION OF %s FOR VALUES IN (%L) SERVER %I '
                           'OPTIONS (schema_name %L, table_name %L)', nsp, part, tbl, r.code, r.server, nsp, part);
            partition := format('%I.%I', nsp, part)::regclass;
            kind := 'foreign';
        ELSE
            -- No server for that region yet: its rows have no partition
            -- here (an insert fails with 23514) until distribute() runs
            -- again after add_region() gave it one.
            partition := NULL;
            kind := 'unreachable';
        END IF;
        IF kind = 'local' THEN
            FOR c IN SELECT e ->> 'name' AS name, e ->> 'def' AS def FROM jsonb_array_elements(moved) e LOOP
                IF NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = partition
                                AND pg_get_constraintdef(k.oid) = c.def) THEN
                    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', partition,
                                   left(c.name, 62 - length(r.code)) || '_' || r.code, c.def);
                END IF;
            END LOOP;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- Reference data: one table, the same rows in every region, read locally
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.reference_tables (
    tbl regclass PRIMARY KEY,
    origin text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reference_tables', '');
GRANT SELECT ON @extschema@.reference_tables TO PUBLIC;

-- The names of a table's publication and of the slot of one subscriber.
CREATE FUNCTION @extschema@._ref_name(tbl regclass) RETURNS name
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT left('georoute_ref_' || c.relname, 63)::name FROM pg_class c WHERE c.oid = tbl $$;
CREATE FUNCTION @extschema@._ref_slot(tbl regclass, subscriber text) RETURNS name
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT left(@extschema@._ref_name(tbl) || '_' || subscriber, 63)::name $$;

-- Publishes a table from its origin region to every other region by
-- logical replication. Run it in every cluster: in the origin's (default:
-- this cluster is the origin) it makes the publication and a replication
-- slot for each other region; in the others, where a table of the same
-- name and columns must exist, a subscription to the origin's server
-- (its host, port and dbname; the user of this role's user mapping; any
-- password from the server's password file, never from a catalog row) and
-- a trigger that refuses writes there (they go to the origin). The slot is
-- made by the origin so that no subscription has to make one inside a
-- transaction. Returns what it did.
CREATE FUNCTION @extschema@.replicate_reference(tbl regclass, origin text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_variable
DECLARE
    local text := @extschema@._local_region();
    src text := coalesce(origin, local);
    r record;
    pub name;
    conninfo text;
    who text;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'replicate_reference(): table is required';
    END IF;
    IF local IS NULL OR NOT EXISTS (SELECT FROM @extschema@.regions x WHERE x.code = local) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB603', MESSAGE = 'georoute.local_region is not set, or not a registered region';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.regions x WHERE x.code = src) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB601', MESSAGE = format('no region %L', src);
    END IF;
    IF EXISTS (SELECT FROM @extschema@.distributed d WHERE d.tbl = tbl)
       OR EXISTS (SELECT FROM pg_inherits i JOIN @extschema@.distributed d ON d.tbl = i.inhparent WHERE i.inhrelid = tbl) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB608', MESSAGE = format('%s is distributed: its rows stay in their regions', tbl);
    END IF;
    pub := @extschema@._ref_name(tbl);
    IF src = local THEN
        IF NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = tbl AND k.contype = 'p') THEN
            RAISE EXCEPTION USING ERRCODE = 'KB609', MESSAGE = format('%s has no primary key', tbl),
                DETAIL = 'Updates and deletes of a replicated table are matched by its primary key.';
        END IF;
        -- Slots first: a transaction that has written cannot make one.
        FOR r IN SELECT x.code FROM @extschema@.regions x WHERE x.code <> local AND x.server IS NOT NULL ORDER BY x.number LOOP
            IF NOT EXISTS (SELECT FROM pg_replication_slots s WHERE s.slot_name = @extschema@._ref_slot(tbl, r.code)) THEN
                PERFORM pg_create_logical_replication_slot(@extschema@._ref_slot(tbl, r.code), 'pgoutput');
            END IF;
        END LOOP;
        IF NOT EXISTS (SELECT FROM pg_publication p WHERE p.pubname = pub) THEN
            EXECUTE format('CREATE PUBLICATION %I FOR TABLE %s', pub, tbl);
        END IF;
        INSERT INTO @extschema@.reference_tables (tbl, origin) VALUES (tbl, src) ON CONFLICT DO NOTHING;
        RETURN format('publication %s from %s', pub, src);
    END IF;
    -- A subscriber: the origin's server gives the connection (_conninfo():
    -- host, port, dbname, a password file, certificates); the user comes
    -- from this role's user mapping. Never a password.
    conninfo := @extschema@._conninfo(src);
    IF conninfo IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'KB605', MESSAGE = format('region %L has no server to subscribe to', src);
    END IF;
    SELECT split_part(o, '=', 2) INTO who
      FROM pg_user_mappings m, unnest(m.umoptions) o
     WHERE m.srvname = (SELECT x.server FROM @extschema@.regions x WHERE x.code = src)
       AND m.usename IN (current_user, 'public') AND split_part(o, '=', 1) = 'user'
     ORDER BY m.usename = 'public' LIMIT 1;
    IF who IS NOT NULL THEN
        conninfo := conninfo || format(' user=''%s''', replace(replace(who, E'\\', E'\\\\'), '''', E'\\'''));
    END IF;
    IF NOT EXISTS (SELECT FROM pg_subscription s WHERE s.subname = pub) THEN
        EXECUTE format('CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION %I WITH (create_slot = false, slot_name = %L)',
                       pub, conninfo, pub, @extschema@._ref_slot(tbl, local));
    END IF;
    IF NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = tbl AND t.tgname = 'georoute_reference_read_only') THEN
        EXECUTE format('CREATE TRIGGER georoute_reference_read_only BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._reference_read_only(%L)', tbl, src);
    END IF;
    INSERT INTO @extschema@.reference_tables (tbl, origin) VALUES (tbl, src) ON CONFLICT DO NOTHING;
    RETURN format('subscription %s to %s', pub, src);
END
$$;

-- Stops replicating a reference table. In a subscriber's cluster: the
-- subscription is dropped (its slot is the origin's) and the copy becomes
-- an ordinary, writable table. In the origin's, after every subscriber:
-- the publication and the slots are dropped (a region that still
-- subscribes holds its slot: 55006, nothing dropped). Returns what it did.
CREATE FUNCTION @extschema@.unreplicate_reference(tbl regclass) RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_variable
DECLARE
    ref record;
    pub name;
    r record;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'unreplicate_reference(): table is required';
    END IF;
    SELECT * INTO ref FROM @extschema@.reference_tables x WHERE x.tbl = tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s is not replicated reference data here', tbl);
    END IF;
    pub := @extschema@._ref_name(tbl);
    IF ref.origin IS DISTINCT FROM @extschema@._local_region() THEN
        IF EXISTS (SELECT FROM pg_subscription s WHERE s.subname = pub) THEN
            EXECUTE format('ALTER SUBSCRIPTION %I DISABLE', pub);
            EXECUTE format('ALTER SUBSCRIPTION %I SET (slot_name = NONE)', pub);
            EXECUTE format('DROP SUBSCRIPTION %I', pub);
        END IF;
        EXECUTE format('DROP TRIGGER IF EXISTS georoute_reference_read_only ON %s', tbl);
        DELETE FROM @extschema@.reference_tables x WHERE x.tbl = tbl;
        RETURN format('subscription %s to %s dropped; %s is an ordinary table here', pub, ref.origin, tbl);
    END IF;
    FOR r IN SELECT s.slot_name, s.active FROM pg_replication_slots s
              WHERE s.slot_name IN (SELECT @extschema@._ref_slot(tbl, x.code) FROM @extschema@.regions x) ORDER BY 1 LOOP
        IF r.active THEN
            RAISE EXCEPTION USING ERRCODE = '55006', MESSAGE = format('replication slot %s is still in use', r.slot_name),
                HINT = 'Run unreplicate_reference() in every subscribing region first.';
        END IF;
        PERFORM pg_drop_replication_slot(r.slot_name);
    END LOOP;
    EXECUTE format('DROP PUBLICATION IF EXISTS %I', pub);
    DELETE FROM @extschema@.reference_tables x WHERE x.tbl = tbl;
    RETURN format('publication %s and its slots dropped', pub);
END
$$;

-- On a subscriber's copy: writes go to the origin (the apply worker of the
-- subscription runs with session_replication_role = replica, which this
-- ordinary trigger does not fire under).
CREATE FUNCTION @extschema@._reference_read_only() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'KB610',
        MESSAGE = format('%s is reference data replicated from region %s: write it there', TG_TABLE_NAME, TG_ARGV[0]);
END
$$;

-- ---------------------------------------------------------------------------
-- Residency guard: no partition of a distributed table may store a
-- region's rows outside that region's jurisdiction
-- ---------------------------------------------------------------------------
-- Every partition of a distributed table that breaks residency, and why:
-- a DEFAULT partition (it would store rows of any region here); a value
-- that is not a registered region; a local partition for a region of
-- another jurisdiction than this cluster's; a foreign partition whose
-- server is not the server of a region of the rows' jurisdiction.
CREATE FUNCTION @extschema@.residency_violations()
    RETURNS TABLE (tbl regclass, partition regclass, region text, problem text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    local_jurisdiction text := (SELECT r.jurisdiction FROM @extschema@.regions r
                                 WHERE r.code = @extschema@._local_region());
    p record;
    v text;
    j text;
    server_jurisdictions text[];
BEGIN
    FOR p IN SELECT d.tbl AS parent, k.oid::regclass AS part, k.relkind,
                    pg_get_expr(k.relpartbound, k.oid) AS bound,
                    (SELECT s.srvname FROM pg_foreign_table f JOIN pg_foreign_server s ON s.oid = f.ftserver
                      WHERE f.ftrelid = k.oid) AS server
               FROM @extschema@.distributed d
               JOIN pg_inherits i ON i.inhparent = d.tbl
               JOIN pg_class k ON k.oid = i.inhrelid
              ORDER BY 1, 2
    LOOP
        tbl := p.parent;
        partition := p.part;
        IF p.bound = 'DEFAULT' THEN
            region := NULL;
            problem := 'a DEFAULT partition would store rows of any region in this cluster';
            RETURN NEXT;
            CONTINUE;
        END IF;
        FOR v IN SELECT m[1] FROM regexp_matches(p.bound, '''((?:[^'']|'''')*)''', 'g') m LOOP
            region := replace(v, '''''', '''');
            SELECT r.jurisdiction INTO j FROM @extschema@.regions r WHERE r.code = region;
            IF NOT FOUND THEN
                problem := 'not a registered region';
                RETURN NEXT;
            ELSIF p.relkind = 'f' THEN
                server_jurisdictions := ARRAY(SELECT DISTINCT r.jurisdiction FROM @extschema@.regions r WHERE r.server = p.server);
                IF server_jurisdictions IS DISTINCT FROM ARRAY[j] THEN
                    problem := format('rows of jurisdiction %s would be stored through server %I, of %s', j, p.server,
                                      coalesce(nullif(array_to_string(server_jurisdictions, ', '), ''), 'no registered region'));
                    RETURN NEXT;
                END IF;
            ELSIF local_jurisdiction IS DISTINCT FROM j THEN
                problem := format('rows of jurisdiction %s would be stored in this cluster, of %s', j,
                                  coalesce(local_jurisdiction, 'no registered region (georoute.local_region)'));
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;
    -- The region-change trigger of every distributed table, enabled always.
    FOR p IN SELECT d.tbl, d.region_column FROM @extschema@.distributed d
              WHERE NOT EXISTS (SELECT FROM pg_trigger t
                                 WHERE t.tgrelid = d.tbl AND t.tgname = 'georoute_region_change'
                                   AND t.tgenabled = 'A' AND t.tgfoid = '@extschema@._region_change()'::regprocedure)
    LOOP
        tbl := p.tbl; partition := NULL; region := NULL;
        problem := 'its trigger georoute_region_change (a row''s region changes only within its jurisdiction) is missing or not ENABLE ALWAYS';
        RETURN NEXT;
    END LOOP;
    -- Publications: a distributed table's rows leave this cluster only with
    -- the row filter (region_column = '<this region>'): a FOR ALL TABLES or
    -- FOR TABLES IN SCHEMA publication cannot have one.
    FOR p IN SELECT d.tbl, d.region_column, k.oid::regclass AS rel, pub.pubname, pub.puballtables,
                    (SELECT pr.prqual IS NOT NULL FROM pg_publication_rel pr
                      WHERE pr.prpubid = pub.oid AND pr.prrelid = k.oid) AS has_filter,
                    (SELECT pg_get_expr(pr.prqual, pr.prrelid) FROM pg_publication_rel pr
                      WHERE pr.prpubid = pub.oid AND pr.prrelid = k.oid) AS filter,
                    EXISTS (SELECT FROM pg_publication_rel pr WHERE pr.prpubid = pub.oid AND pr.prrelid = k.oid) AS listed,
                    EXISTS (SELECT FROM pg_publication_namespace pn
                             WHERE pn.pnpubid = pub.oid AND pn.pnnspid = k.relnamespace) AS by_schema
               FROM @extschema@.distributed d
               JOIN pg_class k ON k.oid = d.tbl
                   OR (k.oid IN (SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = d.tbl) AND k.relkind = 'r')
               CROSS JOIN pg_publication pub
              ORDER BY 1, 3, 4
    LOOP
        CONTINUE WHEN NOT (p.puballtables OR p.listed OR p.by_schema);
        -- A running move's own publication (move() names and removes it).
        CONTINUE WHEN p.listed AND NOT p.puballtables AND NOT p.by_schema
                      AND p.pubname IN (SELECT 'georoute_move_' || m.id FROM @extschema@.moves m WHERE m.state = 'copying');
        CONTINUE WHEN p.listed AND NOT p.puballtables AND NOT p.by_schema
                      AND p.filter IN (format('(%I = %L::text)', p.region_column, @extschema@._local_region()),
                                       format('((%I)::text = %L::text)', p.region_column, @extschema@._local_region()));
        tbl := p.tbl; partition := p.rel; region := @extschema@._local_region();
        problem := format('publication %I publishes its rows %s', p.pubname,
                          CASE WHEN p.puballtables THEN '(FOR ALL TABLES) without a row filter'
                               WHEN p.by_schema THEN '(FOR TABLES IN SCHEMA) without a row filter'
                               WHEN p.filter IS NULL THEN 'without a row filter'
                               ELSE 'with the row filter ' || p.filter END)
                   || format(' (only WHERE (%I = %L) may leave this cluster)', p.region_column,
                             coalesce(@extschema@._local_region(), '<georoute.local_region>'));
        RETURN NEXT;
    END LOOP;
END
$$;

-- Raises KB608 for the first violation, if any.
CREATE FUNCTION @extschema@._assert_residency() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v record;
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.distributed) THEN
        RETURN;
    END IF;
    SELECT * INTO v FROM @extschema@.residency_violations() LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'KB608',
            MESSAGE = CASE WHEN v.partition IS NULL THEN format('residency: %s: %s', v.tbl, v.problem)
                           ELSE format('residency: partition %s of %s: %s', v.partition, v.tbl, v.problem) END,
            DETAIL = format('Region %s. A distributed table keeps each region''s rows in its jurisdiction.', coalesce(v.region, '(any)')),
            HINT = 'Each region''s rows go to a local partition in a cluster of its jurisdiction, or to a foreign partition on that region''s server: georoute.distribute() lays a table out so.';
    END IF;
END
$$;

-- After every DDL command that can add or change a partition or a server:
-- a violation undoes the command (KB608).
CREATE FUNCTION @extschema@._residency_guard() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM @extschema@._assert_residency();
    PERFORM @extschema@._assert_credentials();
END
$$;
-- And at the commit of a change of the registry (a region's server or
-- jurisdiction changed under its partitions): deferred, so that a
-- transaction can move a region to a new server and its partitions with it.
CREATE FUNCTION @extschema@._residency_check() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM @extschema@._assert_residency();
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER residency_check AFTER INSERT OR UPDATE OR DELETE ON @extschema@.regions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION @extschema@._residency_check();
-- (The event trigger georoute_residency is made at the end of this script.)
-- ---------------------------------------------------------------------------
-- Routed function calls (PL/Proxy): a router database holds, for each
-- routed function, a PL/Proxy function of the same signature that runs the
-- call in the home region of its key.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@._key_partition(key bigint) RETURNS integer
    LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'georoute_key_partition_id';
CREATE FUNCTION @extschema@._key_partition(key text) RETURNS integer
    LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'georoute_key_partition_text';
CREATE FUNCTION @extschema@._remote(conninfo text, sql text, purpose text) RETURNS text
    LANGUAGE c AS 'MODULE_PATHNAME', 'georoute_remote';

-- libpq connection string of a region's cluster, from its postgres_fdw
-- server's options (no user, no password: PL/Proxy connects as the calling
-- role; a password comes from the server OS user's password file).
CREATE FUNCTION @extschema@._conninfo(region text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
    -- Plain values unquoted (PL/Proxy reads connect_timeout=N itself: its
    -- connections are asynchronous, which libpq's own timeout does not
    -- cover), others quoted for libpq.
    SELECT string_agg(o.option_name || '=' ||
                      CASE WHEN o.option_value ~ '^[A-Za-z0-9_./:-]+$' THEN o.option_value
                           ELSE format('''%s''', replace(replace(o.option_value, E'\\', E'\\\\'), '''', E'\\''')) END,
                      ' ' ORDER BY o.option_name)
           || CASE WHEN bool_or(o.option_name = 'connect_timeout') THEN '' ELSE ' connect_timeout=5' END
      FROM @extschema@.regions r
      JOIN pg_foreign_server s ON s.srvname = r.server
      CROSS JOIN LATERAL pg_options_to_table(s.srvoptions) o
     WHERE r.code = region
       AND o.option_name IN ('host', 'hostaddr', 'port', 'dbname', 'passfile', 'connect_timeout', 'sslmode',
                             'sslcert', 'sslkey', 'sslrootcert', 'sslcrl', 'target_session_attrs')
$$;

-- The PL/Proxy cluster "georoute" (a plproxy foreign server) made or
-- brought up to date from the registry: partition p<N> is the cluster of
-- region number N (a power of two of partitions; numbers without a region
-- are never routed to: _key_partition() refuses their keys). Returns the
-- number of partitions. Run in the router database after add_region().
-- query_timeout (seconds; kept when NULL): PL/Proxy's bound on a call to a
-- region that accepted the connection but does not answer.
CREATE FUNCTION @extschema@.proxy_cluster(query_timeout integer DEFAULT NULL) RETURNS integer
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    top integer;
    parts integer := 1;
    existing text[];
    changes text[] := '{}';
    conn text;
    i integer;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_foreign_data_wrapper w WHERE w.fdwname = 'plproxy') THEN
        RAISE EXCEPTION USING ERRCODE = 'KB616', MESSAGE = 'PL/Proxy is not installed in this database',
            HINT = 'The router database needs CREATE EXTENSION plproxy.';
    END IF;
    SELECT max(r.number) INTO top FROM @extschema@.regions r;
    WHILE parts <= coalesce(top, 0) LOOP
        parts := parts * 2;
    END LOOP;
    SELECT array_agg(o.option_name) INTO existing
      FROM pg_foreign_server s CROSS JOIN LATERAL pg_options_to_table(s.srvoptions) o WHERE s.srvname = 'georoute';
    FOR i IN 0 .. parts - 1 LOOP
        conn := (SELECT @extschema@._conninfo(r.code) FROM @extschema@.regions r WHERE r.number = i AND r.server IS NOT NULL);
        conn := coalesce(conn, format('dbname=georoute_no_region_%s', i));
        changes := changes || format('%s p%s %L', CASE WHEN format('p%s', i) = ANY (existing) THEN 'SET' ELSE 'ADD' END, i, conn);
    END LOOP;
    IF query_timeout IS NOT NULL THEN
        IF query_timeout < 0 THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'proxy_cluster(): query_timeout is seconds, 0 (none) or more';
        END IF;
        changes := changes || format('%s query_timeout %L', CASE WHEN 'query_timeout' = ANY (existing) THEN 'SET' ELSE 'ADD' END,
                                     query_timeout);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_foreign_server s WHERE s.srvname = 'georoute') THEN
        EXECUTE format('CREATE SERVER georoute FOREIGN DATA WRAPPER plproxy OPTIONS (%s)',
                       array_to_string(ARRAY(SELECT substr(c, 5) FROM unnest(changes) c), ', '));
        EXECUTE 'CREATE USER MAPPING FOR PUBLIC SERVER georoute';
        EXECUTE 'GRANT USAGE ON FOREIGN SERVER georoute TO PUBLIC';
        RETURN parts;
    END IF;
    FOR i IN SELECT substr(x, 2)::integer FROM unnest(existing) x WHERE x ~ '^p[0-9]+$' AND substr(x, 2)::integer >= parts LOOP
        changes := changes || format('DROP p%s', i);
    END LOOP;
    EXECUTE format('ALTER SERVER georoute OPTIONS (%s)', array_to_string(changes, ', '));
    RETURN parts;
END
$$;

-- Writes, in the router database, a PL/Proxy function of the same name and
-- signature as fn (a function of this database), which runs every call in
-- the home region of its argument key_argument: a bigint is a georoute
-- id, a text a region code or "<region>:<key>". Also refreshes the
-- router's cluster (proxy_cluster()) and copies fn's EXECUTE grants and
-- its schema's USAGE grants (the roles must exist in the router).
-- Returns the routed function's signature.
CREATE FUNCTION @extschema@.proxy(fn regprocedure, key_argument name, router text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p record;
    target text := coalesce(router, nullif(current_setting('georoute.router', true), ''));
    k integer;
    key_type regtype;
    ddl text;
    g record;
BEGIN
    IF fn IS NULL OR key_argument IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'proxy(): function and key_argument are required';
    END IF;
    IF target IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'no router database',
            HINT = 'Set georoute.router to its connection string, or pass router.';
    END IF;
    IF target ~* '(^|[[:space:]])(ssl)?password[[:space:]]*=' THEN
        RAISE EXCEPTION USING ERRCODE = 'KB614', MESSAGE = 'credentials: the router''s connection string holds a password',
            HINT = 'Keep it in a password file of the server''s OS user (passfile).';
    END IF;
    SELECT f.oid, n.nspname, f.proname, f.proargnames, f.proargtypes, f.pronargs, f.proargmodes, f.prokind, f.proacl
      INTO p FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace WHERE f.oid = fn;
    IF p.prokind <> 'f' THEN
        RAISE EXCEPTION USING ERRCODE = 'KB616', MESSAGE = format('%s is not a function', fn);
    END IF;
    -- The key's position among the input arguments.
    SELECT x.pos INTO k FROM (
        SELECT a.name, row_number() OVER (ORDER BY a.ord) AS pos
          FROM unnest(p.proargnames, coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs])))
               WITH ORDINALITY AS a(name, mode, ord)
         WHERE a.mode IN ('i', 'b', 'v')) x
     WHERE x.name = key_argument;
    IF k IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'KB616', MESSAGE = format('%s has no input argument %I', fn, key_argument);
    END IF;
    key_type := p.proargtypes[k - 1];
    IF key_type NOT IN ('bigint'::regtype, 'text'::regtype, 'character varying'::regtype) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB616', MESSAGE = format('key argument %I of %s is %s', key_argument, fn, key_type),
            DETAIL = 'A routing key is a bigint (a georoute id) or a text (a region code, or "<region>:<key>").';
    END IF;
    ddl := format('SELECT %I.proxy_cluster(); CREATE SCHEMA IF NOT EXISTS %I; '
                  'CREATE OR REPLACE FUNCTION %I.%I(%s) RETURNS %s LANGUAGE plproxy AS %L; ',
                  '@extschema@', p.nspname, p.nspname, p.proname, pg_get_function_arguments(fn), pg_get_function_result(fn),
                  format('CLUSTER ''georoute''; RUN ON %I._key_partition($%s);', '@extschema@', k));
    -- The schema's USAGE grants, as where the function lives.
    FOR g IN SELECT DISTINCT a.grantee FROM pg_namespace n, aclexplode(n.nspacl) a
              WHERE n.nspname = p.nspname AND a.privilege_type = 'USAGE' LOOP
        ddl := ddl || format('GRANT USAGE ON SCHEMA %I TO %s; ', p.nspname,
                             CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END);
    END LOOP;
    IF p.proacl IS NOT NULL THEN
        ddl := ddl || format('REVOKE ALL ON FUNCTION %I.%I(%s) FROM PUBLIC; ', p.nspname, p.proname,
                             pg_get_function_identity_arguments(fn));
        FOR g IN SELECT DISTINCT a.grantee FROM aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE' LOOP
            ddl := ddl || format('GRANT EXECUTE ON FUNCTION %I.%I(%s) TO %s; ', p.nspname, p.proname,
                                 pg_get_function_identity_arguments(fn),
                                 CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END);
        END LOOP;
    END IF;
    PERFORM @extschema@._remote(target, 'BEGIN; ' || ddl || 'COMMIT;', format('proxy(%s) in the router', fn));
    RETURN format('%I.%I(%s)', p.nspname, p.proname, pg_get_function_identity_arguments(fn));
END
$$;

-- ---------------------------------------------------------------------------
-- Moving rows to another region without downtime (docs/georoute.md)
-- ---------------------------------------------------------------------------
-- Where moved keys live now, in every cluster (move() writes it to all).
CREATE TABLE @extschema@.placements (
    table_name text NOT NULL,           -- schema-qualified: the same in every cluster
    key_column name NOT NULL,
    key_range int8range,                -- a range of a bigint key
    tenant text,                        -- or one value of the key
    region text NOT NULL,
    moved_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((key_range IS NULL) <> (tenant IS NULL))
);
CREATE INDEX placements_table_idx ON @extschema@.placements (table_name, key_column);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.placements', '');
GRANT SELECT ON @extschema@.placements TO PUBLIC;

-- The moves this cluster made (as their source).
CREATE TABLE @extschema@.moves (
    id bigserial PRIMARY KEY,
    table_name text NOT NULL,
    key_column name NOT NULL,
    key_range int8range,
    tenant text,
    from_region text NOT NULL,
    to_region text NOT NULL,
    state text NOT NULL CHECK (state IN ('copying', 'done', 'failed')),
    rows_moved bigint,
    checksum numeric,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    locked_at timestamptz,              -- writes to the source partition wait from here
    switched_at timestamptz,            -- to here (the switch committed just after)
    finished_at timestamptz,
    failure text
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.moves', '');
GRANT SELECT ON @extschema@.moves TO PUBLIC;

CREATE FUNCTION @extschema@._table_name(tbl regclass) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT format('%I.%I', n.nspname, k.relname) FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = tbl $$;

-- The region a key of a distributed table lives in: the latest move of it,
-- else (a bigint) the home region of the georoute id.
CREATE FUNCTION @extschema@.region_for(tbl regclass, key bigint, key_column name DEFAULT 'id') RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT coalesce((SELECT p.region FROM @extschema@.placements p
                      WHERE p.table_name = @extschema@._table_name(tbl) AND p.key_column = region_for.key_column
                        AND p.key_range @> key
                      ORDER BY p.moved_at DESC LIMIT 1),
                    @extschema@.region_of_id(key))
$$;
-- The region a tenant of a distributed table was moved to (NULL if never).
CREATE FUNCTION @extschema@.region_for(tbl regclass, tenant text, key_column name DEFAULT 'tenant_id') RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT p.region FROM @extschema@.placements p
     WHERE p.table_name = @extschema@._table_name(tbl) AND p.key_column = region_for.key_column AND p.tenant = region_for.tenant
     ORDER BY p.moved_at DESC LIMIT 1
$$;

-- BEFORE INSERT on the source's local partition after a move: a row of a
-- moved key is written to its new region through the distributed table
-- (a writer that waited on the switch, or that still names the old region,
-- loses nothing). TG_ARGV: key column, region column, distributed table.
CREATE FUNCTION @extschema@._forward_moved() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k text := to_jsonb(NEW) ->> TG_ARGV[0];
    target text;
BEGIN
    SELECT p.region INTO target FROM @extschema@.placements p
     WHERE p.table_name = TG_ARGV[2] AND p.key_column = TG_ARGV[0]
       AND (p.tenant = k OR (p.key_range IS NOT NULL AND k ~ '^-?[0-9]+$' AND p.key_range @> k::bigint))
     ORDER BY p.moved_at DESC LIMIT 1;
    IF target IS NULL OR target = @extschema@._local_region() THEN
        RETURN NEW;
    END IF;
    EXECUTE format('INSERT INTO %s SELECT * FROM jsonb_populate_record(NULL::%s, $1)', TG_ARGV[2], TG_ARGV[2])
      USING to_jsonb(NEW) || jsonb_build_object(TG_ARGV[1], target);
    RETURN NULL;
END
$$;

-- Count and an order-independent checksum of rows (a relation and a
-- filter), as text 'count:sum': the same rows give the same answer in
-- any cluster with the same column types.
CREATE FUNCTION @extschema@._digest_sql(rel text, filter text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT format('SELECT count(*) || '':'' || coalesce(sum((''x'' || left(md5(t::text), 15))::bit(60)::bigint::numeric), 0) '
                  'FROM %s t WHERE %s', rel, filter)
$$;

-- The SQL, for a remote session, that makes the owner of relation rel the
-- current role there for the rest of the session (its triggers, its types'
-- functions and its row security then run with the owner's rights, never
-- with those of move()'s superuser connection); the owner may read the
-- staging table (also_reads) first.
CREATE FUNCTION @extschema@._as_owner_sql(rel text, also_reads text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT format($r$DO $d$ DECLARE o name := (SELECT r.rolname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
                                             WHERE c.oid = %L::regclass);
                    BEGIN
                        EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %%I', o);
                        PERFORM pg_catalog.set_config('role', o, false);
                    END $d$; $r$, rel, also_reads)
$$;

CREATE PROCEDURE @extschema@._move(tbl regclass, key_column name, key_range int8range, tenant text, to_region text,
                                   across_jurisdictions boolean, lock_timeout interval, wait interval)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_variable
DECLARE
    local text := @extschema@._local_region();
    region_column name;
    part regclass;
    nsp name;
    part_name name;
    moving_name name;
    remote_nsp text;
    remote_part text;
    filter text;
    cols text;
    coldefs text;
    select_list text;
    pk text;
    move_id bigint;
    pub name;
    t_conn text;
    s_conn text;
    source_digest text;
    target_digest text;
    deadline timestamptz;
    tries integer := 0;
    failed text;
    failed_state text;
    r record;
    tname text;
    saved_path text := pg_catalog.current_setting('search_path');
    saved_role text := pg_catalog.current_setting('role');
    owner name;
    deleted bigint;
    digest_sql text;
BEGIN
    -- A procedure that commits cannot have a SET clause: its search_path is
    -- set here, for the session (an error before the first COMMIT undoes
    -- it; the end puts the caller's back).
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false);
    tname := @extschema@._table_name(tbl);
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'move() is for superusers',
            DETAIL = 'It creates a publication here and a subscription in the target region.';
    END IF;
    IF tbl IS NULL OR key_column IS NULL OR to_region IS NULL OR (key_range IS NULL AND tenant IS NULL)
       OR lock_timeout IS NULL OR wait IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'move(): table, key range or tenant, to_region and key_column are required';
    END IF;
    IF key_range IS NOT NULL AND (isempty(key_range) OR lower_inf(key_range) OR upper_inf(key_range)) THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('move(): the key range must be bounded and not empty (got %s)', key_range);
    END IF;
    SELECT d.region_column INTO region_column FROM @extschema@.distributed d WHERE d.tbl = tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'KB606', MESSAGE = format('%s is not a distributed table', tbl);
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.regions x WHERE x.code = to_region) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB601', MESSAGE = format('no region ''%s''', to_region);
    END IF;
    IF to_region = local THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('move(): the rows are already in %s', to_region),
            HINT = 'Call move() in the cluster of the region the rows are in now.';
    END IF;
    IF (SELECT x.jurisdiction FROM @extschema@.regions x WHERE x.code = to_region)
       IS DISTINCT FROM (SELECT x.jurisdiction FROM @extschema@.regions x WHERE x.code = local)
       AND NOT across_jurisdictions THEN
        RAISE EXCEPTION USING ERRCODE = 'KB612',
            MESSAGE = format('move(): %s and %s are regions of different jurisdictions', local, to_region),
            HINT = 'A move across jurisdictions stores the rows in the other one: pass across_jurisdictions => true when that is allowed.';
    END IF;
    t_conn := @extschema@._conninfo(to_region);
    s_conn := @extschema@._conninfo(local);
    IF t_conn IS NULL OR s_conn IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'KB605', MESSAGE = format('move(): regions %s and %s both need a server', local, to_region);
    END IF;
    SELECT k.oid::regclass, n.nspname, k.relname INTO part, nsp, part_name
      FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid JOIN pg_namespace n ON n.oid = k.relnamespace
     WHERE i.inhparent = tbl AND k.relkind = 'r' AND pg_get_expr(k.relpartbound, k.oid) = format('FOR VALUES IN (%L)', local);
    IF part IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'KB606', MESSAGE = format('%s has no local partition for %s', tbl, local);
    END IF;
    -- The target's local partition: what this cluster's foreign partition for it names.
    SELECT max(o.option_value) FILTER (WHERE o.option_name = 'schema_name'),
           max(o.option_value) FILTER (WHERE o.option_name = 'table_name')
      INTO remote_nsp, remote_part
      FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid JOIN pg_foreign_table f ON f.ftrelid = k.oid
      CROSS JOIN LATERAL pg_options_to_table(f.ftoptions) o
     WHERE i.inhparent = tbl AND pg_get_expr(k.relpartbound, k.oid) = format('FOR VALUES IN (%L)', to_region);
    IF remote_part IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'KB606', MESSAGE = format('%s has no foreign partition for %s', tbl, to_region),
            HINT = 'Run georoute.distribute() again after the region got a server.';
    END IF;
    -- The key must be in the replica identity (the primary key): a row
    -- filter on another column would make every UPDATE of the table fail
    -- while the move publishes it.
    SELECT pg_get_constraintdef(c.oid) INTO pk FROM pg_constraint c WHERE c.conrelid = part AND c.contype = 'p';
    IF pk IS NULL OR NOT EXISTS (SELECT FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
                                  WHERE c.conrelid = part AND c.contype = 'p' AND a.attname = key_column) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB606', MESSAGE = format('move(): %I is not a column of the primary key of %s', key_column, part),
            DETAIL = 'Logical replication filters rows by replica identity columns: the key must be in the primary key.';
    END IF;
    IF key_range IS NOT NULL AND (SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = part AND a.attname = key_column)
                                 NOT IN ('bigint'::regtype, 'integer'::regtype) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB606', MESSAGE = format('move(): %I is not an integer column, a key range needs one', key_column);
    END IF;
    filter := CASE WHEN key_range IS NOT NULL
                   THEN format('%I >= %s AND %I < %s', key_column,
                               lower(key_range) + CASE WHEN lower_inc(key_range) THEN 0 ELSE 1 END,
                               key_column, upper(key_range) + CASE WHEN upper_inc(key_range) THEN 1 ELSE 0 END)
                   ELSE format('%I = %L', key_column, tenant) END;
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum),
           string_agg(CASE WHEN a.attname = region_column THEN format('%L', to_region) ELSE format('%I', a.attname) END,
                      ', ' ORDER BY a.attnum)
      INTO cols, coldefs, select_list
      FROM pg_attribute a WHERE a.attrelid = part AND a.attnum > 0 AND NOT a.attisdropped;

    INSERT INTO @extschema@.moves (table_name, key_column, key_range, tenant, from_region, to_region, state)
    VALUES (tname, key_column, key_range, tenant, local, to_region, 'copying') RETURNING id INTO move_id;
    pub := 'georoute_move_' || move_id;
    moving_name := left(part_name, 40) || '_moving_' || move_id;
    EXECUTE format('CREATE PUBLICATION %I FOR TABLE %s WHERE (%s)', pub, part, filter);
    COMMIT;

    BEGIN
        -- The target: a staging table of the partition's name (there it is
        -- the foreign partition for this region, renamed while the move
        -- runs), subscribed to the publication.
        PERFORM @extschema@._remote(t_conn, format(
            $r$BEGIN;
            DO $d$ BEGIN
                IF to_regclass(%1$L) IS NOT NULL THEN EXECUTE %2$L; END IF;
            END $d$;
            CREATE TABLE %3$I.%4$I (%5$s, %6$s);
            COMMIT;$r$,
            format('%I.%I', nsp, part_name), format('ALTER FOREIGN TABLE %I.%I RENAME TO %I', nsp, part_name, moving_name),
            nsp, part_name, coldefs, pk), format('move() %s: staging in %s', move_id, to_region));
        PERFORM @extschema@._remote(t_conn, format('CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION %I', pub, s_conn, pub),
                                    format('move() %s: subscribing in %s', move_id, to_region));
        -- The copy of the rows there (writes go on here).
        deadline := clock_timestamp() + wait;
        LOOP
            EXIT WHEN @extschema@._remote(t_conn, format(
                'SELECT count(*) = 0 AND EXISTS (SELECT FROM pg_subscription WHERE subname = %L) '
                'FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid '
                'WHERE s.subname = %L AND r.srsubstate <> ''r''', pub, pub), 'move(): copy state')::boolean;
            IF clock_timestamp() > deadline THEN
                RAISE EXCEPTION USING ERRCODE = 'KB617', MESSAGE = format('move() %s: the copy to %s took longer than %s', move_id, to_region, wait);
            END IF;
            PERFORM pg_sleep(0.05);
        END LOOP;
        -- The switch: writes to the partition wait (reads go on) until the
        -- target has every row, then the rows change region.
        LOOP
            BEGIN
                PERFORM set_config('lock_timeout', (date_part('epoch', lock_timeout) * 1000)::bigint::text, true);
                EXECUTE format('LOCK TABLE %s IN EXCLUSIVE MODE', part);
                PERFORM set_config('lock_timeout', '0', true);
                UPDATE @extschema@.moves m SET locked_at = clock_timestamp() WHERE m.id = move_id;
                EXIT;
            EXCEPTION WHEN lock_not_available THEN
                tries := tries + 1;
                IF clock_timestamp() > deadline THEN
                    RAISE EXCEPTION USING ERRCODE = 'KB617', MESSAGE = format('move() %s: could not lock %s for the switch in %s tries', move_id, part, tries);
                END IF;
                PERFORM pg_sleep(least(0.01 * tries, 0.2));
            END;
        END LOOP;
        -- The table owner's code (triggers, types, row security) runs as
        -- the owner, here and in the target, not as this superuser.
        SELECT ro.rolname INTO owner FROM pg_class c JOIN pg_roles ro ON ro.oid = c.relowner WHERE c.oid = part;
        digest_sql := @extschema@._digest_sql(part::text, filter);
        PERFORM set_config('role', owner, true);
        EXECUTE digest_sql INTO source_digest;
        PERFORM set_config('role', saved_role, true);
        LOOP
            target_digest := @extschema@._remote(t_conn,
                                                 @extschema@._as_owner_sql(format('%I.%I', coalesce(remote_nsp, nsp), remote_part),
                                                                           format('%I.%I', nsp, part_name))
                                                 || @extschema@._digest_sql(format('%I.%I', nsp, part_name), 'true'),
                                                 'move(): checking the copy');
            EXIT WHEN target_digest = source_digest;
            IF clock_timestamp() > deadline THEN
                RAISE EXCEPTION USING ERRCODE = 'KB617',
                    MESSAGE = format('move() %s: the copy in %s does not match (%s there, %s here)', move_id, to_region, target_digest, source_digest);
            END IF;
            PERFORM pg_sleep(0.01);
        END LOOP;
        -- The rows leave here (not committed yet; all of them, or the move
        -- is undone), become the target region's (one transaction there),
        -- every other cluster learns the placement, then this commits.
        PERFORM set_config('role', owner, true);
        EXECUTE format('DELETE FROM %s WHERE %s', part, filter);
        GET DIAGNOSTICS deleted = ROW_COUNT;
        PERFORM set_config('role', saved_role, true);
        IF deleted <> split_part(source_digest, ':', 1)::bigint THEN
            RAISE EXCEPTION USING ERRCODE = 'KB617',
                MESSAGE = format('move() %s: %s rows deleted here, %s copied (row security or a trigger of the table)', move_id, deleted,
                                 split_part(source_digest, ':', 1));
        END IF;
        PERFORM @extschema@._remote(t_conn, 'BEGIN; ' || @extschema@._as_owner_sql(format('%I.%I', coalesce(remote_nsp, nsp), remote_part),
                                                                       format('%I.%I', nsp, part_name))
                                    || format('INSERT INTO %I.%I (%s) SELECT %s FROM %I.%I; COMMIT;',
                                                   coalesce(remote_nsp, nsp), remote_part, cols, select_list, nsp, part_name),
                                    format('move() %s: the rows into %s', move_id, to_region));
        FOR r IN SELECT x.code FROM @extschema@.regions x WHERE x.code <> local AND x.server IS NOT NULL ORDER BY x.number LOOP
            BEGIN
                PERFORM @extschema@._remote(@extschema@._conninfo(r.code), format(
                    'INSERT INTO %I.placements (table_name, key_column, key_range, tenant, region) VALUES (%L, %L, %L, %L, %L)',
                    '@extschema@', tname, key_column, key_range, tenant, to_region), 'move(): placement');
            EXCEPTION WHEN SQLSTATE 'KB615' THEN
                RAISE WARNING 'move() %: region % did not get the placement (add it there: %)', move_id, r.code, SQLERRM;
            END;
        END LOOP;
        INSERT INTO @extschema@.placements (table_name, key_column, key_range, tenant, region)
        VALUES (tname, key_column, key_range, tenant, to_region);
        IF NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = part AND t.tgname = left('georoute_moved_' || key_column, 63)) THEN
            EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION @extschema@._forward_moved(%L, %L, %L)',
                           left('georoute_moved_' || key_column, 63), part, key_column, region_column, tname);
            EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', part, left('georoute_moved_' || key_column, 63));
        END IF;
        UPDATE @extschema@.moves m SET state = 'done', rows_moved = split_part(source_digest, ':', 1)::bigint,
               checksum = split_part(source_digest, ':', 2)::numeric, switched_at = clock_timestamp()
         WHERE m.id = move_id;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS failed = MESSAGE_TEXT, failed_state = RETURNED_SQLSTATE;
    END;
    COMMIT;
    -- Clean-up, in both outcomes: the subscription (and its slot here), the
    -- staging table, the publication.
    BEGIN
        PERFORM @extschema@._remote(t_conn, format('DROP SUBSCRIPTION IF EXISTS %I', pub), 'move(): clean-up');
        PERFORM @extschema@._remote(t_conn, format(
            $r$BEGIN;
            DROP TABLE IF EXISTS %1$I.%2$I;
            DO $d$ BEGIN
                IF to_regclass(%3$L) IS NOT NULL THEN EXECUTE %4$L; END IF;
            END $d$;
            COMMIT;$r$, nsp, part_name, format('%I.%I', nsp, moving_name),
            format('ALTER FOREIGN TABLE %I.%I RENAME TO %I', nsp, moving_name, part_name)), 'move(): clean-up');
    EXCEPTION WHEN SQLSTATE 'KB615' THEN
        RAISE WARNING 'move() %: clean-up in % failed: % (drop subscription %, table %.% there)', move_id, to_region, SQLERRM, pub, nsp, part_name;
    END;
    EXECUTE format('DROP PUBLICATION IF EXISTS %I', pub);
    UPDATE @extschema@.moves m SET finished_at = clock_timestamp(),
           state = CASE WHEN failed IS NULL THEN m.state ELSE 'failed' END, failure = failed
     WHERE m.id = move_id;
    PERFORM set_config('search_path', saved_path, false);
    COMMIT;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = failed_state, MESSAGE = failed,
            DETAIL = format('move() %s was undone: the rows are still here, in %s.', move_id, local);
    END IF;
    RAISE NOTICE 'move() %: % rows of % now in %', move_id, split_part(source_digest, ':', 1), tbl, to_region;
END
$$;

-- move(table, key range, to_region): the rows whose key_column is in the
-- range; move(table, tenant, to_region): those whose key_column equals
-- tenant. Called in the cluster the rows are in now, outside a transaction
-- block (it commits as it goes). Superusers only.
CREATE PROCEDURE @extschema@.move(tbl regclass, key_range int8range, to_region text, key_column name DEFAULT 'id',
                                  across_jurisdictions boolean DEFAULT false, lock_timeout interval DEFAULT '100ms',
                                  wait interval DEFAULT '10 minutes')
    LANGUAGE plpgsql
    AS $$
BEGIN
    CALL @extschema@._move(tbl, key_column, key_range, NULL, to_region, across_jurisdictions, lock_timeout, wait);
END
$$;
CREATE PROCEDURE @extschema@.move(tbl regclass, tenant text, to_region text, key_column name DEFAULT 'tenant_id',
                                  across_jurisdictions boolean DEFAULT false, lock_timeout interval DEFAULT '100ms',
                                  wait interval DEFAULT '10 minutes')
    LANGUAGE plpgsql
    AS $$
BEGIN
    CALL @extschema@._move(tbl, key_column, NULL, tenant, to_region, across_jurisdictions, lock_timeout, wait);
END
$$;

-- The registry as every other region's cluster has it, compared with this
-- one's: a region missing on either side, or registered with another
-- number or jurisdiction there (ids would route to the wrong region), or a
-- cluster that cannot be asked. Empty when all agree. Superusers (it
-- connects to every region's cluster as the server's OS user).
CREATE FUNCTION @extschema@.registry_differences()
    RETURNS TABLE (region text, code text, problem text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
    theirs jsonb;
    mine jsonb := (SELECT coalesce(jsonb_object_agg(x.code, jsonb_build_array(x.number, x.jurisdiction)), '{}')
                     FROM @extschema@.regions x);
    k text;
BEGIN
    FOR r IN SELECT x.code FROM @extschema@.regions x
              WHERE x.server IS NOT NULL AND x.code IS DISTINCT FROM @extschema@._local_region() ORDER BY x.number LOOP
        region := r.code;
        BEGIN
            theirs := @extschema@._remote(@extschema@._conninfo(r.code), format(
                'SELECT coalesce(jsonb_object_agg(x.code, jsonb_build_array(x.number, x.jurisdiction)), ''{}'') FROM %I.regions x',
                '@extschema@'), 'registry_differences()')::jsonb;
        EXCEPTION WHEN SQLSTATE 'KB615' THEN
            code := NULL;
            problem := 'cannot be asked: ' || SQLERRM;
            RETURN NEXT;
            CONTINUE;
        END;
        FOR k IN SELECT jsonb_object_keys(mine || theirs) ORDER BY 1 LOOP
            code := k;
            IF NOT theirs ? k THEN
                problem := 'not registered there';
            ELSIF NOT mine ? k THEN
                problem := 'registered there, not here';
            ELSIF mine -> k <> theirs -> k THEN
                problem := format('number and jurisdiction %s here, %s there', mine -> k, theirs -> k);
            ELSE
                CONTINUE;
            END IF;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- Credentials: no password in clear text in a user mapping of a region's
-- server (pg_user_mappings shows a mapping's options to its role and to
-- the server's owner). The links authenticate with a password file of the
-- server's OS user (postgres_fdw's passfile option, or ~/.pgpass) or a
-- client certificate (sslcert/sslkey); see docs/georoute.md.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.credential_problems()
    RETURNS TABLE (server name, role text, problem text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT s.srvname,
           CASE WHEN um.umuser = 0 THEN 'PUBLIC' ELSE um.umuser::regrole::text END,
           format('the user mapping stores %s in clear text (readable by %s and the server''s owner)',
                  string_agg(split_part(o, '=', 1), ' and ' ORDER BY o),
                  CASE WHEN um.umuser = 0 THEN 'every role' ELSE um.umuser::regrole::text END)
      FROM pg_user_mapping um
      JOIN pg_foreign_server s ON s.oid = um.umserver
      CROSS JOIN LATERAL unnest(um.umoptions) o
     WHERE s.srvname IN (SELECT r.server FROM @extschema@.regions r WHERE r.server IS NOT NULL)
       AND (o LIKE 'password=%' OR o LIKE 'sslpassword=%')
     GROUP BY s.srvname, um.umuser
     ORDER BY 1, 2
$$;
CREATE FUNCTION @extschema@._assert_credentials() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v record;
BEGIN
    SELECT * INTO v FROM @extschema@.credential_problems() LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'KB614',
            MESSAGE = format('credentials: server %I of a region, user mapping for %s: %s', v.server, v.role, v.problem),
            HINT = 'Keep the password in a password file of the server''s OS user (server option passfile, mode 0600) and set password_required ''false'' on the mapping, or authenticate with a client certificate (sslcert, sslkey).';
    END IF;
END
$$;
-- (Checked by _residency_guard(), after these commands too.)
CREATE EVENT TRIGGER georoute_credentials ON ddl_command_end
    WHEN TAG IN ('CREATE USER MAPPING', 'ALTER USER MAPPING')
    EXECUTE FUNCTION @extschema@._residency_guard();
ALTER EVENT TRIGGER georoute_credentials ENABLE ALWAYS;

-- A distributed table dropped: forgotten.
CREATE FUNCTION @extschema@._on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM @extschema@.distributed d
     WHERE d.tbl::oid IN (SELECT o.objid FROM pg_event_trigger_dropped_objects() o WHERE o.object_type = 'table');
END
$$;
CREATE EVENT TRIGGER georoute_sql_drop ON sql_drop EXECUTE FUNCTION @extschema@._on_sql_drop();

-- Last, so that it does not fire for this script's own commands.
CREATE EVENT TRIGGER georoute_residency ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE FOREIGN TABLE', 'ALTER TABLE', 'ALTER FOREIGN TABLE', 'ALTER SERVER',
                 'CREATE TABLE AS', 'SELECT INTO', 'CREATE PUBLICATION', 'ALTER PUBLICATION', 'DROP TRIGGER',
                 'ALTER TRIGGER')
    EXECUTE FUNCTION @extschema@._residency_guard();
ALTER EVENT TRIGGER georoute_residency ENABLE ALWAYS;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.next_id(text), @extschema@.region_of_id(bigint), @extschema@.route(bigint),
                          @extschema@.route(text), @extschema@.region_of(geography),
                          @extschema@._target(text), @extschema@.distribute(regclass, name),
                          @extschema@.residency_violations(), @extschema@._local_region(),
                          @extschema@._preloaded(), @extschema@._region_change(),
                          @extschema@._key_partition(bigint), @extschema@._key_partition(text),
                          @extschema@.region_for(regclass, bigint, name), @extschema@.region_for(regclass, text, name),
                          @extschema@._table_name(regclass), @extschema@._forward_moved() TO PUBLIC;
REVOKE ALL ON PROCEDURE @extschema@.move(regclass, int8range, text, name, boolean, interval, interval),
                        @extschema@.move(regclass, text, text, name, boolean, interval, interval),
                        @extschema@._move(regclass, name, int8range, text, text, boolean, interval, interval) FROM PUBLIC;
-- (_key_partition: every caller of a routed function runs it in the router)
-- (_target: route()'s, run as its caller; distribute: owners of tables)

-- The functions that use PostGIS find it wherever it was installed.
DO $do$
DECLARE
    postgis_schema name;
BEGIN
    SELECT n.nspname INTO postgis_schema
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'postgis';
    EXECUTE pg_catalog.format('ALTER FUNCTION @extschema@.region_of(geography) SET search_path = pg_catalog, %I, pg_temp',
                              postgis_schema);
    EXECUTE pg_catalog.format('ALTER FUNCTION @extschema@.add_region(text, name, text, geography, integer) '
                              'SET search_path = pg_catalog, %I, pg_temp', postgis_schema);
END
$do$;
