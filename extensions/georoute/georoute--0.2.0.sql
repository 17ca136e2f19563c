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
    RETURN n;
END
$$;

-- ---------------------------------------------------------------------------
-- Ids and routing
-- ---------------------------------------------------------------------------
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

-- route(id) and route(region): the region and its connection target.
CREATE FUNCTION @extschema@.route(id bigint, OUT region text, OUT target text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT r, @extschema@._target(r) FROM (SELECT @extschema@.region_of_id(id) AS r) x $$;
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

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.next_id(text), @extschema@.region_of_id(bigint), @extschema@.route(bigint),
                          @extschema@.route(text), @extschema@.region_of(geography),
                          @extschema@._target(text) TO PUBLIC;   -- route()'s, run as its caller

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
