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

REVOKE ALL ON FUNCTION @extschema@.live_objects(), @extschema@.divide(integer, integer),
    @extschema@.run_sql(text), @extschema@.throw(text), @extschema@.spin(double precision)
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
