-- casebook eventstore 0.1.0 -> 0.2.0 (ALTER EXTENSION eventstore UPDATE).
--
-- Every change of 0.2.0 is written twice: here, as the statements that turn
-- a 0.1.0 database into 0.2.0 (CREATE for what is new, CREATE OR REPLACE or
-- ALTER for what changes, with its COMMENT and GRANT/REVOKE: a new function
-- must be revoked from PUBLIC here by name, as the blanket REVOKE of the full
-- script would take back the grants of 0.1.0), and in eventstore--0.2.0.sql, the
-- full script a fresh CREATE EXTENSION runs. A new column goes last in both.
-- The upgrade test (make upgradecheck, part of make test) installs 0.1.0,
-- runs this script and compares every object of the extension with a fresh
-- 0.2.0 install: a change made in one file only is reported there. Once
-- 0.2.0 is released, both files are frozen (docs/upgrading.md).
\echo Use "ALTER EXTENSION eventstore UPDATE TO '0.2.0'" to load this file. \quit

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

-- Async projections and partitions schedule their jobs through
-- _cron_schedule, which records them.
CREATE OR REPLACE FUNCTION @extschema@._schedule_async_projections() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM @extschema@._cron_schedule('eventstore-projections', '* * * * *', 'CALL eventstore.run_projections_loop(58)');
END
$fn$;

CREATE OR REPLACE FUNCTION @extschema@._partitions_upkeep() RETURNS integer
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

REVOKE ALL ON FUNCTION @extschema@._cron_schedule(text, text, text),
                       @extschema@._cron_park(),
                       @extschema@._cron_restore() FROM PUBLIC;
REVOKE ALL ON TABLE @extschema@.cron_jobs FROM PUBLIC;

-- 0.1.0 scheduled its jobs without recording them: the jobs that match what
-- it scheduled (name, command, this database; the projections job as the
-- extension's owner, the partitions job as whoever called
-- manage_partitions) are taken as the extension's.
DO $do$
DECLARE
    ext_owner text := (SELECT r.rolname FROM pg_catalog.pg_extension e
                         JOIN pg_catalog.pg_roles r ON r.oid = e.extowner
                        WHERE e.extname = 'eventstore');
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        INSERT INTO @extschema@.cron_jobs (jobid, jobname, username)
        SELECT j.jobid, j.jobname, j.username
          FROM cron.job j
         WHERE j.database = pg_catalog.current_database()
           AND ((j.jobname = 'eventstore-projections' AND j.command = 'CALL eventstore.run_projections_loop(58)' AND j.username = ext_owner)
                OR (j.jobname = 'eventstore-partitions' AND j.command = 'SELECT eventstore.manage_partitions()'));
    END IF;
END
$do$;

-------------------------------------------------------------------------------
-- Positions across restarts (since 0.2.0).
-------------------------------------------------------------------------------
-- The durable reserve of global positions (docs/eventstore.md, "Positions
-- across restarts"): the highest position append may hand out. append
-- raises it ahead of the positions it takes (and flushes it to the WAL
-- first); it is never lowered, so no restart or crash hands a position out
-- twice. Not for anybody else's use: nothing is granted on it.
CREATE SEQUENCE @extschema@.position_reserve AS bigint MINVALUE 0 START 0 NO CYCLE;
COMMENT ON SEQUENCE @extschema@.position_reserve IS
    'Durable reserve mark of global positions, raised by append (never lowered); see docs/eventstore.md.';
-- A server running while this runs keeps its counter; the first append
-- after the update raises the mark above every position handed out so far.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.position_reserve', '');

-------------------------------------------------------------------------------
-- run_projections_loop checks its arguments (since 0.2.0): NULL is 22004,
-- seconds outside 0..86400 and pause outside 0..60 s are 22023.
-------------------------------------------------------------------------------
CREATE OR REPLACE PROCEDURE @extschema@.run_projections_loop(seconds integer DEFAULT 58, pause interval DEFAULT '200 milliseconds')
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

-------------------------------------------------------------------------------
-- Counts, limits and quantities take bigint since 0.2.0: a value beyond
-- integer is 22003 naming the argument, where 0.1.0 said 42883 "function
-- does not exist". A signature cannot change in place: each such function
-- is dropped and created again (below), and the grants made on the old one
-- are made again on the new one, by the role running the update (PUBLIC's,
-- which 0.2.0 never gives, are not). The old grants wait in a setting local
-- to this transaction.
-------------------------------------------------------------------------------
SELECT pg_catalog.set_config('casebook.upgrade_grants', COALESCE(
    (SELECT pg_catalog.jsonb_object_agg(p.proname, p.proacl) FROM pg_catalog.pg_proc p
      WHERE p.oid IN ('@extschema@.read_stream(text, bigint, integer, boolean)'::pg_catalog.regprocedure,
                      '@extschema@.read_category(text, bigint, integer)'::pg_catalog.regprocedure,
                      '@extschema@.read_all(bigint, integer)'::pg_catalog.regprocedure,
                      '@extschema@.subscribe(text, text, integer, bigint)'::pg_catalog.regprocedure,
                      '@extschema@.poll(text, integer, integer)'::pg_catalog.regprocedure,
                      '@extschema@.ack(text, bigint, integer)'::pg_catalog.regprocedure,
                      '@extschema@.register_upcaster(text, integer, jsonb, regprocedure)'::pg_catalog.regprocedure,
                      '@extschema@.create_projection(text, text, jsonb, regprocedure, text, integer, jsonb)'::pg_catalog.regprocedure,
                      '@extschema@.run_projection(text, integer)'::pg_catalog.regprocedure,
                      '@extschema@.run_projections(integer)'::pg_catalog.regprocedure,
                      '@extschema@.manage_partitions(integer)'::pg_catalog.regprocedure) AND p.proacl IS NOT NULL), '{}')::text, true);
DROP FUNCTION @extschema@.read_stream(text, bigint, integer, boolean);
CREATE FUNCTION @extschema@.read_stream(stream text, from_version bigint DEFAULT NULL,
                                        max bigint DEFAULT 1000, backward boolean DEFAULT false)
    RETURNS SETOF @extschema@.event
    LANGUAGE c STABLE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_read_stream';

DROP FUNCTION @extschema@.read_category(text, bigint, integer);
CREATE FUNCTION @extschema@.read_category(category text, after_position bigint DEFAULT 0,
                                          max bigint DEFAULT 1000)
    RETURNS SETOF @extschema@.event
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_read_category';

DROP FUNCTION @extschema@.read_all(bigint, integer);
CREATE FUNCTION @extschema@.read_all(after_position bigint DEFAULT 0, max bigint DEFAULT 1000)
    RETURNS SETOF @extschema@.event
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_read_all';

DROP FUNCTION @extschema@.subscribe(text, text, integer, bigint);
CREATE FUNCTION @extschema@.subscribe(name text, category text DEFAULT NULL, members bigint DEFAULT 1,
                                      start_after bigint DEFAULT 0) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_subscribe';

DROP FUNCTION @extschema@.poll(text, integer, integer);
CREATE FUNCTION @extschema@.poll(name text, max bigint DEFAULT 100, member bigint DEFAULT NULL)
    RETURNS SETOF @extschema@.delivery
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_poll';

DROP FUNCTION @extschema@.ack(text, bigint, integer);
CREATE FUNCTION @extschema@.ack(name text, "position" bigint, member bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_ack';

DROP FUNCTION @extschema@.register_upcaster(text, integer, jsonb, regprocedure);
CREATE FUNCTION @extschema@.register_upcaster(event_type text, from_version bigint, spec jsonb DEFAULT NULL,
                                              function regprocedure DEFAULT NULL) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_register_upcaster';

DROP FUNCTION @extschema@.create_projection(text, text, jsonb, regprocedure, text, integer, jsonb);
CREATE FUNCTION @extschema@.create_projection(name text, category text, reducer jsonb DEFAULT NULL,
                                              apply_function regprocedure DEFAULT NULL,
                                              mode text DEFAULT 'inline', snapshot_every bigint DEFAULT NULL,
                                              initial_state jsonb DEFAULT '{}') RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_create_projection';
COMMENT ON FUNCTION @extschema@.create_projection(text, text, jsonb, regprocedure, text, bigint, jsonb) IS
    'Registers a projection (a reducer spec or an apply function) and builds it from the stored events. Returns the events folded.';

DROP FUNCTION @extschema@.run_projection(text, integer);
CREATE FUNCTION @extschema@.run_projection(name text, max bigint DEFAULT 1000) RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_run_projection';

DROP FUNCTION @extschema@.run_projections(integer);
CREATE FUNCTION @extschema@.run_projections(max bigint DEFAULT 10000) RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'eventstore_run_projections';

DROP FUNCTION @extschema@.manage_partitions(integer);
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
COMMENT ON FUNCTION @extschema@.manage_partitions(bigint) IS
    'Creates and keeps ahead the range partitions of eventstore.events through pg_partman (partitioned layout only).';

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
REVOKE ALL ON FUNCTION @extschema@._manage_partitions(integer) FROM PUBLIC;

REVOKE ALL ON FUNCTION @extschema@.read_stream(text, bigint, bigint, boolean),
                       @extschema@.read_category(text, bigint, bigint),
                       @extschema@.read_all(bigint, bigint),
                       @extschema@.subscribe(text, text, bigint, bigint),
                       @extschema@.poll(text, bigint, bigint),
                       @extschema@.ack(text, bigint, bigint),
                       @extschema@.register_upcaster(text, bigint, jsonb, regprocedure),
                       @extschema@.create_projection(text, text, jsonb, regprocedure, text, bigint, jsonb),
                       @extschema@.run_projection(text, bigint),
                       @extschema@.run_projections(bigint),
                       @extschema@.manage_partitions(bigint) FROM PUBLIC;
DO $regrant$
DECLARE
    saved jsonb := pg_catalog.current_setting('casebook.upgrade_grants')::jsonb;
    fn text;
    target regprocedure;
    acl record;
BEGIN
    FOR fn IN SELECT pg_catalog.jsonb_object_keys(saved) LOOP
        target := pg_catalog.to_regproc('@extschema@.' || fn)::oid::regprocedure;
        FOR acl IN SELECT a.grantee, a.privilege_type, a.is_grantable
                     FROM pg_catalog.aclexplode(ARRAY(SELECT pg_catalog.jsonb_array_elements_text(saved -> fn))::aclitem[]) a
                    WHERE a.grantee <> 0
                      AND a.grantee <> (SELECT p.proowner FROM pg_catalog.pg_proc p WHERE p.oid = target)
        LOOP
            EXECUTE pg_catalog.format('GRANT %s ON FUNCTION %s TO %I%s', acl.privilege_type, target,
                                      pg_catalog.pg_get_userbyid(acl.grantee),
                                      CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END LOOP;
END
$regrant$;
