-- casebook_selftest: probes of the C++/PostgreSQL boundary, used by the
-- core_boundary regression test and the memory check. Superuser only.
\echo Use "CREATE EXTENSION casebook_selftest" to load this file. \quit

CREATE FUNCTION @extschema@.live_objects() RETURNS integer
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_live_objects';
COMMENT ON FUNCTION @extschema@.live_objects() IS
    'C++ objects with destructors currently alive in this backend (0 when no native call runs)';

CREATE FUNCTION @extschema@.divide(dividend integer, divisor integer) RETURNS integer
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_divide';
COMMENT ON FUNCTION @extschema@.divide(integer, integer) IS
    'runs a kept SPI plan "SELECT $1 / $2" while C++ objects are alive';

CREATE FUNCTION @extschema@.run_sql(query text) RETURNS bigint
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_run_sql';
COMMENT ON FUNCTION @extschema@.run_sql(text) IS
    'runs any SQL through SPI while C++ objects are alive; returns rows processed';

CREATE FUNCTION @extschema@.throw(kind text) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_throw';
COMMENT ON FUNCTION @extschema@.throw(text) IS
    'throws a C++ exception: domain | standard | bad_alloc | foreign';

CREATE FUNCTION @extschema@.spin(seconds double precision) RETURNS bigint
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_spin';
COMMENT ON FUNCTION @extschema@.spin(double precision) IS
    'a native loop that checks for interrupts; returns iterations';

CREATE FUNCTION @extschema@.nested(kind text, depth integer) RETURNS integer
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_nested';
COMMENT ON FUNCTION @extschema@.nested(text, integer) IS
    'depth guards, each inside the previous one''s callable; the innermost returns 42 (ok), raises 22012 (pg_error) or throws (domain | bad_alloc)';

CREATE FUNCTION @extschema@.guard_state(kind text) RETURNS text
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_guard_state';
COMMENT ON FUNCTION @extschema@.guard_state(text) IS
    'a guard whose callable switches memory context and throws (throw), or throws from a hand-written PG_TRY (pg_try); says which state the guard restored';

CREATE FUNCTION @extschema@.escape_pg_try(place text) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_escape_pg_try';
COMMENT ON FUNCTION @extschema@.escape_pg_try(text) IS
    'throws a C++ exception out of a hand-written PG_TRY block, in the entry or inside a guard';

CREATE FUNCTION @extschema@.hook_calls() RETURNS text
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_hook_calls';
COMMENT ON FUNCTION @extschema@.hook_calls() IS
    'calls of the module''s ExecutorStart hooks (refusing, and the stand-in previous hook) and ProcessUtility hook in this backend';

CREATE FUNCTION @extschema@.entry_stack_bytes() RETURNS bigint
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_entry_stack_bytes';
COMMENT ON FUNCTION @extschema@.entry_stack_bytes() IS
    'stack bytes between an SQL function''s caller frame and its body (the entry wrapper''s cost)';

REVOKE ALL ON FUNCTION @extschema@.live_objects(), @extschema@.divide(integer, integer),
    @extschema@.run_sql(text), @extschema@.throw(text), @extschema@.spin(double precision),
    @extschema@.nested(text, integer), @extschema@.guard_state(text), @extschema@.escape_pg_try(text),
    @extschema@.hook_calls(), @extschema@.entry_stack_bytes()
    FROM PUBLIC;

CREATE FUNCTION @extschema@.leak_control() RETURNS integer
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_leak_control';
COMMENT ON FUNCTION @extschema@.leak_control() IS
    'leaks one 4242-byte block on purpose: the memory check''s positive control';
REVOKE ALL ON FUNCTION @extschema@.leak_control() FROM PUBLIC;

CREATE FUNCTION @extschema@.describe_layout(rel regclass) RETURNS text
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_describe_layout';
COMMENT ON FUNCTION @extschema@.describe_layout(regclass) IS
    'the description of a table that direct paths compare with the layout their extension created (core/layout.hpp)';
REVOKE ALL ON FUNCTION @extschema@.describe_layout(regclass) FROM PUBLIC;

CREATE FUNCTION @extschema@.expected_layout(name text) RETURNS text
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'selftest_expected_layout';
COMMENT ON FUNCTION @extschema@.expected_layout(text) IS
    'the layout an extension''s direct paths expect of a table (its tables.hpp): ''commerce.stock'', ''eventstore.events partition'', ...';
REVOKE ALL ON FUNCTION @extschema@.expected_layout(text) FROM PUBLIC;
