-- commerce: privileges and attacks. A plain role is created inside the test
-- transaction; every attack is an attempt followed by a check that it failed.
--
-- The design: USAGE on the schema and SELECT on categories, products,
-- product_variants, product_review_stats and the inventory view are PUBLIC;
-- of the functions only available, products_in_category and product_page are
-- PUBLIC. Everything else (writes, holds, checkout, admin) needs a grant, and
-- the SECURITY DEFINER functions run with a fixed search_path.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS commerce CASCADE;

SELECT plan(70);

-------------------------------------------------------------------------------
-- Fixture (as the owner): one product with one variant, 10 units restocked,
-- an order of 2 checked out and a hold of 1 still open:
-- quantity 8, reserved 1, available 7.
-------------------------------------------------------------------------------
CREATE ROLE commerce_tap_intruder NOLOGIN;

INSERT INTO commerce.categories (name, slug) VALUES ('Security probe', 'tap_security_probe');
INSERT INTO commerce.products (sku, name, base_price, category_id)
    SELECT 'TAP-SEC-P', 'security probe', 12.50, id
      FROM commerce.categories WHERE slug = 'tap_security_probe' AND parent_id IS NULL;
INSERT INTO commerce.product_variants (product_id, sku)
    SELECT id, 'TAP-SEC-V' FROM commerce.products WHERE sku = 'TAP-SEC-P';
INSERT INTO commerce.users (email, password_hash) VALUES ('tap-security@example.com', 'x');
DO $fixture$
DECLARE
    v bigint := (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V');
    u bigint := (SELECT id FROM commerce.users WHERE email = 'tap-security@example.com');
BEGIN
    PERFORM commerce.restock(v, 10);
    PERFORM commerce.checkout(commerce.reserve_cart(ARRAY[v], ARRAY[2], interval '15 minutes',
                                                    'tap-sec-cart', u));
    PERFORM commerce.reserve(v, 1, interval '15 minutes', 'tap-sec-owner');
END
$fixture$;

-------------------------------------------------------------------------------
-- What PUBLIC is given, read from the catalog
-------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT p.oid::regprocedure::text
        FROM pg_catalog.pg_proc p,
             pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
       WHERE p.pronamespace = 'commerce'::regnamespace
         AND a.grantee = 0 AND a.privilege_type = 'EXECUTE'
       ORDER BY 1$$,
    $$VALUES ('commerce.available(bigint)'), ('commerce.product_page(bigint)'),
             ('commerce.products_in_category(bigint)')$$,
    'PUBLIC may execute only available, product_page and products_in_category');
SELECT results_eq(
    $$SELECT c.relname::text COLLATE "default", a.privilege_type
        FROM pg_catalog.pg_class c,
             pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault(
                 CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
       WHERE c.relnamespace = 'commerce'::regnamespace
         AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
         AND a.grantee = 0
       ORDER BY 1, 2$$,
    $$VALUES ('categories', 'SELECT'), ('inventory', 'SELECT'), ('product_review_stats', 'SELECT'),
             ('product_variants', 'SELECT'), ('products', 'SELECT')$$,
    'PUBLIC has SELECT on the catalog tables and inventory only, and nothing on sequences');
SELECT schema_privs_are('commerce', 'commerce_tap_intruder', ARRAY['USAGE'],
    'a plain role has USAGE on schema commerce but not CREATE');
SELECT ok(NOT pg_catalog.has_schema_privilege('commerce_tap_intruder',
              (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'ltree'), 'CREATE'),
    'a plain role cannot create objects in ltree''s schema (on the search_path of two commerce functions)');

-- Fixed search_path on every function.
SELECT results_eq(
    $$SELECT p.oid::regprocedure::text, p.proconfig COLLATE "default"
        FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'commerce'::regnamespace AND p.prosecdef
       ORDER BY 1$$,
    $$SELECT f, ARRAY['search_path=pg_catalog, pg_temp']
        FROM unnest(ARRAY[
            'commerce._cron_park()', 'commerce._cron_restore()',
            'commerce.available(bigint)', 'commerce.checkout(bigint,bigint,text)',
            'commerce.confirm(bigint)', 'commerce.expire(bigint)', 'commerce.orders_guard()',
            'commerce.release(bigint)', 'commerce.reserve(bigint,bigint,interval,text)',
            'commerce.reserve_cart(bigint[],bigint[],interval,text,bigint)',
            'commerce.restock(bigint,bigint)', 'commerce.set_buckets(bigint,bigint)',
            'commerce.set_order_status(bigint,text)']) AS f
       ORDER BY 1$$,
    'every SECURITY DEFINER function has proconfig {search_path=pg_catalog, pg_temp}');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text
        FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'commerce'::regnamespace
         AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) AS s
                          WHERE s LIKE 'search\_path=pg\_catalog, %' AND s LIKE '%, pg\_temp')$$,
    'every commerce function pins search_path to pg_catalog first and pg_temp last');

-------------------------------------------------------------------------------
-- As the plain role, without any grant
-------------------------------------------------------------------------------
SET ROLE commerce_tap_intruder;
SELECT is(current_user::text, 'commerce_tap_intruder', 'now running as the plain role');

-- What it may do.
SELECT results_eq($$SELECT sku::text FROM commerce.products WHERE sku LIKE 'TAP-SEC-%'$$,
                  $$VALUES ('TAP-SEC-P')$$, 'the role reads the catalog');
SELECT is(commerce.available((SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V')),
          7::bigint, 'the role calls available(): 7 units');
SELECT results_eq(
    $$SELECT quantity, reserved, available, buckets FROM commerce.inventory
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V')$$,
    $$VALUES (8::bigint, 1::bigint, 7::bigint, 1)$$,
    'the role reads the inventory view: 8 on hand, 1 held, 7 available');
SELECT results_eq(
    $$SELECT sku::text FROM commerce.products_in_category(
          (SELECT id FROM commerce.categories WHERE slug = 'tap_security_probe' AND parent_id IS NULL))$$,
    $$VALUES ('TAP-SEC-P')$$, 'the role calls products_in_category()');
SELECT results_eq(
    $$SELECT sku::text, base_price, review_count FROM commerce.product_page(
          (SELECT id FROM commerce.products WHERE sku = 'TAP-SEC-P'))$$,
    $$VALUES ('TAP-SEC-P', 12.50::numeric, 0::bigint)$$, 'the role calls product_page()');

-- Private tables cannot be read.
SELECT throws_ok('SELECT * FROM commerce.users', '42501', 'permission denied for table users',
                 'the role cannot read commerce.users');
SELECT throws_ok('SELECT * FROM commerce.addresses', '42501', 'permission denied for table addresses',
                 'the role cannot read commerce.addresses');
SELECT throws_ok('SELECT * FROM commerce.carts', '42501', 'permission denied for table carts',
                 'the role cannot read commerce.carts');
SELECT throws_ok('SELECT * FROM commerce.orders', '42501', 'permission denied for table orders',
                 'the role cannot read commerce.orders');
SELECT throws_ok('SELECT * FROM commerce.order_items', '42501', 'permission denied for table order_items',
                 'the role cannot read commerce.order_items');
SELECT throws_ok('SELECT * FROM commerce.reservations', '42501', 'permission denied for table reservations',
                 'the role cannot read commerce.reservations');
SELECT throws_ok('SELECT * FROM commerce.stock', '42501', 'permission denied for table stock',
                 'the role cannot read commerce.stock (only the inventory view)');
SELECT throws_ok('SELECT * FROM commerce.reviews', '42501', 'permission denied for table reviews',
                 'the role cannot read commerce.reviews (only the kept aggregates)');

-- Direct writes to the hot tables.
SELECT throws_ok(
    $$INSERT INTO commerce.stock (variant_id, bucket, nbuckets, quantity, reserved)
      SELECT id, 1, 1, 1000, 0 FROM commerce.product_variants WHERE sku = 'TAP-SEC-V'$$,
    '42501', 'permission denied for table stock', 'the role cannot INSERT into commerce.stock');
SELECT throws_ok('UPDATE commerce.stock SET quantity = 1000, reserved = 0', '42501',
    'permission denied for table stock', 'the role cannot UPDATE commerce.stock');
SELECT throws_ok('DELETE FROM commerce.stock', '42501',
    'permission denied for table stock', 'the role cannot DELETE FROM commerce.stock');
SELECT throws_ok(
    $$INSERT INTO commerce.reservations (variant_id, bucket, quantity, expires_at)
      VALUES (1, 0, 1, now() + interval '1 hour')$$,
    '42501', 'permission denied for table reservations', 'the role cannot INSERT into commerce.reservations');
SELECT throws_ok($$UPDATE commerce.reservations SET status = 'released'$$, '42501',
    'permission denied for table reservations', 'the role cannot UPDATE commerce.reservations');
SELECT throws_ok('DELETE FROM commerce.reservations', '42501',
    'permission denied for table reservations', 'the role cannot DELETE FROM commerce.reservations');
SELECT throws_ok($$INSERT INTO commerce.orders (total) VALUES (0)$$, '42501',
    'permission denied for table orders', 'the role cannot INSERT into commerce.orders');
SELECT throws_ok($$UPDATE commerce.orders SET status = 'shipped', total = 0$$, '42501',
    'permission denied for table orders', 'the role cannot UPDATE commerce.orders');
SELECT throws_ok('DELETE FROM commerce.orders', '42501',
    'permission denied for table orders', 'the role cannot DELETE FROM commerce.orders');
SELECT throws_ok(
    $$INSERT INTO commerce.order_items (order_id, variant_id, quantity, unit_price) VALUES (1, 1, 1, 0)$$,
    '42501', 'permission denied for table order_items', 'the role cannot INSERT into commerce.order_items');
SELECT throws_ok('UPDATE commerce.order_items SET unit_price = 0', '42501',
    'permission denied for table order_items', 'the role cannot UPDATE commerce.order_items');
SELECT throws_ok('DELETE FROM commerce.order_items', '42501',
    'permission denied for table order_items', 'the role cannot DELETE FROM commerce.order_items');

-- The readable catalog is still read-only.
SELECT throws_ok($$INSERT INTO commerce.products (sku, name, base_price) VALUES ('TAP-SEC-X', 'x', 0)$$,
    '42501', 'permission denied for table products', 'the role cannot INSERT into commerce.products');
SELECT throws_ok('UPDATE commerce.product_variants SET price_modifier = -12.50', '42501',
    'permission denied for table product_variants', 'the role cannot UPDATE commerce.product_variants');
SELECT throws_ok('DELETE FROM commerce.categories', '42501',
    'permission denied for table categories', 'the role cannot DELETE FROM commerce.categories');
SELECT throws_ok('UPDATE commerce.product_review_stats SET rating_5 = rating_5 + 100', '42501',
    'permission denied for table product_review_stats',
    'the role cannot UPDATE commerce.product_review_stats');
-- Nor lock what it can read (a held lock would stall the shop's writers).
SELECT throws_ok('SELECT id FROM commerce.product_variants FOR SHARE', '42501',
    'permission denied for table product_variants',
    'the role cannot row-lock product_variants (set_buckets locks those rows)');
SELECT throws_ok('LOCK TABLE commerce.products IN ACCESS EXCLUSIVE MODE', '42501',
    'permission denied for table products', 'the role cannot lock commerce.products exclusively');
SELECT throws_ok($$SELECT pg_catalog.setval('commerce.reservations_id_seq', 1)$$, '42501',
    'permission denied for sequence reservations_id_seq', 'the role cannot move an id sequence');
-- Nor plant objects in the extension's schema (an overload would win for integer arguments).
SELECT throws_ok(
    $$CREATE FUNCTION commerce.available(variant integer) RETURNS bigint
      LANGUAGE sql AS 'SELECT 1000000::bigint'$$,
    '42501', 'permission denied for schema commerce',
    'the role cannot create a function in schema commerce');

-- The functions that are not PUBLIC.
SELECT throws_ok('SELECT commerce.restock(1, 1000)', '42501',
    'permission denied for function restock', 'the role cannot call restock');
SELECT throws_ok('SELECT commerce.set_buckets(1, 4)', '42501',
    'permission denied for function set_buckets', 'the role cannot call set_buckets');
SELECT throws_ok('SELECT commerce.expire()', '42501',
    'permission denied for function expire', 'the role cannot call expire');
SELECT throws_ok($$SELECT commerce.set_order_status(1, 'shipped')$$, '42501',
    'permission denied for function set_order_status', 'the role cannot call set_order_status');
SELECT throws_ok('SELECT commerce.reserve(1, 1)', '42501',
    'permission denied for function reserve', 'the role cannot call reserve');
SELECT throws_ok('SELECT commerce.checkout(1)', '42501',
    'permission denied for function checkout', 'the role cannot call checkout');
SELECT throws_ok('SELECT commerce.reserve_cart(ARRAY[1::bigint], ARRAY[1])', '42501',
    'permission denied for function reserve_cart', 'the role cannot call reserve_cart');
SELECT throws_ok('SELECT commerce.confirm(1)', '42501',
    'permission denied for function confirm', 'the role cannot call confirm');
SELECT throws_ok('SELECT commerce.release(1)', '42501',
    'permission denied for function release', 'the role cannot call release');

SELECT results_eq(
    $$SELECT quantity, reserved, available FROM commerce.inventory
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V')$$,
    $$VALUES (8::bigint, 1::bigint, 7::bigint)$$,
    'after all those attempts the stock is unchanged: 8 on hand, 1 held');
RESET ROLE;

-------------------------------------------------------------------------------
-- With EXECUTE on reserve only: holds go through the function, nothing else
-------------------------------------------------------------------------------
GRANT EXECUTE ON FUNCTION commerce.reserve(bigint, bigint, interval, text) TO commerce_tap_intruder;
SET ROLE commerce_tap_intruder;

SELECT lives_ok(
    $$SELECT commerce.reserve((SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V'), 3,
                              interval '15 minutes', 'tap-sec-granted')$$,
    'with EXECUTE granted the role reserves 3 units through the SECURITY DEFINER function');
SELECT throws_ok('UPDATE commerce.stock SET reserved = 0', '42501', 'permission denied for table stock',
    'with EXECUTE on reserve, a direct UPDATE of commerce.stock still fails');
SELECT throws_ok($$UPDATE commerce.reservations SET status = 'released'$$, '42501',
    'permission denied for table reservations',
    'with EXECUTE on reserve, a direct UPDATE of commerce.reservations still fails');
SELECT throws_ok('SELECT commerce.restock(1, 1000)', '42501', 'permission denied for function restock',
    'EXECUTE on reserve does not extend to restock');
SELECT throws_ok('SELECT commerce.release(1)', '42501', 'permission denied for function release',
    'EXECUTE on reserve does not extend to release');
-- Through the granted function: no negative hold that would hand out stock,
-- no hold beyond what is available.
SELECT throws_ok(
    $$SELECT commerce.reserve((SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V'), -5)$$,
    '22023', NULL, 'reserve refuses a negative quantity');
SELECT throws_ok(
    $$SELECT commerce.reserve((SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V'), 5)$$,
    'KB101', NULL, 'reserve refuses more than the 4 units left');
SELECT results_eq(
    $$SELECT quantity, reserved, available FROM commerce.inventory
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V')$$,
    $$VALUES (8::bigint, 4::bigint, 4::bigint)$$,
    'the role sees 8 on hand, 4 held, 4 available');
RESET ROLE;

SELECT results_eq(
    $$SELECT bucket, nbuckets, quantity, reserved FROM commerce.stock
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V')$$,
    $$VALUES (0, 1, 8, 4)$$,
    'stock after the granted reserve: bucket 0 holds exactly 8 units, 4 reserved');
SELECT results_eq(
    $$SELECT r.variant_id = v.id, r.bucket, r.quantity, r.status::text, r.cart_id IS NULL,
             r.expires_at - r.created_at
        FROM commerce.reservations r, commerce.product_variants v
       WHERE r.idempotency_key = 'tap-sec-granted' AND v.sku = 'TAP-SEC-V'$$,
    $$VALUES (true, 0, 3, 'held'::text, true, interval '15 minutes')$$,
    'the role''s hold is one held reservation of 3 units for 15 minutes');

-------------------------------------------------------------------------------
-- Attack: shadow operators and functions in a schema put before pg_catalog
-------------------------------------------------------------------------------
SELECT pg_catalog.format('GRANT CREATE ON DATABASE %I TO commerce_tap_intruder', pg_catalog.current_database())
\gexec
SET ROLE commerce_tap_intruder;

CREATE SCHEMA tap_evil;
GRANT USAGE ON SCHEMA tap_evil TO PUBLIC;
-- Every shadowing object writes here when it runs (whoever runs it), and
-- bumps a sequence, which keeps counting even if the call is rolled back.
CREATE TABLE tap_evil.tripwire (what text NOT NULL, who name NOT NULL DEFAULT current_user);
GRANT INSERT ON tap_evil.tripwire TO PUBLIC;
CREATE SEQUENCE tap_evil.trips;
GRANT USAGE, UPDATE ON SEQUENCE tap_evil.trips TO PUBLIC;
CREATE TABLE tap_evil.outcome (step text PRIMARY KEY, value text);

CREATE FUNCTION tap_evil.int4pl(a integer, b integer) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    INSERT INTO tap_evil.tripwire (what) VALUES ('+(integer,integer)');
    PERFORM pg_catalog.nextval('tap_evil.trips');
    RAISE NOTICE 'shadowing + ran';
    RETURN a + b + 1000;
END
$fn$;
CREATE OPERATOR tap_evil.+ (LEFTARG = integer, RIGHTARG = integer, FUNCTION = tap_evil.int4pl);

CREATE FUNCTION tap_evil.int4mi(a integer, b integer) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    INSERT INTO tap_evil.tripwire (what) VALUES ('-(integer,integer)');
    PERFORM pg_catalog.nextval('tap_evil.trips');
    RAISE NOTICE 'shadowing - ran';
    RETURN a - b + 1000;
END
$fn$;
CREATE OPERATOR tap_evil.- (LEFTARG = integer, RIGHTARG = integer, FUNCTION = tap_evil.int4mi);

CREATE FUNCTION tap_evil.int4ge(a integer, b integer) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    INSERT INTO tap_evil.tripwire (what) VALUES ('>=(integer,integer)');
    PERFORM pg_catalog.nextval('tap_evil.trips');
    RAISE NOTICE 'shadowing >= ran';
    RETURN true;
END
$fn$;
CREATE OPERATOR tap_evil.>= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = tap_evil.int4ge);

CREATE FUNCTION tap_evil.tstz_pl_interval(a timestamptz, b interval) RETURNS timestamptz
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    INSERT INTO tap_evil.tripwire (what) VALUES ('+(timestamptz,interval)');
    PERFORM pg_catalog.nextval('tap_evil.trips');
    RAISE NOTICE 'shadowing timestamptz + interval ran';
    RETURN a + b - interval '1 year';
END
$fn$;
CREATE OPERATOR tap_evil.+ (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = tap_evil.tstz_pl_interval);

CREATE FUNCTION tap_evil.now() RETURNS timestamptz
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    INSERT INTO tap_evil.tripwire (what) VALUES ('now()');
    PERFORM pg_catalog.nextval('tap_evil.trips');
    RAISE NOTICE 'shadowing now() ran';
    RETURN pg_catalog.now() - interval '1 year';
END
$fn$;

CREATE FUNCTION tap_evil.statement_timestamp() RETURNS timestamptz
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    INSERT INTO tap_evil.tripwire (what) VALUES ('statement_timestamp()');
    PERFORM pg_catalog.nextval('tap_evil.trips');
    RAISE NOTICE 'shadowing statement_timestamp() ran';
    RETURN pg_catalog.statement_timestamp() - interval '1 year';
END
$fn$;

CREATE FUNCTION tap_evil.sum_step(s bigint, v integer) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    INSERT INTO tap_evil.tripwire (what) VALUES ('sum(integer)');
    PERFORM pg_catalog.nextval('tap_evil.trips');
    RAISE NOTICE 'shadowing sum(integer) ran';
    RETURN coalesce(s, 0) + v + 1000;
END
$fn$;
CREATE AGGREGATE tap_evil.sum(integer) (SFUNC = tap_evil.sum_step, STYPE = bigint);

-- The attacker's search_path: its schema first, even before pg_catalog.
SET search_path = tap_evil, pg_catalog, public;

-- Armed: plain SQL under this search_path really resolves to the shadows
-- (quietly here; during the attack below their notices would show).
SET client_min_messages = warning;
INSERT INTO tap_evil.outcome (step, value)
SELECT 'armed', pg_catalog.concat_ws(' ',
    1 + 1, 5 - 2, 1 >= 2,
    now() < pg_catalog.now(),
    statement_timestamp() < pg_catalog.statement_timestamp(),
    pg_catalog.now() + interval '1 day' < pg_catalog.now(),
    (SELECT sum(x) FROM (VALUES (1), (2)) AS v (x)));

RESET search_path;
RESET client_min_messages;
SELECT results_eq(
    $$SELECT DISTINCT what FROM tap_evil.tripwire ORDER BY 1$$,
    $$VALUES ('+(integer,integer)'), ('+(timestamptz,interval)'), ('-(integer,integer)'),
             ('>=(integer,integer)'), ('now()'), ('statement_timestamp()'), ('sum(integer)')$$,
    'the trap is armed: every shadowing object runs for plain SQL under the attacker''s search_path');
SELECT is((SELECT last_value FROM tap_evil.trips), 8::bigint,
          'the trap is armed: the shadows ran 8 times (sum twice) and counted it');
SELECT is((SELECT value FROM tap_evil.outcome WHERE step = 'armed'),
          '1002 1003 t t t t 2003',
          'the trap is armed: the shadows give wrong answers');
DELETE FROM tap_evil.tripwire;

-- The attack: call the PUBLIC and the granted SECURITY DEFINER functions
-- with that search_path in place. Each call runs in its own block so that a
-- call that fails is recorded instead of ending the test run.
SET search_path = tap_evil, pg_catalog, public;
DO $attack$
DECLARE
    v bigint := (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V');
BEGIN
    BEGIN
        INSERT INTO tap_evil.outcome (step, value)
        VALUES ('available before', commerce.available(v)::text);
    EXCEPTION WHEN others THEN
        INSERT INTO tap_evil.outcome (step, value)
        VALUES ('available before', 'error ' || SQLSTATE || ': ' || SQLERRM);
    END;
    BEGIN
        INSERT INTO tap_evil.outcome (step, value)
        VALUES ('reserve', (commerce.reserve(v, 2, interval '15 minutes', 'tap-sec-attack') IS NOT NULL)::text);
    EXCEPTION WHEN others THEN
        INSERT INTO tap_evil.outcome (step, value)
        VALUES ('reserve', 'error ' || SQLSTATE || ': ' || SQLERRM);
    END;
    BEGIN
        INSERT INTO tap_evil.outcome (step, value)
        VALUES ('available after', commerce.available(v)::text);
    EXCEPTION WHEN others THEN
        INSERT INTO tap_evil.outcome (step, value)
        VALUES ('available after', 'error ' || SQLSTATE || ': ' || SQLERRM);
    END;
END
$attack$;
RESET search_path;

SELECT is_empty($$SELECT what, who FROM tap_evil.tripwire$$,
    'no shadowing object ran inside available() or reserve() (search_path pinned)');
SELECT is((SELECT last_value FROM tap_evil.trips), 8::bigint,
          'the shadows'' counter did not move during the attack, not even in a rolled-back call');
SELECT results_eq(
    $$SELECT step, value FROM tap_evil.outcome WHERE step <> 'armed' ORDER BY step$$,
    $$VALUES ('available after', '2'), ('available before', '4'), ('reserve', 'true')$$,
    'under the attack available() answered 4 then 2, and reserve() returned an id');
SELECT results_eq(
    $$SELECT quantity, reserved, available FROM commerce.inventory
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V')$$,
    $$VALUES (8::bigint, 6::bigint, 2::bigint)$$,
    'the role sees 8 on hand, 6 held, 2 available after the attack');
RESET ROLE;

SELECT results_eq(
    $$SELECT bucket, nbuckets, quantity, reserved FROM commerce.stock
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SEC-V')$$,
    $$VALUES (0, 1, 8, 6)$$,
    'stock after the attack: exactly 8 units, 6 reserved (3 + 2 by the role, 1 by the owner)');
SELECT results_eq(
    $$SELECT r.variant_id = v.id, r.bucket, r.quantity, r.status::text, r.expires_at - r.created_at,
             r.created_at >= pg_catalog.now()
        FROM commerce.reservations r, commerce.product_variants v
       WHERE r.idempotency_key = 'tap-sec-attack' AND v.sku = 'TAP-SEC-V'$$,
    $$VALUES (true, 0, 2, 'held'::text, interval '15 minutes', true)$$,
    'the hold made under the attack: 2 units, 15 minutes, stamped with the real clock');
SELECT is((SELECT count(*) FROM commerce.reservations r JOIN commerce.product_variants v ON v.id = r.variant_id
            WHERE v.sku = 'TAP-SEC-V' AND r.status = 'held'), 3::bigint,
          'three holds are open: the owner''s, the granted one and the one made under attack');

SELECT * FROM finish();
ROLLBACK;
