-- eventstore: apply functions and upcasters are untrusted code. They run as
-- the role that registered them, inside a security-restricted operation,
-- at a GUC nest level of their own that is undone when they return (as
-- PostgreSQL runs index expressions during maintenance). A role granted
-- create_projection and register_upcaster tries to become superuser through
-- the SECURITY DEFINER code around its functions; each attempt is followed
-- by a check that it failed: the role is no superuser, no setting changed,
-- and the definer's statements never saw the attacker's search_path.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS eventstore;
DROP ROLE IF EXISTS es_attacker;
DROP ROLE IF EXISTS es_victim_writer;
RESET client_min_messages;

CREATE ROLE es_attacker;
CREATE ROLE es_victim_writer;
GRANT USAGE ON SCHEMA eventstore TO es_attacker, es_victim_writer;
GRANT EXECUTE ON FUNCTION eventstore.create_projection(text, text, jsonb, regprocedure, text, bigint, jsonb),
                          eventstore.register_upcaster(text, bigint, jsonb, regprocedure)
   TO es_attacker;
GRANT EXECUTE ON FUNCTION eventstore.append(text, jsonb, bigint, text),
                          eventstore.read_stream(text, bigint, bigint, boolean)
   TO es_victim_writer;
CREATE SCHEMA es_evil AUTHORIZATION es_attacker;
-- Superuser on success: what the attacker hopes the definer will call.
CREATE TEMP VIEW attack_result AS
SELECT rolsuper AS attacker_is_superuser, current_setting('search_path') AS search_path,
       current_setting('work_mem') AS work_mem, current_user AS me
  FROM pg_roles WHERE rolname = 'es_attacker';

SET ROLE es_attacker;
-- Shadows of functions the definer's SQL calls unqualified (now(),
-- clock_timestamp()), and of the operators it uses.
CREATE FUNCTION es_evil.escalate() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE es_attacker SUPERUSER';
    END IF;
END $$;
CREATE FUNCTION es_evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM es_evil.escalate(); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION es_evil.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM es_evil.escalate(); RETURN pg_catalog.clock_timestamp(); END $$;
CREATE FUNCTION es_evil.texteq_evil(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM es_evil.escalate(); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR es_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = es_evil.texteq_evil);
CREATE FUNCTION es_evil.int8eq_evil(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM es_evil.escalate(); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR es_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = es_evil.int8eq_evil);

-- 1. The path: set for the session (not LOCAL) inside the apply function.
CREATE FUNCTION es_evil.apply_path(state jsonb, e eventstore.event) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'es_evil, pg_catalog', false);
    PERFORM pg_catalog.set_config('work_mem', '1234kB', false);
    RETURN state || jsonb_build_object('n', coalesce((state->>'n')::int, 0) + 1, 'as', current_user);
END $$;
SELECT eventstore.create_projection('evil_inline', 'evilin', apply_function => 'es_evil.apply_path(jsonb, eventstore.event)');
SELECT eventstore.create_projection('evil_async', 'evilas', apply_function => 'es_evil.apply_path(jsonb, eventstore.event)',
                                    mode => 'async');
RESET ROLE;
-- Inline: folded by another role's append (and by the owner's).
SET ROLE es_victim_writer;
SELECT eventstore.append('evilin-1', '[{"type": "A", "data": {}}, {"type": "B", "data": {}}]');
SELECT current_setting('search_path') AS writer_search_path, current_setting('work_mem') AS writer_work_mem;
RESET ROLE;
SELECT * FROM attack_result;
SELECT eventstore.append('evilin-1', '[{"type": "C", "data": {}}]');
SELECT * FROM attack_result;
-- Async: folded by the runner, as pg_cron runs it (the owner).
SELECT eventstore.append('evilas-1', '[{"type": "A", "data": {}}, {"type": "B", "data": {}}]');
SELECT eventstore.run_projection('evil_async');
SELECT * FROM attack_result;
SELECT eventstore.append('evilas-1', '[{"type": "C", "data": {}}]');
SELECT eventstore.run_projections();
SELECT * FROM attack_result;
SELECT eventstore.rebuild('evil_async'), eventstore.rebuild('evil_inline');
SELECT * FROM attack_result;
-- The folds happened, as the attacker.
SELECT projection, state FROM eventstore.projection_state
 WHERE projection IN ('evil_inline', 'evil_async') ORDER BY projection;

-- 2. Upcasters: the same on every read of the type.
SET ROLE es_attacker;
CREATE FUNCTION es_evil.upcast_path(data jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'es_evil, pg_catalog', false);
    RETURN data || '{"upcast": true}';
END $$;
SELECT eventstore.register_upcaster('EvilUp', 1, function => 'es_evil.upcast_path(jsonb)');
RESET ROLE;
SELECT eventstore.append('evilup-1', '[{"type": "EvilUp", "data": {}}]');
SET ROLE es_victim_writer;
SELECT version, event_type, event_data FROM eventstore.read_stream('evilup-1');
SELECT current_setting('search_path') AS writer_search_path;
RESET ROLE;
SELECT * FROM attack_result;
SELECT event_data FROM eventstore.read_all(0) WHERE event_type = 'EvilUp';
SELECT * FROM attack_result;
SELECT eventstore.create_projection('evil_up_fold', 'evilup', reducer => '{"EvilUp": [{"set": "u", "from": "upcast"}]}');
SELECT state FROM eventstore.projection_state WHERE projection = 'evil_up_fold';
SELECT * FROM attack_result;

-- 3. What a security-restricted operation refuses, each ending the append
-- with its error (nothing appended). A temporary function is allowed (it
-- lands in the session's pg_temp, which is never searched for functions
-- unless named: section 4 has one in place).
SET ROLE es_attacker;
CREATE FUNCTION es_evil.apply_role(state jsonb, e eventstore.event) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    CASE e.event_type
        WHEN 'SetRole' THEN EXECUTE 'SET ROLE postgres';
        WHEN 'SetConfigRole' THEN PERFORM pg_catalog.set_config('role', 'postgres', false);
        WHEN 'SessionAuth' THEN PERFORM pg_catalog.set_config('session_authorization', 'postgres', false);
        WHEN 'TempTable' THEN EXECUTE 'CREATE TEMP TABLE evil_tmp (x int)';
        WHEN 'TempFunction' THEN EXECUTE 'CREATE FUNCTION pg_temp.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS $f$ BEGIN PERFORM es_evil.escalate(); RETURN pg_catalog.now(); END $f$';
        ELSE NULL;
    END CASE;
    RETURN state;
END $$;
SELECT eventstore.create_projection('evil_role', 'evilrole', apply_function => 'es_evil.apply_role(jsonb, eventstore.event)');
RESET ROLE;
SELECT pg_temp.try(format($$SELECT eventstore.append('evilrole-1', '[{"type": "%s", "data": {}}]')$$, t))
  FROM unnest(ARRAY['SetRole', 'SetConfigRole', 'SessionAuth', 'TempTable', 'TempFunction']) t;
SELECT count(*) AS appended FROM eventstore.events WHERE category = 'evilrole';
SELECT * FROM attack_result;
SELECT count(*) AS temp_functions FROM pg_proc WHERE pronamespace = pg_my_temp_schema();

-- 4. The attacker's own temporary objects and operators, in its own session:
-- the definer's statements never resolve to them (pg_temp is never searched
-- for functions or operators, and comes last for tables).
SET ROLE es_attacker;
CREATE TEMP TABLE events (position bigint);
CREATE FUNCTION pg_temp.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM es_evil.escalate(); RETURN pg_catalog.now(); END $$;
SET search_path = es_evil, pg_temp, pg_catalog;
SELECT eventstore.create_projection('evil_temp', 'eviltemp', apply_function => 'es_evil.apply_path(jsonb, eventstore.event)');
RESET search_path;
RESET ROLE;
SELECT eventstore.append('eviltemp-1', '[{"type": "A", "data": {}}]');
SELECT * FROM attack_result;

-- Clean up.
RESET ROLE;
DISCARD TEMP;
CREATE TEMP VIEW attack_result AS
SELECT rolsuper AS attacker_is_superuser, current_setting('search_path') AS search_path,
       current_setting('work_mem') AS work_mem, current_user AS me
  FROM pg_roles WHERE rolname = 'es_attacker';
SELECT eventstore.drop_projection(p) FROM unnest(ARRAY['evil_inline', 'evil_async', 'evil_up_fold', 'evil_role', 'evil_temp']) p;
DELETE FROM eventstore.upcasters WHERE event_type = 'EvilUp';
DROP SCHEMA es_evil CASCADE;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA eventstore FROM es_attacker, es_victim_writer;
REVOKE ALL ON SCHEMA eventstore FROM es_attacker, es_victim_writer;
DROP ROLE es_attacker;
DROP ROLE es_victim_writer;
SELECT * FROM attack_result;
