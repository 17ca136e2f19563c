-- tenancy: the tenant context. Only enter(), enter_token() and leave()
-- change it; every other path is an attempt followed by a check that it
-- failed and that the context and the visible rows did not change.
\i sql/include/try.psql
\i sql/include/try_ddl.psql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS tenancy CASCADE;
DROP TABLE IF EXISTS notes;
DROP ROLE IF EXISTS tenancy_app;
DROP ROLE IF EXISTS tenancy_trusted;
CREATE EXTENSION tenancy;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
RESET client_min_messages;
\i sql/include/jwt.psql

CREATE ROLE tenancy_app;
CREATE ROLE tenancy_trusted;
GRANT USAGE ON SCHEMA tenancy TO tenancy_app, tenancy_trusted;
GRANT EXECUTE ON FUNCTION tenancy.enter(uuid, boolean) TO tenancy_trusted;

CREATE TABLE notes (id int PRIMARY KEY, tenant_id uuid NOT NULL, body text NOT NULL);
CREATE INDEX ON notes (tenant_id);
INSERT INTO notes VALUES
    (1, 'aaaaaaaa-0000-4000-8000-000000000001', 'a1'),
    (2, 'aaaaaaaa-0000-4000-8000-000000000001', 'a2'),
    (3, 'bbbbbbbb-0000-4000-8000-000000000002', 'b1');
SELECT tenancy.protect('notes');
GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO tenancy_app, tenancy_trusted;
-- What the session sees, and its context.
CREATE FUNCTION pg_temp.seen() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(tenancy.current()::text, 'none') || ' sees ' ||
           coalesce((SELECT string_agg(body, ',' ORDER BY id) FROM notes), '(nothing)')
$$;

-------------------------------------------------------------------------------
-- Fail closed: no context, no rows, and an error that says why
-------------------------------------------------------------------------------
SET ROLE tenancy_app;
SELECT pg_temp.try($$SELECT count(*) FROM notes$$);
SELECT pg_temp.try($$SELECT count(*) FROM notes WHERE false$$) AS constant_false_filter;
SELECT pg_temp.try($$INSERT INTO notes VALUES (9, 'aaaaaaaa-0000-4000-8000-000000000001', 'x') RETURNING id$$);
SELECT pg_temp.try($$WITH u AS (UPDATE notes SET body = 'x' RETURNING 1) SELECT count(*) FROM u$$);
SELECT pg_temp.try($$WITH d AS (DELETE FROM notes RETURNING 1) SELECT count(*) FROM d$$);
SELECT pg_temp.try($$SELECT tenancy.tenant()$$);
SELECT tenancy.current() IS NULL AS no_context;
-- Application roles cannot enter a tenant by id.
SELECT pg_temp.try($$SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001')$$);
RESET ROLE;

-------------------------------------------------------------------------------
-- enter(): transaction scope by default
-------------------------------------------------------------------------------
SET ROLE tenancy_trusted;
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SELECT pg_temp.seen();
SELECT current_setting('tenancy.tenant_id') AS setting;
COMMIT;
SELECT tenancy.current() IS NULL AS ended_at_commit;
BEGIN;
SELECT tenancy.enter('bbbbbbbb-0000-4000-8000-000000000002');
ROLLBACK;
SELECT tenancy.current() IS NULL AS ended_at_rollback;
-- ROLLBACK TO a savepoint taken before enter() ends it; one taken after
-- it keeps it.
BEGIN;
SAVEPOINT before_enter;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SAVEPOINT after_enter;
SELECT tenancy.enter('bbbbbbbb-0000-4000-8000-000000000002');
SELECT pg_temp.seen();
ROLLBACK TO after_enter;
SELECT pg_temp.seen();
ROLLBACK TO before_enter;
SELECT tenancy.current() IS NULL AS ended_at_rollback_to;
COMMIT;
-- An error ends the transaction and the context with it.
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SELECT 1 / 0;
ROLLBACK;
SELECT tenancy.current() IS NULL AS ended_by_error;
-- leave() inside a transaction, undone by ROLLBACK TO.
BEGIN;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SAVEPOINT s;
SELECT tenancy.leave();
SELECT pg_temp.try($$SELECT count(*) FROM notes$$) AS after_leave;
ROLLBACK TO s;
SELECT pg_temp.seen() AS leave_undone;
COMMIT;
-- Bad arguments.
SELECT pg_temp.try($$SELECT tenancy.enter(NULL)$$);
SELECT pg_temp.try($$SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001', NULL)$$);
-- Session scope is off unless a superuser allows it.
SELECT pg_temp.try($$SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001', session => true)$$);
SELECT pg_temp.try_ddl($$SET tenancy.allow_session_scope = on$$) AS app_cannot_allow;
RESET ROLE;

-------------------------------------------------------------------------------
-- Every other way to change the context is refused (attempt, then check)
-------------------------------------------------------------------------------
SET ROLE tenancy_app;
BEGIN;
RESET ROLE;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001');
SET ROLE tenancy_app;
SELECT pg_temp.try_ddl($$SET tenancy.tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002'$$) AS set;
SELECT pg_temp.try_ddl($$SET LOCAL tenancy.tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002'$$) AS set_local;
SELECT pg_temp.try_ddl($$SET tenancy.tenant_id = ''$$) AS set_empty;
SELECT pg_temp.try_ddl($$RESET tenancy.tenant_id$$) AS reset;
SELECT pg_temp.try_ddl($$SET tenancy.tenant_id TO DEFAULT$$) AS set_default;
SELECT pg_temp.try_ddl($$SET "TENANCY"."TENANT_ID" TO DEFAULT$$) AS set_default_quoted_case;
SELECT pg_temp.try($$SELECT set_config('tenancy.tenant_id', 'bbbbbbbb-0000-4000-8000-000000000002', true)$$) AS set_config_local;
SELECT pg_temp.try($$SELECT set_config('tenancy.tenant_id', 'bbbbbbbb-0000-4000-8000-000000000002', false)$$) AS set_config;
-- set_config() in a subquery, in a WHERE clause, in a function of the role's own.
SELECT pg_temp.try($$SELECT count(*) FROM notes WHERE (SELECT set_config('tenancy.tenant_id', 'bbbbbbbb-0000-4000-8000-000000000002', true)) IS NOT NULL$$) AS in_subquery;
CREATE FUNCTION pg_temp.switch_to(t text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN set_config('tenancy.tenant_id', t, true);
END $$;
SELECT pg_temp.try($$SELECT pg_temp.switch_to('bbbbbbbb-0000-4000-8000-000000000002')$$) AS wrapped;
-- A function-level SET clause, with a value or FROM CURRENT.
SELECT pg_temp.try_ddl($$CREATE FUNCTION pg_temp.as_b() RETURNS text LANGUAGE sql
    SET tenancy.tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002' AS 'SELECT 1::text'$$) AS set_clause;
SELECT pg_temp.try_ddl($$CREATE FUNCTION pg_temp.as_current() RETURNS text LANGUAGE sql
    SET tenancy.tenant_id FROM CURRENT AS 'SELECT 1::text'$$) AS set_clause_from_current;
SELECT pg_temp.try_ddl($$ALTER ROLE tenancy_app SET tenancy.tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002'$$) AS alter_role_self;
-- Nothing changed.
SELECT pg_temp.seen() AS still_a;
COMMIT;
RESET ROLE;
-- Superusers are refused too: only the functions set the context.
SELECT pg_temp.try_ddl($$SET tenancy.tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002'$$) AS superuser_set;
SELECT pg_temp.try_ddl($$ALTER ROLE tenancy_app SET tenancy.tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002'$$) AS alter_role;
SELECT pg_temp.try_ddl($$ALTER ROLE tenancy_app IN DATABASE contrib_regression SET tenancy.tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002'$$) AS alter_role_in_db;
SELECT pg_temp.try_ddl($$ALTER DATABASE contrib_regression SET tenancy.tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002'$$) AS alter_database;
SELECT count(*) AS role_settings FROM pg_db_role_setting WHERE array_to_string(setconfig, ',') LIKE '%tenancy.tenant_id%';
SELECT pg_temp.try_ddl($$SET tenancy.no_such_setting = 1$$) AS reserved_prefix;

-------------------------------------------------------------------------------
-- RESET ALL and DISCARD ALL end a context (they never start one)
-------------------------------------------------------------------------------
SET tenancy.allow_session_scope = on;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001', session => true);
SET ROLE tenancy_app;
SELECT pg_temp.seen() AS session_scoped;
RESET ROLE;
RESET ALL;
SELECT tenancy.current() IS NULL AS ended_by_reset_all;
SET tenancy.allow_session_scope = on;
SELECT tenancy.enter('aaaaaaaa-0000-4000-8000-000000000001', session => true);
DISCARD ALL;
SELECT tenancy.current() IS NULL AS ended_by_discard_all;
-- (DISCARD ALL dropped this session's temporary functions too.)
\i sql/include/try.psql
\i sql/include/try_ddl.psql
\i sql/include/jwt.psql
CREATE FUNCTION pg_temp.seen() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(tenancy.current()::text, 'none') || ' sees ' ||
           coalesce((SELECT string_agg(body, ',' ORDER BY id) FROM notes), '(nothing)')
$$;
-- A session context survives COMMIT; a ROLLBACK undoes a leave() in it.
SET tenancy.allow_session_scope = on;
BEGIN;
SELECT tenancy.enter('bbbbbbbb-0000-4000-8000-000000000002', session => true);
COMMIT;
SET ROLE tenancy_app;
SELECT pg_temp.seen() AS after_commit;
BEGIN;
SELECT tenancy.leave();
ROLLBACK;
SELECT pg_temp.seen() AS leave_rolled_back;
RESET ROLE;
SELECT tenancy.leave();
SELECT tenancy.current() IS NULL AS left;
RESET tenancy.allow_session_scope;

-------------------------------------------------------------------------------
-- Tokens (HS256 JWT)
-------------------------------------------------------------------------------
SELECT pg_temp.try($$SELECT tenancy.enter_token('x')$$) AS no_key_yet;
SELECT pg_temp.try($$SELECT tenancy.add_token_key('short'::bytea)$$) AS short_secret;
SELECT tenancy.add_token_key(convert_to('0123456789abcdef0123456789abcdef', 'UTF8'), 'k1');
-- 4102444800 = 2100-01-01, 1000000000 = 2001-09-09
SELECT pg_temp.jwt('{"alg":"HS256","typ":"JWT","kid":"k1"}',
                   '{"tenant_id":"aaaaaaaa-0000-4000-8000-000000000001","exp":4102444800}',
                   '0123456789abcdef0123456789abcdef') AS good_a \gset
SELECT :'good_a' LIKE 'eyJ%' AS looks_like_a_jwt;
SET ROLE tenancy_app;
BEGIN;
SELECT tenancy.enter_token(:'good_a');
SELECT pg_temp.seen();
COMMIT;
SELECT tenancy.current() IS NULL AS token_context_ended;
-- Application roles cannot read the keys, add one, or issue tokens.
SELECT pg_temp.try($$SELECT count(*) FROM tenancy.token_keys$$) AS read_keys;
SELECT pg_temp.try($$SELECT tenancy.add_token_key(convert_to(repeat('x', 32), 'UTF8'))$$) AS add_key;
SELECT pg_temp.try($$SELECT tenancy.issue_token('aaaaaaaa-0000-4000-8000-000000000001')$$) AS issue;
-- Bad tokens: each refused, and no context after.
RESET ROLE;
CREATE TEMP TABLE bad_tokens (label text, token text);
INSERT INTO bad_tokens VALUES
 ('expired', pg_temp.jwt('{"alg":"HS256","kid":"k1"}', '{"tenant_id":"aaaaaaaa-0000-4000-8000-000000000001","exp":1000000000}', '0123456789abcdef0123456789abcdef')),
 ('no exp', pg_temp.jwt('{"alg":"HS256","kid":"k1"}', '{"tenant_id":"aaaaaaaa-0000-4000-8000-000000000001"}', '0123456789abcdef0123456789abcdef')),
 ('not yet valid', pg_temp.jwt('{"alg":"HS256","kid":"k1"}', '{"tenant_id":"aaaaaaaa-0000-4000-8000-000000000001","exp":4102444800,"nbf":4102444000}', '0123456789abcdef0123456789abcdef')),
 ('alg none, no signature', pg_temp.b64url(convert_to('{"alg":"none"}', 'UTF8')) || '.' || pg_temp.b64url(convert_to('{"tenant_id":"aaaaaaaa-0000-4000-8000-000000000001","exp":4102444800}', 'UTF8')) || '.'),
 ('alg none, signed', pg_temp.jwt('{"alg":"none"}', '{"tenant_id":"aaaaaaaa-0000-4000-8000-000000000001","exp":4102444800}', '0123456789abcdef0123456789abcdef')),
 ('alg RS256', pg_temp.jwt('{"alg":"RS256","kid":"k1"}', '{"tenant_id":"aaaaaaaa-0000-4000-8000-000000000001","exp":4102444800}', '0123456789abcdef0123456789abcdef')),
 ('alg hs256', pg_temp.jwt('{"alg":"hs256","kid":"k1"}', '{"tenant_id":"aaaaaaaa-0000-4000-8000-000000000001","exp":4102444800}', '0123456789abcdef0123456789abcdef')),
 ('other key', pg_temp.jwt('{"alg":"HS256"}', '{"tenant_id":"aaaaaaaa-0000-4000-8000-000000000001","exp":4102444800}', 'another secret of thirty-two bytes!')),
 ('unknown kid', pg_temp.jwt('{"alg":"HS256","kid":"k9"}', '{"tenant_id":"aaaaaaaa-0000-4000-8000-000000000001","exp":4102444800}', '0123456789abcdef0123456789abcdef')),
 ('tampered payload', split_part(:'good_a', '.', 1) || '.' || pg_temp.b64url(convert_to('{"tenant_id":"bbbbbbbb-0000-4000-8000-000000000002","exp":4102444800}', 'UTF8')) || '.' || split_part(:'good_a', '.', 3)),
 ('tenant not a uuid', pg_temp.jwt('{"alg":"HS256","kid":"k1"}', '{"tenant_id":"acme","exp":4102444800}', '0123456789abcdef0123456789abcdef')),
 ('tenant a number', pg_temp.jwt('{"alg":"HS256","kid":"k1"}', '{"tenant_id":42,"exp":4102444800}', '0123456789abcdef0123456789abcdef')),
 ('no tenant claim', pg_temp.jwt('{"alg":"HS256","kid":"k1"}', '{"sub":"u1","exp":4102444800}', '0123456789abcdef0123456789abcdef')),
 ('duplicate claim', pg_temp.jwt('{"alg":"HS256","kid":"k1"}', '{"tenant_id":"aaaaaaaa-0000-4000-8000-000000000001","tenant_id":"bbbbbbbb-0000-4000-8000-000000000002","exp":4102444800}', '0123456789abcdef0123456789abcdef')),
 ('not a jwt', 'hello'),
 ('empty', '');
GRANT SELECT ON bad_tokens TO tenancy_app;
SET ROLE tenancy_app;
-- (the details name the current time: masked)
SELECT label, regexp_replace(pg_temp.try(format('SELECT tenancy.enter_token(%L)', token)), 'now \d+', 'now N') AS result
  FROM bad_tokens ORDER BY label;
SELECT tenancy.current() IS NULL AS still_no_context;
SELECT pg_temp.try($$SELECT tenancy.enter_token(NULL)$$) AS null_token;
-- A valid token of another tenant enters that tenant, and only it.
BEGIN;
SELECT tenancy.enter_token(pg_temp.jwt('{"alg":"HS256","kid":"k1"}', '{"tenant_id":"bbbbbbbb-0000-4000-8000-000000000002","exp":4102444800}', '0123456789abcdef0123456789abcdef'));
SELECT pg_temp.seen();
SELECT pg_temp.try($$SELECT body FROM notes WHERE tenant_id = 'aaaaaaaa-0000-4000-8000-000000000001'$$) AS other_tenant_rows;
COMMIT;
RESET ROLE;
-- The claim is configurable (a nested path too); issue_token() uses it.
SET tenancy.token_claim = 'app_metadata.org';
SET ROLE tenancy_app;
BEGIN;
SELECT tenancy.enter_token(pg_temp.jwt('{"alg":"HS256"}', '{"app_metadata":{"org":"aaaaaaaa-0000-4000-8000-000000000001"},"exp":4102444800}', '0123456789abcdef0123456789abcdef'));
COMMIT;
SELECT pg_temp.try(format('SELECT tenancy.enter_token(%L)', :'good_a')) AS tenant_id_claim_now_ignored;
RESET ROLE;
SELECT pg_temp.try_ddl($$SET tenancy.token_claim = 'exp'$$) AS claim_exp;
SELECT tenancy.issue_token('bbbbbbbb-0000-4000-8000-000000000002', '5 minutes') AS issued \gset
SELECT convert_from(decode(translate(split_part(:'issued', '.', 1), '-_', '+/') || repeat('=', (4 - length(split_part(:'issued', '.', 1)) % 4) % 4), 'base64'), 'UTF8') AS issued_header;
SELECT (convert_from(decode(translate(split_part(:'issued', '.', 2), '-_', '+/') || repeat('=', (4 - length(split_part(:'issued', '.', 2)) % 4) % 4), 'base64'), 'UTF8')::jsonb -> 'app_metadata.org') AS issued_claim;
BEGIN;
SELECT tenancy.enter_token(:'issued');
COMMIT;
RESET tenancy.token_claim;
SELECT pg_temp.try($$SELECT tenancy.issue_token('bbbbbbbb-0000-4000-8000-000000000002', '0 seconds')$$) AS ttl_zero;
SELECT pg_temp.try($$SELECT tenancy.issue_token('bbbbbbbb-0000-4000-8000-000000000002', '400 days')$$) AS ttl_too_long;
SELECT pg_temp.try($$SELECT tenancy.issue_token(NULL)$$) AS null_tenant;
-- Key rotation: a new key signs, the old one still verifies until dropped.
SELECT tenancy.add_token_key(convert_to('fedcba9876543210fedcba9876543210', 'UTF8'), 'k2');
SELECT tenancy.issue_token('aaaaaaaa-0000-4000-8000-000000000001') AS issued2 \gset
SELECT split_part(:'issued2', '.', 1) = pg_temp.b64url(convert_to('{"alg":"HS256","typ":"JWT","kid":"k2"}', 'UTF8')) AS signed_by_newest;
SELECT tenancy.drop_token_key('k1');
SET ROLE tenancy_app;
SELECT pg_temp.try(format('SELECT tenancy.enter_token(%L)', :'good_a')) AS old_key_dropped;
SELECT pg_temp.try(format('SELECT tenancy.enter_token(%L)', :'issued2')) AS new_key;
RESET ROLE;
SELECT tenancy.drop_token_key('k2');
SELECT pg_temp.try(format('SELECT tenancy.enter_token(%L)', :'issued2')) AS no_keys_left;

DROP TABLE notes;
REVOKE ALL ON FUNCTION tenancy.enter(uuid, boolean) FROM tenancy_trusted;
REVOKE ALL ON SCHEMA tenancy FROM tenancy_app, tenancy_trusted;
DROP ROLE tenancy_app;
DROP ROLE tenancy_trusted;
