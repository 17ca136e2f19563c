-- analytics 0.2.0: exact incremental rollups on HLL and t-digest over
-- time-partitioned events (casebook case study 2). docs/analytics.md.
\echo Use "CREATE EXTENSION analytics" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Registry
-- ---------------------------------------------------------------------------
-- A role sees and changes only the rows of the tables it owns (row security
-- below): one role's rollups cannot be moved back or forth by another.

CREATE TABLE @extschema@.tracked (
    source regclass PRIMARY KEY,
    time_column name NOT NULL,
    batch_sequence regclass NOT NULL,
    partition_interval interval NOT NULL,
    retention interval,
    -- The name pg_partman knows the table by (its configuration is keyed
    -- by name: a rename is followed, see _on_alter_table()).
    partman_parent text NOT NULL,
    owner name NOT NULL DEFAULT current_user,
    tracked_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE @extschema@.rollups (
    name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
    source regclass NOT NULL REFERENCES @extschema@.tracked ON DELETE CASCADE,
    dimensions name[] NOT NULL,
    distinct_column name,
    sums text[] NOT NULL,
    percentiles text[] NOT NULL,
    hll_log2m integer NOT NULL,
    hourly regclass NOT NULL,
    daily regclass NOT NULL,
    -- Every row with _batch <= watermark is folded into hourly and daily.
    watermark bigint NOT NULL DEFAULT 0,
    refreshed_at timestamptz,
    events_folded bigint NOT NULL DEFAULT 0,
    owner name NOT NULL DEFAULT current_user,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The fold statement (_fold_sql()), made by create_rollup().
    fold_sql text NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tracked', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rollups', '');

ALTER TABLE @extschema@.tracked ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.rollups ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_tables ON @extschema@.tracked
    USING (pg_catalog.pg_has_role(current_user, owner, 'USAGE'))
    WITH CHECK (pg_catalog.pg_has_role(current_user,
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) source), 'USAGE'));
CREATE POLICY own_rollups ON @extschema@.rollups
    USING (pg_catalog.pg_has_role(current_user, owner, 'USAGE'))
    WITH CHECK (pg_catalog.pg_has_role(current_user,
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) source), 'USAGE'));
-- A dashboard role reads a rollup (series(), the status view) when it may
-- read its tables: SELECT on the hourly and daily tables, and on the events
-- table for the real-time tail. It changes nothing (the policies above).
CREATE POLICY readers ON @extschema@.tracked FOR SELECT
    USING (pg_catalog.has_table_privilege(source, 'SELECT'));
CREATE POLICY readers ON @extschema@.rollups FOR SELECT
    USING (pg_catalog.has_table_privilege(hourly, 'SELECT') AND pg_catalog.has_table_privilege(daily, 'SELECT'));
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.tracked, @extschema@.rollups TO PUBLIC;

-- ---------------------------------------------------------------------------
-- The watermark (batches.hpp)
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._batch(sequence regclass) RETURNS bigint
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'analytics_batch';
CREATE FUNCTION @extschema@._wait_for_writers(source regclass) RETURNS void
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'analytics_wait_for_writers';

-- ---------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._tracked(source regclass) RETURNS @extschema@.tracked
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t @extschema@.tracked;
BEGIN
    SELECT * INTO t FROM @extschema@.tracked x WHERE x.source = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'KB504', MESSAGE = format('%s is not tracked', $1),
            HINT = 'Call analytics.track() on it first.';
    END IF;
    RETURN t;
END
$$;

-- Refuses (42501) unless the current role is, or is a member of, owner.
CREATE FUNCTION @extschema@._must_own(owner name, what text) RETURNS boolean
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT pg_has_role(current_user, owner, 'USAGE') THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format('must be owner of %s', what),
            DETAIL = format('It belongs to role %s; a role that may only read it can call series() and read analytics.status.', owner);
    END IF;
    RETURN true;
END
$$;

CREATE FUNCTION @extschema@._rollup(name text) RETURNS @extschema@.rollups
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r @extschema@.rollups;
BEGIN
    SELECT * INTO r FROM @extschema@.rollups x WHERE x.name = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'KB505', MESSAGE = format('no rollup named %L', $1),
            HINT = 'analytics.rollups lists the rollups of the tables you own.';
    END IF;
    RETURN r;
END
$$;

-- schema.table, as pg_partman keys its configuration.
CREATE FUNCTION @extschema@._qualified(rel regclass) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel
$$;

-- The schema an extension was created in (hll, tdigest, pg_partman are
-- called through it: this extension's functions run with a fixed
-- search_path).
CREATE FUNCTION @extschema@._schema_of(extension name) RETURNS name
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT e.extnamespace::regnamespace::name FROM pg_extension e WHERE e.extname = extension $$;

-- The type of a column of rel, or NULL.
CREATE FUNCTION @extschema@._column_type(rel regclass, col name) RETURNS regtype
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT a.atttypid::regtype FROM pg_attribute a
    WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped
$$;

-- The expression a sum or percentile reads: a numeric column of the
-- source, or else a number in its properties jsonb (NULL when the property
-- is missing or not a number: one odd event never stops a refresh).
CREATE FUNCTION @extschema@._measure(source regclass, measure text, alias text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t regtype := @extschema@._column_type(source, measure);
BEGIN
    IF t IS NOT NULL THEN
        IF t NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'numeric'::regtype,
                     'real'::regtype, 'double precision'::regtype) THEN
            RAISE EXCEPTION USING ERRCODE = 'KB507',
                MESSAGE = format('column %I of %s is %s, not a number', measure, source, t);
        END IF;
        RETURN format('%s.%I::numeric', alias, measure);
    END IF;
    IF @extschema@._column_type(source, 'properties') IS DISTINCT FROM 'jsonb'::regtype THEN
        RAISE EXCEPTION USING ERRCODE = 'KB507',
            MESSAGE = format('%s has no column %I and no properties jsonb column', source, measure);
    END IF;
    RETURN format('CASE WHEN jsonb_typeof(%1$s.properties -> %2$L) = ''number'' THEN (%1$s.properties ->> %2$L)::numeric END',
                  alias, measure);
END
$$;

-- Runs a pg_partman call with DateStyle ISO: pg_partman turns timestamps
-- into text and back, and under another DateStyle (Postgres, SQL, DMY) it
-- makes partitions for the wrong days. The caller's DateStyle is put back.
CREATE FUNCTION @extschema@._partman(sql text) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    style text := pg_catalog.current_setting('DateStyle');
BEGIN
    PERFORM pg_catalog.set_config('DateStyle', 'ISO, MDY', true);
    EXECUTE sql;
    PERFORM pg_catalog.set_config('DateStyle', style, true);
END
$$;

-- A BRIN index on _batch lets refresh() skip the blocks of a partition
-- that hold no new batch. Maintaining one costs every insert about 0.3 us
-- (11 % of a COPY, docs/benchmarks.md), so the partitions that take the
-- inserts (the current one, those made ahead) have none: refresh() reads
-- them whole, and they are small. Once a partition's range has ended it
-- gets its index (here, from track() and maintain()): late events there
-- are few. The default partition (strays) gets one too.
CREATE FUNCTION @extschema@._index_settled_partitions(source regclass) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    partman name := @extschema@._schema_of('pg_partman');
    c record;
    ends timestamptz;
    n integer := 0;
BEGIN
    FOR c IN SELECT k.oid::regclass AS part, k.relname, k.oid = p.partdefid AS is_default
               FROM pg_catalog.pg_inherits i
               JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid
               JOIN pg_catalog.pg_partitioned_table p ON p.partrelid = i.inhparent
              WHERE i.inhparent = source AND k.relkind = 'r'
                AND NOT EXISTS (SELECT FROM pg_catalog.pg_index x JOIN pg_catalog.pg_attribute a
                                  ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
                                 WHERE x.indrelid = k.oid AND a.attname = '_batch')
              ORDER BY k.oid
    LOOP
        IF NOT c.is_default THEN
            EXECUTE pg_catalog.format('SELECT child_end_time FROM %I.show_partition_info(%L)',
                                      partman, @extschema@._qualified(c.part)) INTO ends;
            CONTINUE WHEN ends IS NULL OR ends > pg_catalog.now();
        END IF;
        EXECUTE pg_catalog.format('CREATE INDEX %I ON %s USING brin (_batch) WITH (autosummarize = on)',
                                  pg_catalog.left(c.relname, 50) || '_batch_brin', c.part);
        -- With statistics the planner sees that few rows, if any, pass
        -- refresh()'s batch range there, and uses the index.
        EXECUTE pg_catalog.format('ANALYZE %s', c.part);
        n := n + 1;
    END LOOP;
    -- A settled partition filled after its index was made (a backfill, a
    -- partition indexed while still empty): the index has not summarized
    -- the new blocks (autosummarize waits for autovacuum), so refresh()
    -- would read them all, and with statistics taken while it was empty
    -- the planner reads the partition whole. Summarized and analyzed here.
    FOR c IN SELECT s.relid::regclass AS part, x.indexrelid::regclass AS brin,
                    s.n_mod_since_analyze > 1000 + 0.2 * s.n_live_tup AS stale
               FROM pg_catalog.pg_stat_user_tables s
               JOIN pg_catalog.pg_inherits i ON i.inhrelid = s.relid
               JOIN pg_catalog.pg_index x ON x.indrelid = s.relid
               JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
               JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid
               JOIN pg_catalog.pg_am am ON am.oid = ic.relam
              WHERE i.inhparent = source AND a.attname = '_batch' AND am.amname = 'brin'
    LOOP
        PERFORM pg_catalog.brin_summarize_new_values(c.brin);
        IF c.stale THEN
            EXECUTE pg_catalog.format('ANALYZE %s', c.part);
        END IF;
    END LOOP;
    RETURN n;
END
$$;

-- ---------------------------------------------------------------------------
-- track()
-- ---------------------------------------------------------------------------

-- Takes a table PARTITION BY RANGE (time_column): adds the _batch column
-- (default: the writing transaction's batch number) and a BRIN index on
-- it, and hands its partitions to pg_partman (made ahead, a default
-- partition for strays, whole partitions dropped after the retention).
CREATE FUNCTION @extschema@.track(source regclass, time_column name DEFAULT 'event_time',
                                  partition_interval interval DEFAULT '1 day',
                                  retention interval DEFAULT '90 days',
                                  maintain_schedule text DEFAULT '30 3 * * *') RETURNS regclass
    -- No SET search_path: pg_partman's create_parent() saves the session's
    -- search_path and sets it back at session level, which would leave the
    -- caller's session with this function's. Everything below is qualified.
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_variable
DECLARE
    pt record;
    seq regclass;
    seq_name text;
    nsp name;
    partman name;
    managed boolean;
BEGIN
    IF source IS NULL OR time_column IS NULL OR partition_interval IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'track(): source, time_column and partition_interval are required';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.tracked x WHERE x.source = source) THEN
        RETURN source;
    END IF;
    IF NOT pg_catalog.pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = source), 'USAGE') THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = pg_catalog.format('must be owner of table %s', source);
    END IF;
    SELECT * INTO pt FROM pg_catalog.pg_partitioned_table p WHERE p.partrelid = source;
    IF NOT FOUND OR pt.partstrat <> 'r' OR pt.partnatts <> 1
       OR pt.partattrs[0] <> (SELECT a.attnum FROM pg_catalog.pg_attribute a WHERE a.attrelid = source AND a.attname = time_column) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB503',
            MESSAGE = pg_catalog.format('%s is not PARTITION BY RANGE (%I)', source, time_column),
            HINT = 'analytics.create_events_table() makes one; an existing table has to be re-created partitioned.';
    END IF;
    IF @extschema@._column_type(source, time_column) <> 'timestamptz'::regtype THEN
        RAISE EXCEPTION USING ERRCODE = 'KB503',
            MESSAGE = pg_catalog.format('column %I of %s is %s, not timestamptz', time_column, source,
                             @extschema@._column_type(source, time_column));
    END IF;
    IF partition_interval < interval '1 hour' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'track(): partition_interval must be at least 1 hour';
    END IF;
    IF retention IS NOT NULL AND retention < partition_interval THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'track(): retention must be at least one partition_interval';
    END IF;
    partman := @extschema@._schema_of('pg_partman');

    -- The batch sequence: one per table, owned by its _batch column (so it
    -- goes with the table; analytics._batch() takes no other). No cache:
    -- its last value is the watermark.
    IF @extschema@._column_type(source, '_batch') IS NULL THEN
        -- Rows already there keep NULL: the first refresh folds them.
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN _batch bigint', source);
    END IF;
    SELECT n.nspname, pg_catalog.left(c.relname, 50) || '_batches' INTO nsp, seq_name
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source;
    EXECUTE pg_catalog.format('CREATE SEQUENCE %I.%I AS bigint NO CYCLE CACHE 1 OWNED BY %s._batch', nsp, seq_name, source);
    seq := pg_catalog.format('%I.%I', nsp, seq_name)::regclass;
    EXECUTE pg_catalog.format('GRANT USAGE ON SEQUENCE %s TO PUBLIC', seq);
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN _batch SET DEFAULT @extschema@._batch(%L::regclass)', source, seq);

    -- Partitions: pg_partman makes them ahead (premake 4, also while no
    -- event arrives) and a default partition for strays; retention drops
    -- whole partitions (analytics.maintain(), daily).
    IF partman IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'KB503', MESSAGE = 'track() needs pg_partman',
            HINT = 'CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman;';
    END IF;
    EXECUTE pg_catalog.format('SELECT count(*) > 0 FROM %I.part_config WHERE parent_table = %L', partman, @extschema@._qualified(source))
        INTO managed;
    IF NOT managed THEN
        PERFORM @extschema@._partman(pg_catalog.format(
            'SELECT %I.create_parent(p_parent_table := %L, p_control := %L, p_type := ''native'', '
            'p_interval := %L, p_premake := 4)', partman, @extschema@._qualified(source), time_column, partition_interval::text));
    END IF;
    EXECUTE pg_catalog.format('UPDATE %I.part_config SET infinite_time_partitions = true, retention = %L, '
                   'retention_keep_table = false, retention_keep_index = false WHERE parent_table = %L',
                   partman, retention::text, @extschema@._qualified(source));
    INSERT INTO @extschema@.tracked (source, time_column, batch_sequence, partition_interval, retention, partman_parent)
    VALUES (source, time_column, seq, partition_interval, retention, @extschema@._qualified(source));
    PERFORM @extschema@._index_settled_partitions(source);
    -- Upkeep and retention through pg_cron, as this role (the job names the
    -- table by oid: it survives a rename).
    PERFORM @extschema@._schedule_job('analytics-maintain ' || source::oid, maintain_schedule,
                                      pg_catalog.format('SELECT @extschema@.maintain(%s::regclass)', source::oid));
    RETURN source;
END
$$;

-- ---------------------------------------------------------------------------
-- create_rollup()
-- ---------------------------------------------------------------------------

-- Column lists of a rollup's tables: dimensions (with a trailing comma when
-- there are any; alias '' for bare names), then the measures. Sums are
-- s_1..s_n and percentiles p_1..p_n, in the order of the definition.
CREATE FUNCTION @extschema@._dims(r @extschema@.rollups, alias text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT coalesce(string_agg(CASE WHEN alias = '' THEN '' ELSE alias || '.' END || quote_ident(d), ', ' ORDER BY o), '')
              || CASE WHEN cardinality(r.dimensions) > 0 THEN ', ' ELSE '' END
          FROM unnest(r.dimensions) WITH ORDINALITY u(d, o) $$;

-- The measure columns' merge of an upsert (target alias t, EXCLUDED) or of
-- an aggregate over rollup rows (alias x); per kind: events, users, sums,
-- percentiles.
CREATE FUNCTION @extschema@._merge_set(r @extschema@.rollups) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    hll name := @extschema@._schema_of('hll');
    td name := @extschema@._schema_of('tdigest');
    out text := 'events = t.events + EXCLUDED.events';
BEGIN
    IF r.distinct_column IS NOT NULL THEN
        out := out || format(', users = %I.hll_union(t.users, EXCLUDED.users)', hll);
    END IF;
    FOR i IN 1 .. cardinality(r.sums) LOOP
        out := out || format(', s_%1$s = CASE WHEN t.s_%1$s IS NULL THEN EXCLUDED.s_%1$s WHEN EXCLUDED.s_%1$s IS NULL '
                             'THEN t.s_%1$s ELSE t.s_%1$s + EXCLUDED.s_%1$s END', i);
    END LOOP;
    FOR i IN 1 .. cardinality(r.percentiles) LOOP
        out := out || format(', p_%1$s = CASE WHEN t.p_%1$s IS NULL THEN EXCLUDED.p_%1$s WHEN EXCLUDED.p_%1$s IS NULL '
                             'THEN t.p_%1$s ELSE %2$I.tdigest_union(t.p_%1$s, EXCLUDED.p_%1$s) END', i, td);
    END LOOP;
    RETURN out;
END
$$;

-- Aggregates that merge rollup rows (alias x) into one: used for the
-- daily level (from the hourly delta) and by series().
CREATE FUNCTION @extschema@._merge_aggs(r @extschema@.rollups, alias text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    hll name := @extschema@._schema_of('hll');
    td name := @extschema@._schema_of('tdigest');
    out text := format('sum(%s.events)::bigint AS events', alias);
BEGIN
    IF r.distinct_column IS NOT NULL THEN
        out := out || format(', %I.hll_union_agg(%s.users) AS users', hll, alias);
    END IF;
    FOR i IN 1 .. cardinality(r.sums) LOOP
        out := out || format(', sum(%s.s_%s) AS s_%2$s', alias, i);
    END LOOP;
    FOR i IN 1 .. cardinality(r.percentiles) LOOP
        out := out || format(', %I.tdigest(%s.p_%s) AS p_%3$s', td, alias, i);
    END LOOP;
    RETURN out;
END
$$;

-- Aggregates over raw rows (alias e) of the source: the hourly delta of a
-- refresh, and series()'s not yet folded tail.
CREATE FUNCTION @extschema@._raw_aggs(r @extschema@.rollups, alias text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    hll name := @extschema@._schema_of('hll');
    td name := @extschema@._schema_of('tdigest');
    out text := 'count(*)::bigint AS events';
BEGIN
    IF r.distinct_column IS NOT NULL THEN
        out := out || format(', coalesce(%1$I.hll_add_agg(%1$I.hll_hash_any(%2$s.%3$I), %4$s), %1$I.hll_empty(%4$s)) AS users',
                             hll, alias, r.distinct_column, r.hll_log2m);
    END IF;
    FOR i IN 1 .. cardinality(r.sums) LOOP
        out := out || format(', sum(%s) AS s_%s', @extschema@._measure(r.source, r.sums[i], alias), i);
    END LOOP;
    FOR i IN 1 .. cardinality(r.percentiles) LOOP
        out := out || format(', %I.tdigest((%s)::float8, 100) AS p_%s', td,
                             @extschema@._measure(r.source, r.percentiles[i], alias), i);
    END LOOP;
    RETURN out;
END
$$;

CREATE FUNCTION @extschema@._measure_columns(r @extschema@.rollups) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT 'events' || CASE WHEN r.distinct_column IS NOT NULL THEN ', users' ELSE '' END
        || coalesce((SELECT string_agg(', s_' || i, '' ORDER BY i) FROM generate_subscripts(r.sums, 1) i), '')
        || coalesce((SELECT string_agg(', p_' || i, '' ORDER BY i) FROM generate_subscripts(r.percentiles, 1) i), '')
$$;

-- "bucket, d1, d2": the unique key of a rollup's tables.
CREATE FUNCTION @extschema@._key_list(r @extschema@.rollups) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT 'bucket' || coalesce(string_agg(', ' || quote_ident(d), '' ORDER BY o), '')
          FROM unnest(r.dimensions) WITH ORDINALITY u(d, o) $$;

-- "1, 2, ..." for GROUP BY / ORDER BY: the bucket, then each dimension.
CREATE FUNCTION @extschema@._group_positions(r @extschema@.rollups) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT string_agg(o::text, ', ' ORDER BY o) FROM generate_series(1, 1 + cardinality(r.dimensions)) o $$;

CREATE FUNCTION @extschema@.create_rollup(name text, source regclass, dimensions text[],
                                          distinct_column name DEFAULT NULL, sums text[] DEFAULT '{}',
                                          percentiles text[] DEFAULT '{}', hll_log2m integer DEFAULT 12,
                                          refresh_schedule text DEFAULT '* * * * *')
    RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_variable
DECLARE
    t @extschema@.tracked;
    r @extschema@.rollups;
    nsp name;
    cols text := 'bucket timestamptz NOT NULL';
    keys text;
    d text;
    typ regtype;
    hll name := @extschema@._schema_of('hll');
    td name := @extschema@._schema_of('tdigest');
    level text;
BEGIN
    IF name IS NULL OR source IS NULL OR dimensions IS NULL OR sums IS NULL OR percentiles IS NULL OR hll_log2m IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'create_rollup(): arguments must not be NULL (distinct_column may)';
    END IF;
    IF name !~ '^[a-z][a-z0-9_]{0,39}$' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('rollup name %L is not valid', name),
            DETAIL = 'A lower-case letter, then up to 39 lower-case letters, digits or underscores.';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.rollups x WHERE x.name = name) THEN
        RAISE EXCEPTION USING ERRCODE = 'KB506', MESSAGE = format('a rollup named %L exists', name);
    END IF;
    t := @extschema@._tracked(source);
    PERFORM @extschema@._must_own(t.owner, 'table ' || source::text);
    IF hll_log2m NOT BETWEEN 4 AND 17 THEN
        RAISE EXCEPTION USING ERRCODE = 'KB510', MESSAGE = format('hll_log2m %s is out of range', hll_log2m),
            DETAIL = 'The HLL precision is 4 to 17 (2^log2m registers; 12: about 1.6 % standard error, 2.5 kB).';
    END IF;
    IF cardinality(dimensions) > 8 OR cardinality(sums) > 16 OR cardinality(percentiles) > 8 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'create_rollup(): at most 8 dimensions, 16 sums and 8 percentiles';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(dimensions) x) <> cardinality(dimensions) THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'create_rollup(): a dimension is named twice';
    END IF;
    FOREACH d IN ARRAY dimensions LOOP
        typ := @extschema@._column_type(source, d);
        IF typ IS NULL OR d IN (t.time_column, '_batch') THEN
            RAISE EXCEPTION USING ERRCODE = 'KB507', MESSAGE = format('%s has no dimension column %I', source, d);
        END IF;
        IF typ IN ('jsonb'::regtype, 'json'::regtype) THEN
            RAISE EXCEPTION USING ERRCODE = 'KB507', MESSAGE = format('dimension %I is %s: not groupable as a key', d, typ);
        END IF;
        cols := cols || format(', %I %s', d, typ);
    END LOOP;
    IF distinct_column IS NOT NULL AND @extschema@._column_type(source, distinct_column) IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'KB507', MESSAGE = format('%s has no column %I to count distinct', source, distinct_column);
    END IF;
    r := ROW(name, source, dimensions::name[], distinct_column, sums, percentiles, hll_log2m, source, source,
             0, NULL, 0, current_user, now(), NULL)::@extschema@.rollups;
    -- Every measure resolves (KB507 otherwise) before anything is created.
    PERFORM @extschema@._raw_aggs(r, 'e');
    cols := cols || ', events bigint NOT NULL';
    IF distinct_column IS NOT NULL THEN
        cols := cols || format(', users %I.hll', hll);
    END IF;
    FOR i IN 1 .. cardinality(sums) LOOP
        cols := cols || format(', s_%s numeric', i);
    END LOOP;
    FOR i IN 1 .. cardinality(percentiles) LOOP
        cols := cols || format(', p_%s %I.tdigest', i, td);
    END LOOP;
    keys := @extschema@._key_list(r);
    SELECT c.relnamespace::regnamespace::name INTO nsp FROM pg_class c WHERE c.oid = source;
    FOREACH level IN ARRAY ARRAY['hourly', 'daily'] LOOP
        EXECUTE format('CREATE TABLE %I.%I (%s, CONSTRAINT %I UNIQUE NULLS NOT DISTINCT (%s))',
                       nsp, name || '_' || level, cols, name || '_' || level || '_key', keys);
    END LOOP;
    r.hourly := format('%I.%I', nsp, name || '_hourly')::regclass;
    r.daily := format('%I.%I', nsp, name || '_daily')::regclass;
    r.fold_sql := @extschema@._fold_sql(r, t.time_column);
    INSERT INTO @extschema@.rollups SELECT r.*;
    PERFORM @extschema@._schedule_job('analytics-refresh ' || name, refresh_schedule,
                                      format('SELECT @extschema@.refresh(%L)', name));
    RETURN name;
END
$$;

-- ---------------------------------------------------------------------------
-- refresh()
-- ---------------------------------------------------------------------------

-- Folds every committed row not yet folded into the hourly level, and the
-- same hourly delta into the daily level (merged, never from raw rows);
-- returns the number of rows folded. Concurrent refreshes of one rollup
-- queue on its registry row.
-- The fold statement of a rollup, made once by create_rollup() and kept in
-- rollups.fold_sql (refresh() runs in a new connection each minute under
-- pg_cron: building it there cost more than the fold of a minute's rows).
-- A format() template: %1$s the events table, %2$s the hourly and %3$s the
-- daily table (their names at the time of the refresh: renames are
-- followed), %4$s the batches to fold.
CREATE FUNCTION @extschema@._fold_sql(r @extschema@.rollups, time_column name) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN format($q$
        WITH delta AS (
            SELECT date_trunc('hour', e.%1$s, 'UTC') AS bucket, %2$s %3$s
              FROM %%1$s e
             WHERE %%4$s
             GROUP BY %4$s),
        hourly AS (
            INSERT INTO %%2$s AS t (bucket, %2$s %5$s)
            SELECT bucket, %6$s %5$s FROM delta e
            ON CONFLICT (%7$s) DO UPDATE SET %8$s
            RETURNING 1),
        daily AS (
            INSERT INTO %%3$s AS t (bucket, %2$s %5$s)
            SELECT date_trunc('day', x.bucket, 'UTC'), %9$s %10$s FROM delta x
             GROUP BY %4$s
            ON CONFLICT (%7$s) DO UPDATE SET %8$s
            RETURNING 1)
        SELECT coalesce(sum(events), 0)::bigint FROM delta$q$,
        replace(quote_ident(time_column), '%', '%%'),              -- 1
        replace(@extschema@._dims(r, ''), '%', '%%'),              -- 2: dimension names
        replace(@extschema@._raw_aggs(r, 'e'), '%', '%%'),         -- 3
        replace(@extschema@._group_positions(r), '%', '%%'),       -- 4
        replace(@extschema@._measure_columns(r), '%', '%%'),       -- 5
        replace(@extschema@._dims(r, 'e'), '%', '%%'),             -- 6
        replace(@extschema@._key_list(r), '%', '%%'),              -- 7
        replace(@extschema@._merge_set(r), '%', '%%'),             -- 8
        replace(@extschema@._dims(r, 'x'), '%', '%%'),             -- 9
        replace(@extschema@._merge_aggs(r, 'x'), '%', '%%'));      -- 10
END
$$;

-- No JIT (here and in series()): the batch range is a parameter, so the
-- planner estimates a third of the table and JIT compiles for seconds a
-- plan that runs for milliseconds (2.5 s of 2.6 s per series() call at 30
-- million events, before this setting). No parallel workers: a refresh
-- folds what came in since the last one, and starting workers cost more
-- than the fold (24 ms against 7 ms for an hour of 4,166 rows); a large
-- first fold after a backfill is slower for it (docs/analytics.md).
CREATE FUNCTION @extschema@.refresh(name text) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off SET max_parallel_workers_per_gather = 0
    AS $$
#variable_conflict use_variable
DECLARE
    r @extschema@.rollups;
    seq regclass;
    high bigint;
    n bigint;
    caller_role text;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'refresh(): name must not be NULL';
    END IF;
    SELECT * INTO r FROM @extschema@.rollups x WHERE x.name = name FOR UPDATE;
    IF NOT FOUND THEN
        -- KB505 when unknown (or not visible); visible to a reader, it is
        -- locked only by a role of the owner's: 42501.
        PERFORM @extschema@._must_own((@extschema@._rollup(name)).owner, 'rollup ' || name);
    END IF;
    -- Called by another role than the owner (a superuser's maintain(), a
    -- member of the owner's role): the rest runs as the owner, with the
    -- owner's rights only. The registry row, fold_sql included, is the
    -- owner's to write, and the rollup tables (and their triggers) are the
    -- owner's: nothing here may run with more rights than the owner has.
    -- Put back before each return below (an error undoes it with the
    -- transaction or subtransaction).
    IF current_user <> r.owner THEN
        caller_role := current_setting('role');
        PERFORM set_config('role', r.owner, true);
    END IF;
    SELECT t.batch_sequence INTO seq FROM @extschema@.tracked t WHERE t.source = r.source;
    -- 1. The last batch number handed out, 2. every writer that may hold
    -- one of them has ended (batches.hpp).
    high := coalesce(pg_sequence_last_value(seq), 0);
    PERFORM @extschema@._wait_for_writers(r.source);
    IF high <= r.watermark AND r.watermark > 0 THEN
        UPDATE @extschema@.rollups x SET refreshed_at = now() WHERE x.name = name;
        IF caller_role IS NOT NULL THEN
            PERFORM set_config('role', caller_role, true);
        END IF;
        RETURN 0;
    END IF;
    EXECUTE format(r.fold_sql, r.source, r.hourly, r.daily,
        -- The batches to fold, as constants (the BRIN indexes of the older
        -- partitions apply); the first refresh also takes the rows that
        -- were there before track() (_batch NULL).
        CASE WHEN r.watermark = 0 THEN format('e._batch <= %s OR e._batch IS NULL', high)
             ELSE format('e._batch > %s AND e._batch <= %s', r.watermark, high) END
    ) INTO n;
    UPDATE @extschema@.rollups x SET watermark = greatest(high, x.watermark), refreshed_at = now(),
                                     events_folded = x.events_folded + n
     WHERE x.name = name;
    IF caller_role IS NOT NULL THEN
        PERFORM set_config('role', caller_role, true);
    END IF;
    RETURN n;
END
$$;

-- ---------------------------------------------------------------------------
-- series()
-- ---------------------------------------------------------------------------

-- One row per bucket and dimension values between "from" and "to" (the
-- buckets that overlap them, whole; buckets are UTC): the rolled-up levels
-- plus the rows not yet folded, read in one snapshot, so a dashboard is
-- real time and counts each committed event once. bucket: hour (from the
-- hourly level), day or week (from the daily level). filter: {"dimension":
-- value, ...}, equality on the dimension's text form (null matches NULL).
-- uniques: HLL estimate (NULL without a distinct column); percentiles:
-- p50, p90, p95, p99 of each measure (t-digest).
CREATE FUNCTION @extschema@.series(name text, "from" timestamptz, "to" timestamptz, bucket text DEFAULT 'hour',
                                   filter jsonb DEFAULT NULL)
    RETURNS TABLE (bucket_start timestamptz, dimensions jsonb, events bigint, uniques bigint, sums jsonb,
                   percentiles jsonb)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
    AS $$
#variable_conflict use_variable
DECLARE
    r @extschema@.rollups;
    t @extschema@.tracked;
    hll name := @extschema@._schema_of('hll');
    td name := @extschema@._schema_of('tdigest');
    lo timestamptz;
    hi timestamptz;
    step interval;
    level regclass;
    k text;
    where_x text := '';
    where_e text := '';
    dims_obj text;
    sums_obj text;
    pcts_obj text;
    uniq text;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'series(): name must not be NULL';
    END IF;
    r := @extschema@._rollup(name);
    t := @extschema@._tracked(r.source);
    -- The registry row is the owner's to write, and series() runs as its
    -- caller (a dashboard role, a superuser): it reads only the owner's
    -- own plain tables, where a SELECT runs nothing of the owner's (a
    -- view in their place could run the owner's functions as the caller).
    IF EXISTS (SELECT FROM pg_catalog.pg_class c
                WHERE c.oid IN (r.hourly, r.daily, r.source)
                  AND (c.relowner IS DISTINCT FROM pg_catalog.to_regrole(r.owner)::oid
                       OR c.relkind <> CASE WHEN c.oid = r.source THEN 'p' ELSE 'r' END))
       OR (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.oid IN (r.hourly, r.daily, r.source)) <> 3 THEN
        RAISE EXCEPTION USING ERRCODE = 'KB511',
            MESSAGE = format('rollup %L does not name its owner''s own tables', name),
            DETAIL = 'Its registry row points at a table of another role, or at something other than a table.';
    END IF;
    IF "from" IS NULL OR "to" IS NULL OR "from" >= "to" OR NOT isfinite("from") OR NOT isfinite("to") THEN
        RAISE EXCEPTION USING ERRCODE = 'KB509',
            MESSAGE = 'series(): "from" must be before "to", both given and finite';
    END IF;
    CASE bucket
        WHEN 'hour' THEN step := interval '1 hour'; level := r.hourly;
        WHEN 'day' THEN step := interval '1 day'; level := r.daily;
        WHEN 'week' THEN step := interval '1 week'; level := r.daily;
        ELSE
            IF bucket IN ('microseconds', 'milliseconds', 'second', 'minute') THEN
                RAISE EXCEPTION USING ERRCODE = 'KB508',
                    MESSAGE = format('series(): bucket %L is finer than the rollup', bucket),
                    DETAIL = 'The finest level of a rollup is the hour.';
            END IF;
            RAISE EXCEPTION USING ERRCODE = 'KB508',
                MESSAGE = format('series(): bucket %L is not hour, day or week', bucket);
    END CASE;
    lo := date_trunc(bucket, "from", 'UTC');
    hi := date_trunc(bucket, "to", 'UTC');
    IF hi < "to" THEN
        hi := hi + step;
    END IF;
    IF extract(epoch FROM hi - lo) / extract(epoch FROM step) > 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'KB509', MESSAGE = 'series(): more than 100,000 buckets';
    END IF;
    IF filter IS NOT NULL THEN
        IF jsonb_typeof(filter) <> 'object' THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'series(): filter must be a JSON object';
        END IF;
        FOR k IN SELECT jsonb_object_keys(filter) LOOP
            IF NOT k = ANY (r.dimensions) THEN
                RAISE EXCEPTION USING ERRCODE = 'KB507',
                    MESSAGE = format('series(): %L is not a dimension of rollup %s', k, name),
                    DETAIL = format('Its dimensions: %s.', array_to_string(r.dimensions, ', '));
            END IF;
            IF jsonb_typeof(filter -> k) IN ('object', 'array') THEN
                RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('series(): filter value of %L must be a scalar', k);
            END IF;
            where_x := where_x || format(' AND x.%1$I::text IS NOT DISTINCT FROM ($3 ->> %2$L)', k, k);
            where_e := where_e || format(' AND e.%1$I::text IS NOT DISTINCT FROM ($3 ->> %2$L)', k, k);
        END LOOP;
    END IF;
    SELECT coalesce(string_agg(format('%L, a.%I', d, d), ', ' ORDER BY o), '')
      INTO dims_obj FROM unnest(r.dimensions) WITH ORDINALITY u(d, o);
    SELECT coalesce(string_agg(format('%L, sum(a.s_%s)', m, o), ', ' ORDER BY o), '')
      INTO sums_obj FROM unnest(r.sums) WITH ORDINALITY u(m, o);
    SELECT coalesce(string_agg(format('%1$L, (SELECT jsonb_build_object(''p50'', v[1], ''p90'', v[2], ''p95'', v[3], ''p99'', v[4]) '
                                      'FROM (SELECT %3$I.tdigest_percentile(a.p_%2$s, ARRAY[0.5, 0.9, 0.95, 0.99]) AS v) q)',
                                      m, o, td), ', ' ORDER BY o), '')
      INTO pcts_obj FROM unnest(r.percentiles) WITH ORDINALITY u(m, o);
    uniq := CASE WHEN r.distinct_column IS NOT NULL
                 THEN format('round(%I.hll_cardinality(%I.hll_union_agg(a.users)))::bigint', hll, hll) ELSE 'NULL::bigint' END;
    RETURN QUERY EXECUTE format($q$
        WITH w AS (SELECT x.watermark FROM @extschema@.rollups x WHERE x.name = $4),
        rolled AS (
            SELECT date_trunc(%1$L, x.bucket, 'UTC') AS b, %2$s %3$s
              FROM %4$s x
             WHERE x.bucket >= $1 AND x.bucket < $2 %5$s),
        tail AS (
            SELECT date_trunc(%1$L, e.%6$I, 'UTC') AS b, %7$s %8$s
              FROM %9$s e
             WHERE e._batch > (SELECT w.watermark FROM w)
               AND e.%6$I >= $1 AND e.%6$I < $2 %10$s
             GROUP BY %11$s
            UNION ALL
            -- Before the first refresh: the rows from before track().
            SELECT date_trunc(%1$L, e.%6$I, 'UTC') AS b, %7$s %8$s
              FROM %9$s e
             WHERE e._batch IS NULL AND (SELECT w.watermark FROM w) = 0
               AND e.%6$I >= $1 AND e.%6$I < $2 %10$s
             GROUP BY %11$s),
        a AS (SELECT * FROM rolled UNION ALL SELECT * FROM tail)
        SELECT a.b, jsonb_build_object(%12$s), sum(a.events)::bigint, %13$s,
               jsonb_build_object(%14$s), jsonb_build_object(%15$s)
          FROM a GROUP BY %11$s ORDER BY %11$s$q$,
        bucket,                                              -- 1
        @extschema@._dims(r, 'x'),                           -- 2
        @extschema@._measure_columns(r),                     -- 3
        level,                                               -- 4
        where_x,                                             -- 5
        t.time_column,                                       -- 6
        @extschema@._dims(r, 'e'),                           -- 7
        @extschema@._raw_aggs(r, 'e'),                       -- 8
        r.source,                                            -- 9
        where_e,                                             -- 10
        @extschema@._group_positions(r),
        dims_obj, uniq, sums_obj, pcts_obj)
    USING lo, hi, filter, name;
END
$$;

-- ---------------------------------------------------------------------------
-- The case study's events table, rollups' end, status
-- ---------------------------------------------------------------------------

-- Makes the case study's raw events table (with its primary key, event_time
-- first), partitioned by event_time, and tracks it.
-- No SET search_path: an unqualified name goes where the caller's CREATE
-- TABLE would put it (pg_catalog.current_schema()); everything else is qualified.
CREATE FUNCTION @extschema@.create_events_table(table_name text, partition_interval interval DEFAULT '1 day',
                                                retention interval DEFAULT '90 days',
                                                maintain_schedule text DEFAULT '30 3 * * *') RETURNS regclass
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_variable
DECLARE
    rel regclass;
    parts text[] := pg_catalog.parse_ident(table_name);
    qualified text;
BEGIN
    IF pg_catalog.cardinality(parts) NOT IN (1, 2) THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = pg_catalog.format('%L is not a table name', table_name);
    END IF;
    qualified := pg_catalog.format('%I.%I', CASE WHEN pg_catalog.cardinality(parts) = 2 THEN parts[1]
                                                 ELSE pg_catalog.current_schema() END, parts[pg_catalog.cardinality(parts)]);
    EXECUTE pg_catalog.format($t$CREATE TABLE %s (
            id pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY,
            event_time pg_catalog.timestamptz NOT NULL,
            event_type pg_catalog.varchar(50) NOT NULL,
            user_id pg_catalog.int8,
            properties pg_catalog.jsonb,
            PRIMARY KEY (event_time, id)
        ) PARTITION BY RANGE (event_time)$t$, qualified);
    rel := qualified::regclass;
    RETURN @extschema@.track(rel, 'event_time', partition_interval, retention, maintain_schedule);
END
$$;

CREATE FUNCTION @extschema@.drop_rollup(name text) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_variable
DECLARE
    r @extschema@.rollups := @extschema@._rollup(name);
BEGIN
    PERFORM @extschema@._must_own(r.owner, 'rollup ' || name);
    DELETE FROM @extschema@.rollups x WHERE x.name = name;
    PERFORM @extschema@._unschedule_job('analytics-refresh ' || name, r.owner);
    EXECUTE format('DROP TABLE %s, %s', r.hourly, r.daily);
    RETURN true;
END
$$;


-- ---------------------------------------------------------------------------
-- Partition upkeep and retention
-- ---------------------------------------------------------------------------

-- For each tracked table (or one): fold every rollup of it first, then let
-- pg_partman make partitions ahead and drop those past the retention
-- (whole partitions: the rollups keep their counts). Returns one row per
-- table: the events folded and the partitions after the upkeep. An event
-- older than the retention that arrives between the fold and the drop goes
-- with its partition, unfolded (docs/analytics.md).
CREATE FUNCTION @extschema@.maintain(source regclass DEFAULT NULL)
    RETURNS TABLE (tracked_table regclass, events_folded bigint, partitions integer, strays bigint)
    -- No SET search_path (see track()): pg_partman's run_maintenance()
    -- resets it at session level too.
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_variable
DECLARE
    t record;
    r record;
    partman name := @extschema@._schema_of('pg_partman');
BEGIN
    IF source IS NOT NULL THEN
        PERFORM @extschema@._must_own((@extschema@._tracked(source)).owner, 'table ' || source::text);
    END IF;
    -- maintain(): the tracked tables of this role (a dashboard role may see
    -- others', and cannot upkeep them).
    FOR t IN SELECT x.source FROM @extschema@.tracked x
              WHERE (source IS NULL AND pg_catalog.pg_has_role(current_user, x.owner, 'USAGE')) OR x.source = source
              ORDER BY x.source::text LOOP
        tracked_table := t.source;
        events_folded := 0;
        FOR r IN SELECT y.name FROM @extschema@.rollups y WHERE y.source = t.source ORDER BY y.name LOOP
            events_folded := events_folded + @extschema@.refresh(r.name);
        END LOOP;
        PERFORM @extschema@._partman(pg_catalog.format('SELECT %I.run_maintenance(p_parent_table := %L, p_analyze := false)',
                                                       partman, @extschema@._qualified(t.source)));
        PERFORM @extschema@._index_settled_partitions(t.source);
        SELECT count(*) INTO partitions FROM pg_catalog.pg_inherits i WHERE i.inhparent = t.source;
        strays := @extschema@._strays(t.source);
        RETURN NEXT;
    END LOOP;
END
$$;

-- The DEFAULT partition of a tracked table (pg_partman makes one).
CREATE FUNCTION @extschema@._default_partition(source regclass) RETURNS regclass
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT NULLIF(p.partdefid, 0)::regclass FROM pg_partitioned_table p WHERE p.partrelid = source $$;

-- Rows in the default partition (events outside every partition's range:
-- partman.partition_data_time() moves them into a partition made for them).
-- NULL for a role that may not read the default partition (a partition
-- has privileges of its own: SELECT on the table does not grant it).
CREATE FUNCTION @extschema@._strays(source regclass) RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    d regclass := @extschema@._default_partition(source);
    n bigint;
BEGIN
    IF d IS NULL THEN
        RETURN 0;
    END IF;
    IF NOT pg_catalog.has_table_privilege(d, 'SELECT') THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', d) INTO n;
    RETURN n;
END
$$;

-- Stops tracking a table: its rollups are dropped, pg_partman forgets it,
-- the _batch column and its sequence are dropped; the table and its rows
-- stay.
CREATE FUNCTION @extschema@.untrack(source regclass) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_variable
DECLARE
    t @extschema@.tracked := @extschema@._tracked(source);
    r record;
    owned boolean := @extschema@._must_own(t.owner, 'table ' || source::text);
    partman name := @extschema@._schema_of('pg_partman');
BEGIN
    FOR r IN SELECT y.name FROM @extschema@.rollups y WHERE y.source = t.source LOOP
        PERFORM @extschema@.drop_rollup(r.name);
    END LOOP;
    IF partman IS NOT NULL THEN
        EXECUTE pg_catalog.format('DELETE FROM %I.part_config WHERE parent_table = %L', partman, @extschema@._qualified(source));
    END IF;
    DELETE FROM @extschema@.tracked x WHERE x.source = t.source;
    PERFORM @extschema@._unschedule_job('analytics-maintain ' || t.source::oid, t.owner);
    EXECUTE pg_catalog.format('ALTER TABLE %s DROP COLUMN _batch', source);   -- its sequence and BRIN index with it
    RETURN true;
END
$$;

-- A tracked table dropped: the registry forgets it (its rollups' rows go
-- with it; the rollup tables stay, as plain tables) and so does pg_partman,
-- whose configuration is keyed by name and would otherwise apply to the
-- next table of that name. A rollup table dropped: its rollup is forgotten.
CREATE FUNCTION @extschema@._on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    o record;
    gone record;
    partman name := @extschema@._schema_of('pg_partman');
BEGIN
    FOR o IN SELECT d.objid, d.address_names FROM pg_event_trigger_dropped_objects() d
             WHERE d.object_type = 'table' AND NOT d.is_temporary
    LOOP
        -- The jobs go with what they refresh.
        FOR gone IN DELETE FROM @extschema@.rollups r
                     WHERE r.hourly::oid = o.objid OR r.daily::oid = o.objid OR r.source::oid = o.objid
                    RETURNING r.name, r.owner LOOP
            PERFORM @extschema@._unschedule_job('analytics-refresh ' || gone.name, gone.owner);
        END LOOP;
        IF EXISTS (SELECT FROM @extschema@.tracked t WHERE t.source::oid = o.objid) THEN
            FOR gone IN DELETE FROM @extschema@.tracked t WHERE t.source::oid = o.objid RETURNING t.owner LOOP
                PERFORM @extschema@._unschedule_job('analytics-maintain ' || o.objid, gone.owner);
            END LOOP;
            IF partman IS NOT NULL THEN
                EXECUTE format('DELETE FROM %I.part_config WHERE parent_table = %L', partman,
                               o.address_names[1] || '.' || o.address_names[2]);
            END IF;
        END IF;
    END LOOP;
END
$$;
CREATE EVENT TRIGGER analytics_sql_drop ON sql_drop EXECUTE FUNCTION @extschema@._on_sql_drop();

-- pg_cron jobs (since 0.2.0). The jobs this extension schedules are recorded
-- in cron_jobs, and DROP EXTENSION removes exactly those: a job of anybody
-- else's stays, whatever its name or command (docs/upgrading.md).
-------------------------------------------------------------------------------
-- A row matches a job on jobid, jobname and username together, so an id that
-- a re-created pg_cron hands out again is never taken for ours. parked holds
-- the job's cron.job row while a DROP command runs (see _cron_park).
CREATE TABLE @extschema@.cron_jobs (
    jobid    bigint PRIMARY KEY,
    jobname  text   NOT NULL,
    username text   NOT NULL,
    parked   jsonb
);
COMMENT ON TABLE @extschema@.cron_jobs IS
    'The pg_cron jobs this extension scheduled: DROP EXTENSION removes them, and only them.';

-- Schedules a job in this database as the current user and records it,
-- unless a job of that name exists for this user or in this database (ours
-- already, or somebody else's, which is left alone). Returns the job id, or
-- NULL when nothing was scheduled (no pg_cron here, or the name is taken).
CREATE FUNCTION @extschema@._cron_schedule(job_name text, job_schedule text, job_command text)
    RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM cron.job j
                WHERE j.jobname = job_name
                  AND (j.username = current_user OR j.database = current_database())) THEN
        RETURN NULL;
    END IF;
    id := cron.schedule(job_name, job_schedule, job_command);
    INSERT INTO @extschema@.cron_jobs (jobid, jobname, username) VALUES (id, job_name, current_user);
    RETURN id;
END
$fn$;

-- An extension's event triggers are dropped with it, before they could act
-- on its drop. So before every command that can drop the extension (DROP
-- EXTENSION, also of one it requires; DROP SCHEMA ... CASCADE; DROP OWNED)
-- its jobs are parked: taken out of cron.job and kept in cron_jobs.parked.
-- If the extension survives the command, its ddl_command_end trigger puts
-- them back (_cron_restore); if the command dropped it, they are gone with
-- it. A rollback undoes both.
CREATE FUNCTION @extschema@._cron_park() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    job record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.cron_jobs)
       OR NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RETURN;
    END IF;
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        WITH taken AS (
            DELETE FROM cron.job j USING @extschema@.cron_jobs c
             WHERE j.jobid = c.jobid AND j.jobname = c.jobname AND j.username = c.username
            RETURNING j.jobid, to_jsonb(j) AS job_row)
        UPDATE @extschema@.cron_jobs c SET parked = taken.job_row FROM taken WHERE c.jobid = taken.jobid;
    ELSIF has_schema_privilege('cron', 'USAGE')
          AND has_function_privilege(to_regprocedure('cron.unschedule(bigint)'), 'EXECUTE')
          AND has_function_privilege(to_regprocedure('cron.schedule(text,text,text)'), 'EXECUTE') THEN
        -- An owner without superuser may not write cron.job, and sees only
        -- its own jobs there: pg_cron lets it unschedule those, and schedule
        -- them again. (Without these rights it can do neither, by hand
        -- either: its jobs are left alone, and any DROP goes on.)
        FOR job IN SELECT c.jobid, to_jsonb(j) AS job_row
                     FROM @extschema@.cron_jobs c
                     JOIN cron.job j ON j.jobid = c.jobid AND j.jobname = c.jobname AND j.username = c.username
        LOOP
            PERFORM cron.unschedule(job.jobid);
            UPDATE @extschema@.cron_jobs SET parked = job.job_row WHERE jobid = job.jobid;
        END LOOP;
    END IF;
END
$fn$;

-- The extension survived a command that could have dropped it: its parked
-- jobs go back to cron.job.
CREATE FUNCTION @extschema@._cron_restore() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    job record;
    id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.cron_jobs WHERE parked IS NOT NULL) THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        -- The command dropped pg_cron and every job with it; the ids a
        -- re-created pg_cron hands out are not ours.
        DELETE FROM @extschema@.cron_jobs;
        RETURN;
    END IF;
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        -- The same rows, job ids included.
        INSERT INTO cron.job
        SELECT r.* FROM @extschema@.cron_jobs c, jsonb_populate_record(NULL::cron.job, c.parked) r
         WHERE c.parked IS NOT NULL
        ON CONFLICT DO NOTHING;
        UPDATE @extschema@.cron_jobs SET parked = NULL WHERE parked IS NOT NULL;
    ELSE
        -- Scheduled again through pg_cron, under a new job id.
        FOR job IN SELECT c.jobid, c.parked FROM @extschema@.cron_jobs c WHERE c.parked IS NOT NULL LOOP
            id := cron.schedule(job.parked ->> 'jobname', job.parked ->> 'schedule', job.parked ->> 'command');
            UPDATE @extschema@.cron_jobs SET jobid = id, parked = NULL WHERE jobid = job.jobid;
            IF (job.parked ->> 'active') = 'false' THEN
                BEGIN
                    PERFORM cron.alter_job(id, active => false);
                EXCEPTION WHEN insufficient_privilege OR undefined_function THEN
                    RAISE WARNING 'pg_cron job % (id %) of extension analytics is active again', job.parked ->> 'jobname', id
                        USING DETAIL = 'It was inactive, and the extension''s owner may not call cron.alter_job.',
                              HINT = pg_catalog.format('A superuser can run: SELECT cron.alter_job(%s, active => false)', id);
                END;
            END IF;
        END LOOP;
    END IF;
END
$fn$;

CREATE EVENT TRIGGER analytics_cron_park ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@._cron_park();
CREATE EVENT TRIGGER analytics_cron_restore ON ddl_command_end
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@._cron_restore();
-- Also under session_replication_role = replica: the two fire together or
-- not at all.
ALTER EVENT TRIGGER analytics_cron_park ENABLE ALWAYS;
ALTER EVENT TRIGGER analytics_cron_restore ENABLE ALWAYS;

-- Unlike the other casebook extensions', analytics' jobs are scheduled by
-- the roles that track tables and create rollups (each job runs as the role
-- that owns what it refreshes): a role sees and records only its own jobs.
ALTER TABLE @extschema@.cron_jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_jobs ON @extschema@.cron_jobs
    USING (pg_catalog.pg_has_role(current_user, username, 'USAGE'))
    WITH CHECK (username OPERATOR(pg_catalog.=) current_user);
GRANT SELECT, INSERT, DELETE ON @extschema@.cron_jobs TO PUBLIC;

-- Schedules one of analytics' jobs as the current role: NULL (no job) when
-- schedule is NULL or pg_cron is not installed in this database; a NOTICE
-- says why when pg_cron is here but the job could not be made.
CREATE FUNCTION @extschema@._schedule_job(job_name text, schedule text, command text) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    id bigint;
BEGIN
    IF schedule IS NULL OR NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RETURN NULL;
    END IF;
    IF NOT has_schema_privilege('cron', 'USAGE')
       OR NOT has_function_privilege(to_regprocedure('cron.schedule(text,text,text)'), 'EXECUTE') THEN
        RAISE NOTICE 'pg_cron job % not scheduled: role % may not use pg_cron', job_name, current_user
            USING HINT = 'GRANT USAGE ON SCHEMA cron TO the role, or call analytics.refresh() and maintain() from a scheduler of your own.';
        RETURN NULL;
    END IF;
    id := @extschema@._cron_schedule(job_name, schedule, command);
    IF id IS NULL THEN
        RAISE NOTICE 'pg_cron job % not scheduled: a job of that name exists', job_name
            USING HINT = 'Its schedule stands; analytics does not take it over or remove it.';
    END IF;
    RETURN id;
END
$fn$;

-- Removes one of analytics' jobs (the one recorded under that name for that
-- role); true when there was one. A role without superuser removes only its
-- own jobs through pg_cron; a job of another role is left with a WARNING.
CREATE FUNCTION @extschema@._unschedule_job(job_name text, job_user name) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    job record;
BEGIN
    SELECT * INTO job FROM @extschema@.cron_jobs c WHERE c.jobname = job_name AND c.username = job_user;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
            DELETE FROM cron.job j WHERE j.jobid = job.jobid AND j.jobname = job.jobname AND j.username = job.username;
        ELSIF job.username = current_user THEN
            IF EXISTS (SELECT FROM cron.job j WHERE j.jobid = job.jobid AND j.jobname = job.jobname) THEN
                PERFORM cron.unschedule(job.jobid);
            END IF;
        ELSE
            RAISE WARNING 'pg_cron job % (id %) of role % stays scheduled', job.jobname, job.jobid, job.username
                USING HINT = format('Role %s or a superuser can run: SELECT cron.unschedule(%s)', job.username, job.jobid);
        END IF;
    END IF;
    DELETE FROM @extschema@.cron_jobs c WHERE c.jobid = job.jobid;
    RETURN true;
END
$fn$;

-- A job's state for the status view (pg_cron may be absent: dynamic SQL).
CREATE FUNCTION @extschema@._job_state(job_name text, job_user name,
                                       OUT job text, OUT schedule text, OUT active boolean,
                                       OUT last_run timestamptz, OUT last_status text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.cron_jobs c WHERE c.jobname = job_name AND c.username = job_user)
       OR NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron')
       OR NOT has_schema_privilege('cron', 'USAGE') THEN
        RETURN;
    END IF;
    EXECUTE $q$
        SELECT j.jobname::text, j.schedule::text, j.active, d.start_time, d.status::text
          FROM @extschema@.cron_jobs c
          JOIN cron.job j ON j.jobid = c.jobid AND j.jobname = c.jobname AND j.username = c.username
          LEFT JOIN LATERAL (SELECT x.start_time, x.status FROM cron.job_run_details x
                              WHERE x.jobid = j.jobid ORDER BY x.runid DESC LIMIT 1) d ON true
         WHERE c.jobname = $1 AND c.username = $2$q$
        INTO job, schedule, active, last_run, last_status USING job_name, job_user;
END
$fn$;

-- A tracked table renamed or moved to another schema: pg_partman's
-- configuration, keyed by name, follows it (otherwise its upkeep would stop
-- with "not managed by pg_partman").
CREATE FUNCTION @extschema@._on_alter_table() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t record;
    partman name := @extschema@._schema_of('pg_partman');
BEGIN
    IF partman IS NULL THEN
        RETURN;
    END IF;
    FOR t IN SELECT x.source, x.partman_parent, @extschema@._qualified(x.source) AS named
               FROM @extschema@.tracked x
              WHERE x.source::oid IN (SELECT c.objid FROM pg_event_trigger_ddl_commands() c
                                       WHERE c.classid = 'pg_class'::regclass)
    LOOP
        CONTINUE WHEN t.named = t.partman_parent;
        -- Only a configuration left without its table: a registry row's
        -- partman_parent is written by its owner, and must not move another
        -- table's configuration onto this one.
        EXECUTE format('UPDATE %I.part_config SET parent_table = %L WHERE parent_table = %L AND to_regclass(parent_table) IS NULL',
                       partman, t.named, t.partman_parent);
        UPDATE @extschema@.tracked x SET partman_parent = t.named WHERE x.source = t.source;
    END LOOP;
END
$$;
CREATE EVENT TRIGGER analytics_alter_table ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION @extschema@._on_alter_table();

-- Each rollup: how far it is folded and what is waiting.
CREATE VIEW @extschema@.status WITH (security_invoker = true) AS
SELECT r.name, r.source, r.watermark,
       coalesce(pg_catalog.pg_sequence_last_value(t.batch_sequence), 0) OPERATOR(pg_catalog.-) r.watermark AS batches_waiting,
       r.refreshed_at, pg_catalog.now() OPERATOR(pg_catalog.-) r.refreshed_at AS lag, r.events_folded,
       @extschema@._strays(r.source) AS strays,
       rj.job AS refresh_job, rj.schedule AS refresh_schedule, rj.active AS refresh_active,
       rj.last_run AS refresh_last_run, rj.last_status AS refresh_last_status,
       mj.job AS maintain_job, mj.schedule AS maintain_schedule, mj.active AS maintain_active,
       mj.last_run AS maintain_last_run, mj.last_status AS maintain_last_status
  FROM @extschema@.rollups r JOIN @extschema@.tracked t ON t.source OPERATOR(pg_catalog.=) r.source
  CROSS JOIN LATERAL @extschema@._job_state('analytics-refresh ' OPERATOR(pg_catalog.||) r.name, r.owner) rj
  CROSS JOIN LATERAL @extschema@._job_state('analytics-maintain ' OPERATOR(pg_catalog.||) t.source::oid, t.owner) mj;
GRANT SELECT ON @extschema@.status TO PUBLIC;
