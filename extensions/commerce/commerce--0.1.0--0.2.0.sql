-- casebook commerce 0.1.0 -> 0.2.0 (ALTER EXTENSION commerce UPDATE).
--
-- Every change of 0.2.0 is written twice: here, as the statements that turn
-- a 0.1.0 database into 0.2.0 (CREATE for what is new, CREATE OR REPLACE or
-- ALTER for what changes, with its COMMENT and GRANT/REVOKE: a new function
-- must be revoked from PUBLIC here by name, as the blanket REVOKE of the full
-- script would take back the grants of 0.1.0), and in commerce--0.2.0.sql, the
-- full script a fresh CREATE EXTENSION runs. A new column goes last in both.
-- The upgrade test (make upgradecheck, part of make test) installs 0.1.0,
-- runs this script and compares every object of the extension with a fresh
-- 0.2.0 install: a change made in one file only is reported there. Once
-- 0.2.0 is released, both files are frozen (docs/upgrading.md).
\echo Use "ALTER EXTENSION commerce UPDATE TO '0.2.0'" to load this file. \quit

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
                    RAISE WARNING 'pg_cron job % (id %) of extension commerce is active again', job.parked ->> 'jobname', id
                        USING DETAIL = 'It was inactive, and the extension''s owner may not call cron.alter_job.',
                              HINT = pg_catalog.format('A superuser can run: SELECT cron.alter_job(%s, active => false)', id);
                END;
            END IF;
        END LOOP;
    END IF;
END
$fn$;

CREATE EVENT TRIGGER commerce_cron_park ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@._cron_park();
CREATE EVENT TRIGGER commerce_cron_restore ON ddl_command_end
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@._cron_restore();
-- Also under session_replication_role = replica: the two fire together or
-- not at all.
ALTER EVENT TRIGGER commerce_cron_park ENABLE ALWAYS;
ALTER EVENT TRIGGER commerce_cron_restore ENABLE ALWAYS;

REVOKE ALL ON FUNCTION @extschema@._cron_schedule(text, text, text),
                       @extschema@._cron_park(),
                       @extschema@._cron_restore() FROM PUBLIC;

-- 0.1.0 scheduled commerce-expire at CREATE EXTENSION without recording it:
-- the job that matches what it scheduled (name, command, this database, the
-- extension's owner) is taken as the extension's.
DO $do$
DECLARE
    ext_owner text := (SELECT r.rolname FROM pg_catalog.pg_extension e
                         JOIN pg_catalog.pg_roles r ON r.oid = e.extowner
                        WHERE e.extname = 'commerce');
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        INSERT INTO @extschema@.cron_jobs (jobid, jobname, username)
        SELECT j.jobid, j.jobname, j.username
          FROM cron.job j
         WHERE j.database = pg_catalog.current_database()
           AND j.jobname = 'commerce-expire' AND j.command = 'SELECT commerce.expire()' AND j.username = ext_owner;
    END IF;
END
$do$;

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
      WHERE p.oid IN ('@extschema@.restock(bigint, integer)'::pg_catalog.regprocedure,
                      '@extschema@.reserve(bigint, integer, interval, text)'::pg_catalog.regprocedure,
                      '@extschema@.reserve_cart(bigint[], integer[], interval, text, bigint)'::pg_catalog.regprocedure,
                      '@extschema@.expire(integer)'::pg_catalog.regprocedure,
                      '@extschema@.set_buckets(bigint, integer)'::pg_catalog.regprocedure) AND p.proacl IS NOT NULL), '{}')::text, true);
DROP FUNCTION @extschema@.restock(bigint, integer);
CREATE FUNCTION @extschema@.restock(variant bigint, qty bigint) RETURNS bigint
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_restock';
COMMENT ON FUNCTION @extschema@.restock(bigint, bigint) IS
    'adds qty physical units to a variant (spread over its buckets); returns the new available count';

DROP FUNCTION @extschema@.reserve(bigint, integer, interval, text);
CREATE FUNCTION @extschema@.reserve(variant bigint, qty bigint,
                                    hold interval DEFAULT '15 minutes',
                                    idempotency_key text DEFAULT NULL) RETURNS bigint
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_reserve';
COMMENT ON FUNCTION @extschema@.reserve(bigint, bigint, interval, text) IS
    'holds qty units of a variant for the hold period; all or nothing; returns the reservation id';

DROP FUNCTION @extschema@.reserve_cart(bigint[], integer[], interval, text, bigint);
CREATE FUNCTION @extschema@.reserve_cart(variants bigint[], quantities bigint[],
                                         hold interval DEFAULT '15 minutes',
                                         idempotency_key text DEFAULT NULL,
                                         user_id bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_reserve_cart';
COMMENT ON FUNCTION @extschema@.reserve_cart(bigint[], bigint[], interval, text, bigint) IS
    'holds every line of a cart or none (stock locked in variant order); returns the cart id';

DROP FUNCTION @extschema@.expire(integer);
CREATE FUNCTION @extschema@.expire(max_holds bigint DEFAULT 10000) RETURNS integer
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_expire';
COMMENT ON FUNCTION @extschema@.expire(bigint) IS
    'frees holds past their time (at most max_holds per call); returns how many';

DROP FUNCTION @extschema@.set_buckets(bigint, integer);
CREATE FUNCTION @extschema@.set_buckets(variant bigint, n bigint) RETURNS integer
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_set_buckets';
COMMENT ON FUNCTION @extschema@.set_buckets(bigint, bigint) IS
    'spreads a variant''s available stock over n bucket rows (1..1024) for hot items';

REVOKE ALL ON FUNCTION @extschema@.restock(bigint, bigint),
                       @extschema@.reserve(bigint, bigint, interval, text),
                       @extschema@.reserve_cart(bigint[], bigint[], interval, text, bigint),
                       @extschema@.expire(bigint),
                       @extschema@.set_buckets(bigint, bigint) FROM PUBLIC;
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
