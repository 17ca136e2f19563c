-- eventstore 0.2.0: casebook case study 5 (event sourcing).
\echo Use "CREATE EXTENSION eventstore" to load this file. \quit

-- Fails with KB001 unless the library is in shared_preload_libraries, and
-- makes a re-created extension reload its position counter.
CREATE FUNCTION @extschema@._prepare_install() RETURNS void
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'eventstore_prepare_install';
SELECT @extschema@._prepare_install();
DROP FUNCTION @extschema@._prepare_install();

-- ---------------------------------------------------------------------------
-- Store
-- ---------------------------------------------------------------------------

-- Raw INSERTs by the owner get positions from the same gap-free allocator
-- that append() uses.
CREATE FUNCTION @extschema@._next_position() RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_next_position';

-- The layout is chosen once, at CREATE EXTENSION, by the setting
-- eventstore.partition_positions: 0 (the default) = one table; n > 0 = range
-- partitions of n positions each, created and kept ahead by pg_partman
-- through eventstore.manage_partitions() (docs/eventstore.md, Storage).
CREATE TABLE @extschema@.storage_layout (
    partition_positions bigint NOT NULL CHECK (partition_positions >= 0),
    only_row boolean NOT NULL DEFAULT true PRIMARY KEY CHECK (only_row)
);
INSERT INTO @extschema@.storage_layout (partition_positions)
    VALUES (coalesce(nullif(current_setting('eventstore.partition_positions', true), ''), '0')::bigint);
COMMENT ON TABLE @extschema@.storage_layout IS
    'How eventstore.events is stored: 0 = one table, n = range partitions of n positions (set at CREATE EXTENSION).';

DO $install$
DECLARE
    columns constant text := $columns$
    position       bigint      NOT NULL DEFAULT @extschema@._next_position(),
    -- Names compare bytewise (COLLATE "C"): they are identifiers, and the
    -- index inserts of every append then compare with memcmp, not strcoll.
    stream_id      text        COLLATE "C" NOT NULL,
    version        bigint      NOT NULL CONSTRAINT events_version_check CHECK (version > 0),
    event_id       uuid        NOT NULL,
    event_type     text        COLLATE "C" NOT NULL,
    schema_version integer     NOT NULL DEFAULT 1,
    event_data     jsonb       NOT NULL,
    -- {"subject": ..., "fields": [...]} when personal fields are sealed
    -- (crypto-shredding); NULL otherwise.
    personal       jsonb,
    metadata       jsonb       NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    category       text        COLLATE "C" NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (position)
    $columns$;
BEGIN
    IF (SELECT partition_positions FROM @extschema@.storage_layout) = 0 THEN
        EXECUTE 'CREATE TABLE @extschema@.events (' || columns || ',
            -- Stream replay; also the optimistic-concurrency backstop.
            CONSTRAINT events_stream_version_key UNIQUE (stream_id, version),
            CONSTRAINT events_event_id_key UNIQUE (event_id))';
    ELSE
        -- A unique index of a partitioned table must contain the partition
        -- key: (stream_id, version) and event_id are unique through
        -- append's stream and event-id locks instead (docs/eventstore.md).
        EXECUTE 'CREATE TABLE @extschema@.events (' || columns || ') PARTITION BY RANGE (position)';
        EXECUTE 'CREATE INDEX events_stream_version_key ON @extschema@.events (stream_id, version)';
        EXECUTE 'CREATE INDEX events_event_id_key ON @extschema@.events (event_id)';
    END IF;
END
$install$;
-- Category reads and category subscriptions, in global order.
CREATE INDEX events_category_position_idx ON @extschema@.events (category, position);
COMMENT ON TABLE @extschema@.events IS
    'Append-only event log. Write with eventstore.append(); read with read_stream/read_category/read_all.';

-- The durable reserve of global positions (docs/eventstore.md, "Positions
-- across restarts"): the highest position append may hand out. append
-- raises it ahead of the positions it takes (and flushes it to the WAL
-- first); it is never lowered, so no restart or crash hands a position out
-- twice. Not for anybody else's use: nothing is granted on it.
CREATE SEQUENCE @extschema@.position_reserve AS bigint MINVALUE 0 START 0 NO CYCLE;
COMMENT ON SEQUENCE @extschema@.position_reserve IS
    'Durable reserve mark of global positions, raised by append (never lowered); see docs/eventstore.md.';

-- The row every read returns.
CREATE TYPE @extschema@.event AS (
    position       bigint,
    stream_id      text,
    version        bigint,
    event_id       uuid,
    event_type     text,
    schema_version integer,
    event_data     jsonb,
    metadata       jsonb,
    created_at     timestamptz,
    category       text
);

-- What poll returns: the member the event belongs to, then the event.
CREATE TYPE @extschema@.delivery AS (
    member         integer,
    position       bigint,
    stream_id      text,
    version        bigint,
    event_id       uuid,
    event_type     text,
    schema_version integer,
    event_data     jsonb,
    metadata       jsonb,
    created_at     timestamptz,
    category       text
);

-- Append-only: UPDATE, DELETE and TRUNCATE are refused (KB207), also under
-- session_replication_role = replica.
CREATE FUNCTION @extschema@._append_only() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'eventstore_append_only';
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON @extschema@.events
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON @extschema@.events
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._append_only();
ALTER TABLE @extschema@.events ENABLE ALWAYS TRIGGER events_append_only;
ALTER TABLE @extschema@.events ENABLE ALWAYS TRIGGER events_no_truncate;
-- Partitions: statement triggers fire only for statements that name the
-- parent. A row trigger is cloned onto every partition, present and future,
-- so UPDATE and DELETE naming a partition are refused too; TRUNCATE of a
-- partition is refused by a trigger that manage_partitions() puts on each.
DO $install$
BEGIN
    IF (SELECT partition_positions FROM @extschema@.storage_layout) > 0 THEN
        CREATE TRIGGER events_append_only_rows BEFORE UPDATE OR DELETE ON @extschema@.events
            FOR EACH ROW EXECUTE FUNCTION @extschema@._append_only();
        ALTER TABLE @extschema@.events ENABLE ALWAYS TRIGGER events_append_only_rows;
    END IF;
END
$install$;

CREATE FUNCTION @extschema@.append(stream text, events jsonb, expected_version bigint DEFAULT NULL,
                                   category text DEFAULT NULL) RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_append';
COMMENT ON FUNCTION @extschema@.append(text, jsonb, bigint, text) IS
    'Appends events atomically; expected_version NULL = any, 0 = new stream, n = exactly n. Returns the new stream version.';

CREATE FUNCTION @extschema@.read_stream(stream text, from_version bigint DEFAULT NULL,
                                        max bigint DEFAULT 1000, backward boolean DEFAULT false)
    RETURNS SETOF @extschema@.event
    LANGUAGE c STABLE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_read_stream';

CREATE FUNCTION @extschema@.read_category(category text, after_position bigint DEFAULT 0,
                                          max bigint DEFAULT 1000)
    RETURNS SETOF @extschema@.event
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_read_category';

CREATE FUNCTION @extschema@.read_all(after_position bigint DEFAULT 0, max bigint DEFAULT 1000)
    RETURNS SETOF @extschema@.event
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_read_all';

CREATE FUNCTION @extschema@.head() RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_head';
COMMENT ON FUNCTION @extschema@.head() IS
    'The last readable global position: every event at or below it is committed (or will never be).';

-- ---------------------------------------------------------------------------
-- Subscriptions
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.subscriptions (
    name       text        PRIMARY KEY,
    category   text,
    members    integer     NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE @extschema@.subscription_checkpoints (
    subscription text        NOT NULL REFERENCES @extschema@.subscriptions (name) ON DELETE CASCADE,
    member       integer     NOT NULL,
    position     bigint      NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT '-infinity',
    PRIMARY KEY (subscription, member)
);

CREATE FUNCTION @extschema@.subscribe(name text, category text DEFAULT NULL, members bigint DEFAULT 1,
                                      start_after bigint DEFAULT 0) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_subscribe';

CREATE FUNCTION @extschema@.unsubscribe(name text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_unsubscribe';

CREATE FUNCTION @extschema@.poll(name text, max bigint DEFAULT 100, member bigint DEFAULT NULL)
    RETURNS SETOF @extschema@.delivery
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_poll';

CREATE FUNCTION @extschema@.ack(name text, "position" bigint, member bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_ack';

-- Progress of every subscription member.
CREATE VIEW @extschema@.subscription_status AS
SELECT c.subscription, c.member, s.members, s.category, c.position AS checkpoint,
       h.head, h.head - c.position AS positions_behind, c.updated_at AS last_poll_or_ack
  FROM @extschema@.subscription_checkpoints c
  JOIN @extschema@.subscriptions s ON s.name = c.subscription
 CROSS JOIN (SELECT @extschema@.head() AS head) h;

-- ---------------------------------------------------------------------------
-- Definitions cached per backend (projections, upcasters): every change
-- invalidates the caches when its transaction commits.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@._invalidate() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'eventstore_invalidate';

-- ---------------------------------------------------------------------------
-- Upcasters: (event type, schema version) -> next version, applied on every
-- read and replay. Stored events never change.
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.upcasters (
    event_type   text         NOT NULL,
    from_version integer      NOT NULL CHECK (from_version > 0),
    spec         jsonb,
    function     regprocedure,
    owner        regrole      NOT NULL,
    created_at   timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (event_type, from_version),
    CHECK ((spec IS NULL) <> (function IS NULL))
);
CREATE TRIGGER upcasters_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.upcasters
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._invalidate();

CREATE FUNCTION @extschema@.register_upcaster(event_type text, from_version bigint, spec jsonb DEFAULT NULL,
                                              function regprocedure DEFAULT NULL) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_register_upcaster';

-- ---------------------------------------------------------------------------
-- Projections
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.projections (
    name           text         PRIMARY KEY,
    category       text,
    reducer        jsonb,
    apply_function regprocedure,
    owner          regrole      NOT NULL,
    initial_state  jsonb        NOT NULL DEFAULT '{}',
    mode           text         NOT NULL CHECK (mode IN ('inline', 'async')),
    snapshot_every integer      CHECK (snapshot_every > 0),
    created_at     timestamptz  NOT NULL DEFAULT now(),
    CHECK ((reducer IS NULL) <> (apply_function IS NULL))
);
CREATE TRIGGER projections_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.projections
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._invalidate();

CREATE TABLE @extschema@.projection_state (
    projection text        NOT NULL REFERENCES @extschema@.projections (name) ON DELETE CASCADE,
    stream_id  text        NOT NULL,
    state      jsonb       NOT NULL,
    version    bigint      NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, stream_id)
);

CREATE TABLE @extschema@.snapshots (
    projection text        NOT NULL REFERENCES @extschema@.projections (name) ON DELETE CASCADE,
    stream_id  text        NOT NULL,
    version    bigint      NOT NULL,
    position   bigint      NOT NULL,
    state      jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, stream_id, version)
);

CREATE FUNCTION @extschema@.create_projection(name text, category text, reducer jsonb DEFAULT NULL,
                                              apply_function regprocedure DEFAULT NULL,
                                              mode text DEFAULT 'inline', snapshot_every bigint DEFAULT NULL,
                                              initial_state jsonb DEFAULT '{}') RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_create_projection';
COMMENT ON FUNCTION @extschema@.create_projection(text, text, jsonb, regprocedure, text, bigint, jsonb) IS
    'Registers a projection (a reducer spec or an apply function) and builds it from the stored events. Returns the events folded.';

CREATE FUNCTION @extschema@.drop_projection(name text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_drop_projection';

CREATE FUNCTION @extschema@.rebuild(projection text, stream text DEFAULT NULL) RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_rebuild';

CREATE FUNCTION @extschema@.run_projection(name text, max bigint DEFAULT 1000) RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_run_projection';

CREATE FUNCTION @extschema@.run_projections(max bigint DEFAULT 10000) RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_run_projections';

CREATE FUNCTION @extschema@.state_at(stream text, version bigint, projection text DEFAULT NULL) RETURNS jsonb
    LANGUAGE c STABLE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_state_at_version';

CREATE FUNCTION @extschema@.state_at(stream text, at timestamptz, projection text DEFAULT NULL) RETURNS jsonb
    LANGUAGE c STABLE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_state_at_time';

-------------------------------------------------------------------------------
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
                    RAISE WARNING 'pg_cron job % (id %) of extension eventstore is active again', job.parked ->> 'jobname', id
                        USING DETAIL = 'It was inactive, and the extension''s owner may not call cron.alter_job.',
                              HINT = pg_catalog.format('A superuser can run: SELECT cron.alter_job(%s, active => false)', id);
                END;
            END IF;
        END LOOP;
    END IF;
END
$fn$;

CREATE EVENT TRIGGER eventstore_cron_park ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@._cron_park();
CREATE EVENT TRIGGER eventstore_cron_restore ON ddl_command_end
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@._cron_restore();
-- Also under session_replication_role = replica: the two fire together or
-- not at all.
ALTER EVENT TRIGGER eventstore_cron_park ENABLE ALWAYS;
ALTER EVENT TRIGGER eventstore_cron_restore ENABLE ALWAYS;

-- Async projections: a loop that folds new events every `pause` for
-- `seconds`, committing after each round (so each round is one short
-- transaction). pg_cron starts it every minute when it is installed in this
-- database (job 'eventstore-projections'; pg_cron 1.4 has minute
-- granularity, and runs at most one instance of a job at a time). Without
-- pg_cron, CALL it from a worker of your own, or call run_projections().
CREATE PROCEDURE @extschema@.run_projections_loop(seconds integer DEFAULT 58, pause interval DEFAULT '200 milliseconds')
    LANGUAGE plpgsql AS $fn$
DECLARE
    pause_s double precision := pg_catalog.date_part('epoch', pause);
    deadline timestamptz;
BEGIN
    -- Checked before anything runs: a NULL would loop forever or never
    -- pause, and the bounds keep one call from outliving its schedule.
    IF seconds IS NULL OR pause IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN seconds IS NULL THEN 'seconds' ELSE 'pause' END
            USING ERRCODE = '22004';
    END IF;
    IF seconds < 0 OR seconds > 86400 THEN
        RAISE EXCEPTION 'seconds must be between 0 and 86400, got %', seconds USING ERRCODE = '22023';
    END IF;
    IF pause_s < 0 OR pause_s > 60 THEN
        RAISE EXCEPTION 'pause must be between 0 and 60 seconds, got % seconds', pause_s USING ERRCODE = '22023';
    END IF;
    deadline := pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => seconds);
    LOOP
        PERFORM @extschema@.run_projections();
        COMMIT;
        EXIT WHEN pg_catalog.clock_timestamp() >= deadline;
        PERFORM pg_catalog.pg_sleep(pause_s);
    END LOOP;
END
$fn$;

CREATE FUNCTION @extschema@._schedule_async_projections() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM @extschema@._cron_schedule('eventstore-projections', '* * * * *', 'CALL eventstore.run_projections_loop(58)');
END
$fn$;

-- ---------------------------------------------------------------------------
-- Partitions (when created with eventstore.partition_positions > 0)
-- ---------------------------------------------------------------------------

-- Registers eventstore.events with pg_partman on first call (partitions of
-- partition_positions positions, `premake` of them ahead of the newest
-- event; NULL keeps the premake of the last call, 4 at first), runs
-- pg_partman's maintenance on later calls, drops an empty
-- default partition (rows must land in their range partition: append reports
-- a missing one as KB215 instead of filing events out of order), guards
-- every partition against TRUNCATE, and schedules itself every 10 minutes
-- through pg_cron when pg_cron is installed in this database (job
-- 'eventstore-partitions'). Returns the number of partitions.
--
-- pg_partman's functions set search_path for the session and restore the
-- value they found; a SET clause on the calling function would make that
-- restored value outlive the call. So the function that calls pg_partman
-- has no SET clause and qualifies every name; its checks and upkeep run in
-- helpers that have one.
CREATE FUNCTION @extschema@._partitions_check(premake integer) RETURNS name
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    per_partition bigint;
    partman name;
    template text;
BEGIN
    SELECT partition_positions INTO per_partition FROM @extschema@.storage_layout;
    IF per_partition = 0 THEN
        RAISE EXCEPTION 'eventstore.events is not partitioned'
            USING ERRCODE = 'KB216',
                  HINT = 'The layout is chosen at CREATE EXTENSION: SET eventstore.partition_positions = <n> first.';
    END IF;
    IF premake < 1 OR premake > 1000 THEN
        RAISE EXCEPTION 'premake must be 1 to 1000, got %', premake USING ERRCODE = '22023';
    END IF;
    SELECT n.nspname INTO partman
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_partman';
    IF partman IS NULL THEN
        RAISE EXCEPTION 'pg_partman is not installed in this database'
            USING ERRCODE = 'KB216', HINT = 'CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman;';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = '@extschema@.events'::regclass) THEN
        -- A registration left over from a dropped and re-created extension.
        EXECUTE format('SELECT template_table FROM %I.part_config WHERE parent_table = $1', partman)
           INTO template USING '@extschema@.events';
        IF template IS NOT NULL THEN
            EXECUTE format('DROP TABLE IF EXISTS %s', template);
        END IF;
        EXECUTE format('DELETE FROM %I.part_config WHERE parent_table = $1', partman) USING '@extschema@.events';
    END IF;
    RETURN partman;
END
$fn$;

CREATE FUNCTION @extschema@._partitions_upkeep() RETURNS integer
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    leaf regclass;
    found_any boolean;
    partitions integer := 0;
BEGIN
    FOR leaf IN
        SELECT i.inhrelid::regclass FROM pg_inherits i
         WHERE i.inhparent = '@extschema@.events'::regclass ORDER BY i.inhrelid
    LOOP
        IF pg_get_expr((SELECT relpartbound FROM pg_class WHERE oid = leaf), leaf) = 'DEFAULT' THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', leaf) INTO found_any;
            IF found_any THEN
                RAISE EXCEPTION 'the default partition % holds events', leaf
                    USING ERRCODE = 'KB217',
                          HINT = 'Events must lie in their range partition; see docs/eventstore.md, Storage.';
            END IF;
            EXECUTE format('DROP TABLE %s', leaf);
            CONTINUE;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = leaf AND tgname = 'events_no_truncate') THEN
            EXECUTE format('CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON %s '
                           'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._append_only()', leaf);
            EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER events_no_truncate', leaf);
        END IF;
        partitions := partitions + 1;
    END LOOP;
    PERFORM @extschema@._cron_schedule('eventstore-partitions', '*/10 * * * *', 'SELECT eventstore.manage_partitions()');
    RETURN partitions;
END
$fn$;

CREATE FUNCTION @extschema@.manage_partitions(premake bigint DEFAULT NULL) RETURNS integer
    LANGUAGE plpgsql AS $fn$
BEGIN
    -- bigint since 0.2.0: a value beyond integer is 22003, not 42883.
    IF premake > 2147483647 THEN
        RAISE EXCEPTION 'premake must be at most 2147483647, got %', premake USING ERRCODE = 'numeric_value_out_of_range';
    ELSIF premake < -2147483648 THEN
        RAISE EXCEPTION 'premake must be at least -2147483648, got %', premake USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    RETURN @extschema@._manage_partitions(premake::integer);
END
$fn$;

-- manage_partitions' work, with premake in pg_partman's type.
CREATE FUNCTION @extschema@._manage_partitions(premake integer) RETURNS integer
    LANGUAGE plpgsql AS $fn$
DECLARE
    partman name := @extschema@._partitions_check(premake);
    per_partition bigint := (SELECT l.partition_positions FROM @extschema@.storage_layout l);
    registered boolean;
BEGIN
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM %I.part_config WHERE parent_table = $1)', partman)
       INTO registered USING '@extschema@.events';
    IF premake IS NULL THEN
        -- The scheduled call keeps what the last explicit call chose (4 at first).
        IF registered THEN
            EXECUTE pg_catalog.format('SELECT premake FROM %I.part_config WHERE parent_table = $1', partman)
               INTO premake USING '@extschema@.events';
        END IF;
        premake := coalesce(premake, 4);
    END IF;
    IF NOT registered THEN
        EXECUTE pg_catalog.format('SELECT %I.create_parent(p_parent_table := $1, p_control := $2, p_type := $3, '
                                  'p_interval := $4, p_premake := $5, p_jobmon := false)', partman)
          USING '@extschema@.events', 'position', 'native', per_partition::text, premake;
    ELSE
        EXECUTE pg_catalog.format('UPDATE %I.part_config SET premake = $1 WHERE parent_table = $2', partman)
          USING premake, '@extschema@.events';
        EXECUTE pg_catalog.format('SELECT %I.run_maintenance(p_parent_table := $1, p_jobmon := false)', partman)
          USING '@extschema@.events';
    END IF;
    -- pg_partman keeps partitions ahead of the newest stored event; positions
    -- run ahead of stored events when appends roll back, so cover the
    -- positions handed out too.
    EXECUTE pg_catalog.format('SELECT %I.create_partition_id($1, $2, false)', partman)
      USING '@extschema@.events',
            ARRAY(SELECT b FROM pg_catalog.generate_series(
                      (coalesce((SELECT max(e.position) FROM @extschema@.events e), 0) / per_partition) * per_partition,
                      (@extschema@.head() / per_partition + premake) * per_partition,
                      per_partition) AS b);
    RETURN @extschema@._partitions_upkeep();
END
$fn$;
COMMENT ON FUNCTION @extschema@.manage_partitions(bigint) IS
    'Creates and keeps ahead the range partitions of eventstore.events through pg_partman (partitioned layout only).';

-- Lag of every projection: async ones from their checkpoint.
CREATE VIEW @extschema@.projection_status AS
SELECT p.name, p.mode, p.category,
       (SELECT count(*) FROM @extschema@.projection_state s WHERE s.projection = p.name) AS streams,
       c.position AS checkpoint, h.head,
       CASE WHEN p.mode = 'async' THEN h.head - c.position ELSE 0 END AS positions_behind,
       c.updated_at AS last_run
  FROM @extschema@.projections p
  LEFT JOIN @extschema@.subscription_checkpoints c ON c.subscription = 'projection:' || p.name AND c.member = 0
 CROSS JOIN (SELECT @extschema@.head() AS head) h;

-- ---------------------------------------------------------------------------
-- Personal data (GDPR crypto-shredding): fields sealed with AES-256-GCM under
-- one key per subject; forget(subject) destroys the key.
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.personal_fields (
    event_type   text   PRIMARY KEY,
    subject_path text   NOT NULL,
    fields       text[] NOT NULL
);
CREATE TRIGGER personal_fields_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.personal_fields FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._invalidate();

-- The keys, in their own table (only the extension's functions read it).
CREATE TABLE @extschema@.subject_keys (
    subject    text        PRIMARY KEY,
    key        bytea       NOT NULL CHECK (length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Which streams hold a subject's sealed fields (forget rebuilds them).
CREATE TABLE @extschema@.subject_streams (
    subject   text NOT NULL,
    stream_id text NOT NULL,
    PRIMARY KEY (subject, stream_id)
);

CREATE FUNCTION @extschema@.set_personal_fields(event_type text, subject_path text, fields text[])
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_set_personal_fields';
COMMENT ON FUNCTION @extschema@.set_personal_fields(text, text, text[]) IS
    'Marks fields (paths) of an event type as personal, sealed per subject (the value at subject_path). NULL subject_path removes the definition.';

CREATE FUNCTION @extschema@.forget(subject text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_forget';
COMMENT ON FUNCTION @extschema@.forget(text) IS
    'Destroys the subject''s key: its personal fields read as NULL from now on; projections of its streams are rebuilt. Returns whether a key existed.';

-- ---------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; the owner grants what each role needs
-- (docs/eventstore.md lists the grants for writers, readers, consumers).
-- ---------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA @extschema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-- pg_dump keeps the data of these tables (extension tables are skipped otherwise).
-- A partitioned events table has no rows of its own: its partitions are not
-- extension members and pg_dump keeps them and their rows as usual.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.events', '')
    WHERE (SELECT partition_positions FROM @extschema@.storage_layout) = 0;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.subscriptions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.subscription_checkpoints', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.upcasters', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.projections', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.projection_state', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.snapshots', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.personal_fields', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.subject_keys', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.subject_streams', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.position_reserve', '');
