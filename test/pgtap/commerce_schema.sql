-- commerce: schema shape. Tables, view, columns and types, keys, the indexes
-- the design and the scaling plan rely on, check constraints, the order
-- status enum, every function's signature, volatility and SECURITY DEFINER,
-- and the triggers. Everything runs in one transaction and rolls back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS commerce CASCADE;

SELECT plan(205);

-------------------------------------------------------------------------------
-- Extension and schema
-------------------------------------------------------------------------------
SELECT has_schema('commerce', 'schema commerce exists');
SELECT has_extension('commerce', 'commerce', 'extension commerce lives in schema commerce');
SELECT is((SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'commerce'),
          '0.2.0', 'commerce is installed at version 0.2.0');
SELECT is((SELECT extrelocatable FROM pg_catalog.pg_extension WHERE extname = 'commerce'),
          false, 'commerce is not relocatable (its functions name commerce.* directly)');
SELECT ok(EXISTS (SELECT 1
                    FROM pg_catalog.pg_depend d
                    JOIN pg_catalog.pg_extension e ON e.oid = d.objid
                    JOIN pg_catalog.pg_extension r ON r.oid = d.refobjid
                   WHERE d.classid = 'pg_catalog.pg_extension'::regclass
                     AND e.extname = 'commerce' AND r.extname = 'ltree' AND d.deptype = 'n'),
          'commerce depends on ltree');

-------------------------------------------------------------------------------
-- Tables and the inventory view
-------------------------------------------------------------------------------
SELECT tables_are('commerce',
    ARRAY['users', 'addresses', 'categories', 'products', 'product_variants', 'stock', 'carts',
          'reservations', 'orders', 'order_items', 'reviews', 'product_review_stats', 'cron_jobs'],
    'commerce has exactly the case-study tables, and the pg_cron jobs it scheduled');
SELECT has_table('commerce', 'users', 'table commerce.users exists');
SELECT has_table('commerce', 'addresses', 'table commerce.addresses exists');
SELECT has_table('commerce', 'categories', 'table commerce.categories exists');
SELECT has_table('commerce', 'products', 'table commerce.products exists');
SELECT has_table('commerce', 'product_variants', 'table commerce.product_variants exists');
SELECT has_table('commerce', 'stock', 'table commerce.stock exists');
SELECT has_table('commerce', 'carts', 'table commerce.carts exists');
SELECT has_table('commerce', 'reservations', 'table commerce.reservations exists');
SELECT has_table('commerce', 'orders', 'table commerce.orders exists');
SELECT has_table('commerce', 'order_items', 'table commerce.order_items exists');
SELECT has_table('commerce', 'reviews', 'table commerce.reviews exists');
SELECT has_table('commerce', 'product_review_stats', 'table commerce.product_review_stats exists');

SELECT has_view('commerce', 'inventory', 'view commerce.inventory exists');
SELECT columns_are('commerce', 'inventory',
    ARRAY['variant_id', 'quantity', 'reserved', 'available', 'buckets'],
    'inventory has variant_id, quantity, reserved, available, buckets');
SELECT col_type_is('commerce', 'inventory', 'variant_id', 'bigint', 'inventory.variant_id is bigint');
SELECT col_type_is('commerce', 'inventory', 'quantity', 'bigint', 'inventory.quantity is bigint');
SELECT col_type_is('commerce', 'inventory', 'reserved', 'bigint', 'inventory.reserved is bigint');
SELECT col_type_is('commerce', 'inventory', 'available', 'bigint', 'inventory.available is bigint');
SELECT col_type_is('commerce', 'inventory', 'buckets', 'integer', 'inventory.buckets is integer');

-------------------------------------------------------------------------------
-- Ids: bigint, filled from an owned sequence (bigserial)
-------------------------------------------------------------------------------
SELECT col_type_is('commerce', 'users', 'id', 'bigint', 'users.id is bigint');
SELECT col_type_is('commerce', 'addresses', 'id', 'bigint', 'addresses.id is bigint');
SELECT col_type_is('commerce', 'categories', 'id', 'bigint', 'categories.id is bigint');
SELECT col_type_is('commerce', 'products', 'id', 'bigint', 'products.id is bigint');
SELECT col_type_is('commerce', 'product_variants', 'id', 'bigint', 'product_variants.id is bigint');
SELECT col_type_is('commerce', 'carts', 'id', 'bigint', 'carts.id is bigint');
SELECT col_type_is('commerce', 'reservations', 'id', 'bigint', 'reservations.id is bigint');
SELECT col_type_is('commerce', 'orders', 'id', 'bigint', 'orders.id is bigint');
SELECT col_type_is('commerce', 'order_items', 'id', 'bigint', 'order_items.id is bigint');
SELECT col_type_is('commerce', 'reviews', 'id', 'bigint', 'reviews.id is bigint');
SELECT results_eq(
    $$SELECT t, pg_catalog.pg_get_serial_sequence('commerce.' || t, 'id') IS NOT NULL,
             (SELECT s.seqtypid FROM pg_catalog.pg_sequence s
               WHERE s.seqrelid = pg_catalog.pg_get_serial_sequence('commerce.' || t, 'id')::regclass)
        FROM unnest(ARRAY['users', 'addresses', 'categories', 'products', 'product_variants',
                          'carts', 'reservations', 'orders', 'order_items', 'reviews']) AS t
       ORDER BY t$$,
    $$SELECT t, true, 'bigint'::regtype::oid
        FROM unnest(ARRAY['users', 'addresses', 'categories', 'products', 'product_variants',
                          'carts', 'reservations', 'orders', 'order_items', 'reviews']) AS t
       ORDER BY t$$,
    'every id column is a bigserial (owned bigint sequence)');

-- Reference columns are bigint too.
SELECT col_type_is('commerce', 'addresses', 'user_id', 'bigint', 'addresses.user_id is bigint');
SELECT col_type_is('commerce', 'categories', 'parent_id', 'bigint', 'categories.parent_id is bigint');
SELECT col_type_is('commerce', 'products', 'category_id', 'bigint', 'products.category_id is bigint');
SELECT col_type_is('commerce', 'product_variants', 'product_id', 'bigint', 'product_variants.product_id is bigint');
SELECT col_type_is('commerce', 'stock', 'variant_id', 'bigint', 'stock.variant_id is bigint');
SELECT col_type_is('commerce', 'reservations', 'variant_id', 'bigint', 'reservations.variant_id is bigint');
SELECT col_type_is('commerce', 'orders', 'user_id', 'bigint', 'orders.user_id is bigint');
SELECT col_type_is('commerce', 'order_items', 'variant_id', 'bigint', 'order_items.variant_id is bigint');
SELECT col_type_is('commerce', 'product_review_stats', 'product_id', 'bigint', 'product_review_stats.product_id is bigint');

-------------------------------------------------------------------------------
-- Timestamps are timestamptz
-------------------------------------------------------------------------------
SELECT col_type_is('commerce', 'users', 'created_at', 'timestamp with time zone', 'users.created_at is timestamptz');
SELECT col_type_is('commerce', 'products', 'created_at', 'timestamp with time zone', 'products.created_at is timestamptz');
SELECT col_type_is('commerce', 'carts', 'created_at', 'timestamp with time zone', 'carts.created_at is timestamptz');
SELECT col_type_is('commerce', 'carts', 'updated_at', 'timestamp with time zone', 'carts.updated_at is timestamptz');
SELECT col_type_is('commerce', 'reservations', 'created_at', 'timestamp with time zone', 'reservations.created_at is timestamptz');
SELECT col_type_is('commerce', 'reservations', 'expires_at', 'timestamp with time zone', 'reservations.expires_at is timestamptz');
SELECT col_type_is('commerce', 'reservations', 'closed_at', 'timestamp with time zone', 'reservations.closed_at is timestamptz');
SELECT col_type_is('commerce', 'reservations', 'status', 'commerce.hold_status', 'reservations.status is the hold_status enum');
SELECT enum_has_labels('commerce', 'hold_status', ARRAY['held', 'confirmed', 'released', 'expired'],
                       'hold_status labels, in order');
SELECT col_type_is('commerce', 'orders', 'created_at', 'timestamp with time zone', 'orders.created_at is timestamptz');
SELECT col_type_is('commerce', 'orders', 'updated_at', 'timestamp with time zone', 'orders.updated_at is timestamptz');
SELECT col_type_is('commerce', 'reviews', 'created_at', 'timestamp with time zone', 'reviews.created_at is timestamptz');
SELECT is_empty(
    $$SELECT c.relname || '.' || a.attname
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       WHERE c.relnamespace = 'commerce'::regnamespace AND c.relkind = 'r'
         AND a.attnum > 0 AND NOT a.attisdropped
         AND a.atttypid = 'timestamp without time zone'::regtype$$,
    'no commerce column is a timestamp without time zone');

-------------------------------------------------------------------------------
-- Money is numeric(12,2), never float or money
-------------------------------------------------------------------------------
SELECT col_type_is('commerce', 'products', 'base_price', 'numeric(12,2)', 'products.base_price is numeric(12,2)');
SELECT col_type_is('commerce', 'product_variants', 'price_modifier', 'numeric(12,2)', 'product_variants.price_modifier is numeric(12,2)');
SELECT col_type_is('commerce', 'orders', 'total', 'numeric(12,2)', 'orders.total is numeric(12,2)');
SELECT col_type_is('commerce', 'order_items', 'unit_price', 'numeric(12,2)', 'order_items.unit_price is numeric(12,2)');
SELECT is_empty(
    $$SELECT c.relname || '.' || a.attname
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       WHERE c.relnamespace = 'commerce'::regnamespace AND c.relkind = 'r'
         AND a.attnum > 0 AND NOT a.attisdropped
         AND a.atttypid IN ('real'::regtype, 'double precision'::regtype, 'money'::regtype)$$,
    'no commerce column is float, double precision or money');

-------------------------------------------------------------------------------
-- Other key columns
-------------------------------------------------------------------------------
SELECT is((SELECT a.atttypid FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = 'commerce.categories'::regclass AND a.attname = 'path'),
          (SELECT t.oid FROM pg_catalog.pg_type t
             JOIN pg_catalog.pg_extension e ON e.extnamespace = t.typnamespace
            WHERE e.extname = 'ltree' AND t.typname = 'ltree'),
          'categories.path is the ltree extension''s ltree type');
SELECT col_not_null('commerce', 'categories', 'path', 'categories.path is NOT NULL');
SELECT col_type_is('commerce', 'products', 'attributes', 'jsonb', 'products.attributes is jsonb');
SELECT col_type_is('commerce', 'product_variants', 'attributes', 'jsonb', 'product_variants.attributes is jsonb');
SELECT col_type_is('commerce', 'users', 'email', 'character varying(255)', 'users.email is varchar(255)');
SELECT col_type_is('commerce', 'addresses', 'country', 'character(2)', 'addresses.country is char(2)');
SELECT col_type_is('commerce', 'stock', 'bucket', 'integer', 'stock.bucket is integer');
SELECT col_type_is('commerce', 'stock', 'quantity', 'integer', 'stock.quantity is integer');
SELECT col_type_is('commerce', 'stock', 'reserved', 'integer', 'stock.reserved is integer');
SELECT col_not_null('commerce', 'stock', 'quantity', 'stock.quantity is NOT NULL');
SELECT col_not_null('commerce', 'stock', 'reserved', 'stock.reserved is NOT NULL');
SELECT col_type_is('commerce', 'orders', 'status', 'commerce', 'order_status', 'orders.status is commerce.order_status');
SELECT col_default_is('commerce', 'orders', 'status', 'pending'::commerce.order_status, 'orders.status defaults to pending');
SELECT is((SELECT c.reloptions FROM pg_catalog.pg_class c WHERE c.oid = 'commerce.stock'::regclass),
          ARRAY['fillfactor=20'], 'stock keeps room for HOT updates (fillfactor=20)');

-------------------------------------------------------------------------------
-- Primary keys
-------------------------------------------------------------------------------
SELECT col_is_pk('commerce', 'users', 'id', 'users: primary key (id)');
SELECT col_is_pk('commerce', 'addresses', 'id', 'addresses: primary key (id)');
SELECT col_is_pk('commerce', 'categories', 'id', 'categories: primary key (id)');
SELECT col_is_pk('commerce', 'products', 'id', 'products: primary key (id)');
SELECT col_is_pk('commerce', 'product_variants', 'id', 'product_variants: primary key (id)');
SELECT col_is_pk('commerce', 'stock', ARRAY['variant_id', 'bucket'], 'stock: primary key (variant_id, bucket)');
SELECT col_is_pk('commerce', 'carts', 'id', 'carts: primary key (id)');
SELECT col_is_pk('commerce', 'reservations', 'id', 'reservations: primary key (id)');
SELECT col_is_pk('commerce', 'orders', 'id', 'orders: primary key (id)');
SELECT col_is_pk('commerce', 'order_items', 'id', 'order_items: primary key (id)');
SELECT col_is_pk('commerce', 'reviews', 'id', 'reviews: primary key (id)');
SELECT col_is_pk('commerce', 'product_review_stats', 'product_id', 'product_review_stats: primary key (product_id)');

-------------------------------------------------------------------------------
-- Foreign keys
-------------------------------------------------------------------------------
SELECT fk_ok('commerce', 'addresses', 'user_id', 'commerce', 'users', 'id');
SELECT fk_ok('commerce', 'categories', 'parent_id', 'commerce', 'categories', 'id');
SELECT fk_ok('commerce', 'products', 'category_id', 'commerce', 'categories', 'id');
SELECT fk_ok('commerce', 'product_variants', 'product_id', 'commerce', 'products', 'id');
SELECT fk_ok('commerce', 'stock', 'variant_id', 'commerce', 'product_variants', 'id');
SELECT fk_ok('commerce', 'carts', 'user_id', 'commerce', 'users', 'id');
SELECT fk_ok('commerce', 'carts', 'order_id', 'commerce', 'orders', 'id');
SELECT fk_ok('commerce', 'orders', 'user_id', 'commerce', 'users', 'id');
SELECT fk_ok('commerce', 'orders', 'cart_id', 'commerce', 'carts', 'id');
SELECT fk_ok('commerce', 'orders', 'shipping_address_id', 'commerce', 'addresses', 'id');
SELECT fk_ok('commerce', 'order_items', 'order_id', 'commerce', 'orders', 'id');
SELECT fk_ok('commerce', 'order_items', 'variant_id', 'commerce', 'product_variants', 'id');
SELECT fk_ok('commerce', 'reviews', 'product_id', 'commerce', 'products', 'id');
SELECT fk_ok('commerce', 'reviews', 'user_id', 'commerce', 'users', 'id');
SELECT fk_ok('commerce', 'product_review_stats', 'product_id', 'commerce', 'products', 'id');
-- What a parent's delete does to its children: owned rows go with the parent,
-- history (orders, carts, sold items) blocks the delete instead.
SELECT results_eq(
    $$SELECT c.conrelid::regclass::text, a.attname::text COLLATE "default", c.confdeltype::text
        FROM pg_catalog.pg_constraint c
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
       WHERE c.connamespace = 'commerce'::regnamespace AND c.contype = 'f'
       ORDER BY 1, 2$$,
    $$VALUES ('commerce.addresses', 'user_id', 'c'),
             ('commerce.carts', 'order_id', 'a'),
             ('commerce.carts', 'user_id', 'a'),
             ('commerce.categories', 'parent_id', 'a'),
             ('commerce.order_items', 'order_id', 'c'),
             ('commerce.order_items', 'variant_id', 'a'),
             ('commerce.orders', 'cart_id', 'a'),
             ('commerce.orders', 'shipping_address_id', 'a'),
             ('commerce.orders', 'user_id', 'a'),
             ('commerce.product_review_stats', 'product_id', 'c'),
             ('commerce.product_variants', 'product_id', 'c'),
             ('commerce.products', 'category_id', 'a'),
             ('commerce.reviews', 'product_id', 'c'),
             ('commerce.reviews', 'user_id', 'c'),
             ('commerce.stock', 'variant_id', 'c')$$,
    'exactly the designed foreign keys, with their ON DELETE actions');

-------------------------------------------------------------------------------
-- Unique constraints and indexes
-------------------------------------------------------------------------------
SELECT col_is_unique('commerce', 'products', 'sku', 'products.sku is unique');
SELECT col_is_unique('commerce', 'product_variants', 'sku', 'product_variants.sku is unique');
SELECT col_is_unique('commerce', 'categories', 'path', 'categories.path is unique');
SELECT col_is_unique('commerce', 'categories', ARRAY['parent_id', 'slug'], 'categories: UNIQUE (parent_id, slug)');
SELECT col_is_unique('commerce', 'orders', 'cart_id', 'orders.cart_id is unique (one order per cart)');
SELECT col_is_unique('commerce', 'orders', 'idempotency_key', 'orders.idempotency_key is unique');
SELECT col_is_unique('commerce', 'carts', 'idempotency_key', 'carts.idempotency_key is unique');
SELECT col_is_unique('commerce', 'reviews', ARRAY['product_id', 'user_id'], 'reviews: UNIQUE (product_id, user_id)');

SELECT has_index('commerce', 'users', 'users_email_lower_key', 'lower((email)::text)', 'users: index on lower(email)');
SELECT index_is_unique('commerce', 'users', 'users_email_lower_key', 'users: lower(email) is unique');

SELECT has_index('commerce', 'addresses', 'addresses_one_default_idx', ARRAY['user_id', 'type'],
                 'addresses: index on (user_id, type) for the default address');
SELECT index_is_unique('commerce', 'addresses', 'addresses_one_default_idx',
                       'addresses: the default-address index is unique');
SELECT is((SELECT pg_catalog.pg_get_expr(i.indpred, i.indrelid) FROM pg_catalog.pg_index i
            WHERE i.indexrelid = 'commerce.addresses_one_default_idx'::regclass),
          'is_default', 'addresses: the default-address index is partial, WHERE is_default');

SELECT has_index('commerce', 'reservations', 'reservations_idempotency_key_idx', ARRAY['idempotency_key'],
                 'reservations: index on idempotency_key');
SELECT index_is_unique('commerce', 'reservations', 'reservations_idempotency_key_idx',
                       'reservations: idempotency_key is unique');
SELECT ok(EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                   WHERE i.indrelid = 'commerce.reservations'::regclass
                     AND pg_catalog.pg_get_indexdef(i.indexrelid) LIKE '% USING btree (expires_at) WHERE (status = ''held''::commerce.hold_status)'),
          'reservations: partial index on expires_at of held rows (for expire)');

-- GIN on products.attributes and GiST on categories.path.
SELECT has_index('commerce', 'products', 'products_attributes_gin_idx', ARRAY['attributes'],
                 'products: index on attributes');
SELECT index_is_type('commerce', 'products', 'products_attributes_gin_idx', 'gin',
                     'products: the attributes index is GIN');
SELECT is((SELECT o.opcname::text FROM pg_catalog.pg_index i
             JOIN pg_catalog.pg_opclass o ON o.oid = i.indclass[0]
            WHERE i.indexrelid = 'commerce.products_attributes_gin_idx'::regclass),
          'jsonb_path_ops', 'products: the attributes GIN index uses jsonb_path_ops');
SELECT has_index('commerce', 'categories', 'categories_path_gist_idx', ARRAY['path'],
                 'categories: index on path');
SELECT index_is_type('commerce', 'categories', 'categories_path_gist_idx', 'gist',
                     'categories: the path index is GiST');

-- The scaling plan: newest products of a category, newest orders of a user.
SELECT ok(EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                   WHERE i.indrelid = 'commerce.products'::regclass AND i.indpred IS NULL
                     AND pg_catalog.pg_get_indexdef(i.indexrelid) LIKE '% USING btree (category_id, created_at DESC)'),
          'products: btree index on (category_id, created_at DESC)');
SELECT ok(EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                   WHERE i.indrelid = 'commerce.orders'::regclass AND i.indpred IS NULL
                     AND pg_catalog.pg_get_indexdef(i.indexrelid) LIKE '% USING btree (user_id, created_at DESC)'),
          'orders: btree index on (user_id, created_at DESC)');
SELECT is_indexed('commerce', 'product_variants', 'product_id', 'product_variants: product_id is indexed');
SELECT is_indexed('commerce', 'order_items', 'order_id', 'order_items: order_id is indexed');
SELECT is_indexed('commerce', 'order_items', 'variant_id', 'order_items: variant_id is indexed');
SELECT is_indexed('commerce', 'addresses', 'user_id', 'addresses: user_id is indexed');
SELECT is_indexed('commerce', 'reviews', 'user_id', 'reviews: user_id is indexed');

-------------------------------------------------------------------------------
-- Check constraints on stock
-------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT c.conname::text COLLATE "default", pg_catalog.pg_get_constraintdef(c.oid)
        FROM pg_catalog.pg_constraint c
       WHERE c.conrelid = 'commerce.stock'::regclass AND c.contype = 'c'
       ORDER BY 1$$,
    $$VALUES ('stock_never_oversold', 'CHECK (((reserved >= 0) AND (reserved <= quantity)))')$$,
    'stock has exactly one check constraint: 0 <= reserved <= quantity');

-- The constraints hold for real rows (as the table owner, who can write).
INSERT INTO commerce.users (email, password_hash) VALUES ('tap-schema@example.com', 'x');
INSERT INTO commerce.products (sku, name, base_price) VALUES ('TAP-SCHEMA-P', 'schema probe', 1.00);
INSERT INTO commerce.product_variants (product_id, sku)
    SELECT id, 'TAP-SCHEMA-V' FROM commerce.products WHERE sku = 'TAP-SCHEMA-P';
UPDATE commerce.stock SET quantity = 5, reserved = 2
 WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SCHEMA-V');

SELECT results_eq(
    $$SELECT bucket, nbuckets, quantity, reserved FROM commerce.stock
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SCHEMA-V')$$,
    $$VALUES (0, 1, 5, 2)$$,
    'a new variant got exactly one stock bucket (trigger), updated to 5/2');
SELECT throws_ok(
    $$UPDATE commerce.stock SET reserved = 6
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SCHEMA-V')$$,
    '23514', 'new row for relation "stock" violates check constraint "stock_never_oversold"',
    'stock: reserved > quantity is refused');
SELECT throws_ok(
    $$UPDATE commerce.stock SET quantity = 1
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SCHEMA-V')$$,
    '23514', 'new row for relation "stock" violates check constraint "stock_never_oversold"',
    'stock: quantity cannot drop below reserved');
SELECT throws_ok(
    $$UPDATE commerce.stock SET quantity = -1, reserved = 0
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SCHEMA-V')$$,
    '23514', NULL,
    'stock: negative quantity is refused (with reserved >= 0 it also breaks stock_never_oversold)');
SELECT throws_ok(
    $$UPDATE commerce.stock SET reserved = -1
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-SCHEMA-V')$$,
    '23514', 'new row for relation "stock" violates check constraint "stock_never_oversold"',
    'stock: negative reserved is refused');

-- One default address per (user_id, type).
INSERT INTO commerce.addresses (user_id, type, street, country, is_default)
    SELECT id, 'shipping', '1 First St', 'DE', true FROM commerce.users WHERE email = 'tap-schema@example.com';
SELECT throws_ok(
    $$INSERT INTO commerce.addresses (user_id, type, street, country, is_default)
      SELECT id, 'shipping', '2 Second St', 'DE', true FROM commerce.users WHERE email = 'tap-schema@example.com'$$,
    '23505', 'duplicate key value violates unique constraint "addresses_one_default_idx"',
    'addresses: a second default shipping address for the same user is refused');
SELECT lives_ok(
    $$INSERT INTO commerce.addresses (user_id, type, street, country, is_default)
      SELECT id, t, s, 'DE', d FROM commerce.users,
             (VALUES ('shipping', '3 Third St', false), ('billing', '4 Fourth St', true)) AS v(t, s, d)
       WHERE email = 'tap-schema@example.com'$$,
    'addresses: a non-default shipping address and a default billing address are accepted');

-- One review per (product, user); e-mail unique regardless of case.
INSERT INTO commerce.reviews (product_id, user_id, rating)
    SELECT p.id, u.id, 4 FROM commerce.products p, commerce.users u
     WHERE p.sku = 'TAP-SCHEMA-P' AND u.email = 'tap-schema@example.com';
SELECT throws_ok(
    $$INSERT INTO commerce.reviews (product_id, user_id, rating)
      SELECT p.id, u.id, 2 FROM commerce.products p, commerce.users u
       WHERE p.sku = 'TAP-SCHEMA-P' AND u.email = 'tap-schema@example.com'$$,
    '23505', 'duplicate key value violates unique constraint "reviews_product_id_user_id_key"',
    'reviews: a second review of the same product by the same user is refused');
SELECT throws_ok(
    $$INSERT INTO commerce.users (email, password_hash) VALUES ('TAP-Schema@Example.com', 'y')$$,
    '23505', 'duplicate key value violates unique constraint "users_email_lower_key"',
    'users: the same e-mail in another case is refused');

-------------------------------------------------------------------------------
-- The order status enum
-------------------------------------------------------------------------------
SELECT has_enum('commerce', 'order_status', 'enum commerce.order_status exists');
SELECT enum_has_labels('commerce', 'order_status',
    ARRAY['pending', 'paid', 'shipped', 'delivered', 'cancelled'],
    'order_status labels, in order: pending, paid, shipped, delivered, cancelled');

-------------------------------------------------------------------------------
-- Functions: signatures, volatility, SECURITY DEFINER
-------------------------------------------------------------------------------
SELECT functions_are('commerce',
    ARRAY['restock', 'available', 'reserve', 'reserve_cart', 'confirm', 'release', 'expire',
          'set_buckets', 'checkout', 'set_order_status', 'orders_guard', 'products_in_category',
          'product_page', 'review_stats_trigger', 'category_path_trigger', 'variant_stock_trigger',
          '_cron_schedule', '_cron_park', '_cron_restore'],
    'commerce has exactly the designed functions');
SELECT results_eq(
    $$SELECT p.oid::regprocedure::text, pg_catalog.pg_get_function_arguments(p.oid),
             pg_catalog.pg_get_function_result(p.oid)
        FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'commerce'::regnamespace AND p.prorettype <> 'trigger'::regtype
       ORDER BY 1$$,
    $$VALUES
      ('commerce._cron_park()', '', 'event_trigger'),
      ('commerce._cron_restore()', '', 'event_trigger'),
      ('commerce._cron_schedule(text,text,text)', 'job_name text, job_schedule text, job_command text', 'bigint'),
      ('commerce.available(bigint)', 'variant bigint', 'bigint'),
      ('commerce.checkout(bigint,bigint,text)',
       'cart bigint, shipping_address_id bigint DEFAULT NULL::bigint, idempotency_key text DEFAULT NULL::text',
       'bigint'),
      ('commerce.confirm(bigint)', 'reservation bigint', 'void'),
      ('commerce.expire(bigint)', 'max_holds bigint DEFAULT 10000', 'integer'),
      ('commerce.product_page(bigint)', 'product bigint',
       'TABLE(id bigint, sku character varying, name character varying, description text, base_price numeric, attributes jsonb, review_count bigint, avg_rating numeric, rating_distribution jsonb, variant_ids bigint[])'),
      ('commerce.products_in_category(bigint)', 'category bigint', 'SETOF commerce.products'),
      ('commerce.release(bigint)', 'reservation bigint', 'void'),
      ('commerce.reserve(bigint,bigint,interval,text)',
       'variant bigint, qty bigint, hold interval DEFAULT ''00:15:00''::interval, idempotency_key text DEFAULT NULL::text',
       'bigint'),
      ('commerce.reserve_cart(bigint[],bigint[],interval,text,bigint)',
       'variants bigint[], quantities bigint[], hold interval DEFAULT ''00:15:00''::interval, idempotency_key text DEFAULT NULL::text, user_id bigint DEFAULT NULL::bigint',
       'bigint'),
      ('commerce.restock(bigint,bigint)', 'variant bigint, qty bigint', 'bigint'),
      ('commerce.set_buckets(bigint,bigint)', 'variant bigint, n bigint', 'integer'),
      ('commerce.set_order_status(bigint,text)', 'order_id bigint, status text', 'commerce.order_status')$$,
    'callable functions: argument names, defaults and result types');

SELECT has_function('commerce', 'restock', ARRAY['bigint', 'bigint'], 'restock(bigint, bigint) exists');
SELECT has_function('commerce', 'available', ARRAY['bigint'], 'available(bigint) exists');
SELECT has_function('commerce', 'reserve', ARRAY['bigint', 'bigint', 'interval', 'text'], 'reserve(bigint, bigint, interval, text) exists');
SELECT has_function('commerce', 'reserve_cart', ARRAY['bigint[]', 'bigint[]', 'interval', 'text', 'bigint'], 'reserve_cart(bigint[], bigint[], interval, text, bigint) exists');
SELECT has_function('commerce', 'confirm', ARRAY['bigint'], 'confirm(bigint) exists');
SELECT has_function('commerce', 'release', ARRAY['bigint'], 'release(bigint) exists');
SELECT has_function('commerce', 'expire', ARRAY['bigint'], 'expire(bigint) exists');
SELECT has_function('commerce', 'set_buckets', ARRAY['bigint', 'bigint'], 'set_buckets(bigint, bigint) exists');
SELECT has_function('commerce', 'checkout', ARRAY['bigint', 'bigint', 'text'], 'checkout(bigint, bigint, text) exists');
SELECT has_function('commerce', 'set_order_status', ARRAY['bigint', 'text'], 'set_order_status(bigint, text) exists');
SELECT has_function('commerce', 'orders_guard', ARRAY[]::text[], 'orders_guard() exists');
SELECT has_function('commerce', 'products_in_category', ARRAY['bigint'], 'products_in_category(bigint) exists');
SELECT has_function('commerce', 'product_page', ARRAY['bigint'], 'product_page(bigint) exists');
SELECT has_function('commerce', 'review_stats_trigger', ARRAY[]::text[], 'review_stats_trigger() exists');
SELECT has_function('commerce', 'category_path_trigger', ARRAY[]::text[], 'category_path_trigger() exists');
SELECT has_function('commerce', 'variant_stock_trigger', ARRAY[]::text[], 'variant_stock_trigger() exists');

SELECT volatility_is('commerce', 'restock', ARRAY['bigint', 'bigint'], 'volatile', 'restock is VOLATILE');
SELECT volatility_is('commerce', 'available', ARRAY['bigint'], 'stable', 'available is STABLE');
SELECT volatility_is('commerce', 'reserve', ARRAY['bigint', 'bigint', 'interval', 'text'], 'volatile', 'reserve is VOLATILE');
SELECT volatility_is('commerce', 'reserve_cart', ARRAY['bigint[]', 'bigint[]', 'interval', 'text', 'bigint'], 'volatile', 'reserve_cart is VOLATILE');
SELECT volatility_is('commerce', 'confirm', ARRAY['bigint'], 'volatile', 'confirm is VOLATILE');
SELECT volatility_is('commerce', 'release', ARRAY['bigint'], 'volatile', 'release is VOLATILE');
SELECT volatility_is('commerce', 'expire', ARRAY['bigint'], 'volatile', 'expire is VOLATILE');
SELECT volatility_is('commerce', 'set_buckets', ARRAY['bigint', 'bigint'], 'volatile', 'set_buckets is VOLATILE');
SELECT volatility_is('commerce', 'checkout', ARRAY['bigint', 'bigint', 'text'], 'volatile', 'checkout is VOLATILE');
SELECT volatility_is('commerce', 'set_order_status', ARRAY['bigint', 'text'], 'volatile', 'set_order_status is VOLATILE');
SELECT volatility_is('commerce', 'orders_guard', ARRAY[]::text[], 'volatile', 'orders_guard is VOLATILE');
SELECT volatility_is('commerce', 'products_in_category', ARRAY['bigint'], 'stable', 'products_in_category is STABLE');
SELECT volatility_is('commerce', 'product_page', ARRAY['bigint'], 'stable', 'product_page is STABLE');
SELECT volatility_is('commerce', 'review_stats_trigger', ARRAY[]::text[], 'volatile', 'review_stats_trigger is VOLATILE');
SELECT volatility_is('commerce', 'category_path_trigger', ARRAY[]::text[], 'volatile', 'category_path_trigger is VOLATILE');
SELECT volatility_is('commerce', 'variant_stock_trigger', ARRAY[]::text[], 'volatile', 'variant_stock_trigger is VOLATILE');

SELECT is_definer('commerce', 'restock', ARRAY['bigint', 'bigint'], 'restock is SECURITY DEFINER');
SELECT is_definer('commerce', 'available', ARRAY['bigint'], 'available is SECURITY DEFINER');
SELECT is_definer('commerce', 'reserve', ARRAY['bigint', 'bigint', 'interval', 'text'], 'reserve is SECURITY DEFINER');
SELECT is_definer('commerce', 'reserve_cart', ARRAY['bigint[]', 'bigint[]', 'interval', 'text', 'bigint'], 'reserve_cart is SECURITY DEFINER');
SELECT is_definer('commerce', 'confirm', ARRAY['bigint'], 'confirm is SECURITY DEFINER');
SELECT is_definer('commerce', 'release', ARRAY['bigint'], 'release is SECURITY DEFINER');
SELECT is_definer('commerce', 'expire', ARRAY['bigint'], 'expire is SECURITY DEFINER');
SELECT is_definer('commerce', 'set_buckets', ARRAY['bigint', 'bigint'], 'set_buckets is SECURITY DEFINER');
SELECT is_definer('commerce', 'checkout', ARRAY['bigint', 'bigint', 'text'], 'checkout is SECURITY DEFINER');
SELECT is_definer('commerce', 'set_order_status', ARRAY['bigint', 'text'], 'set_order_status is SECURITY DEFINER');
SELECT is_definer('commerce', 'orders_guard', ARRAY[]::text[], 'orders_guard is SECURITY DEFINER');
-- The catalog reads run with the caller's rights; the plpgsql triggers with
-- the rights of whoever writes the table (only the owner can).
SELECT isnt_definer('commerce', 'products_in_category', ARRAY['bigint'], 'products_in_category is SECURITY INVOKER');
SELECT isnt_definer('commerce', 'product_page', ARRAY['bigint'], 'product_page is SECURITY INVOKER');
SELECT isnt_definer('commerce', 'review_stats_trigger', ARRAY[]::text[], 'review_stats_trigger is SECURITY INVOKER');
SELECT isnt_definer('commerce', 'category_path_trigger', ARRAY[]::text[], 'category_path_trigger is SECURITY INVOKER');
SELECT isnt_definer('commerce', 'variant_stock_trigger', ARRAY[]::text[], 'variant_stock_trigger is SECURITY INVOKER');

-------------------------------------------------------------------------------
-- Triggers
-------------------------------------------------------------------------------
SELECT has_trigger('commerce', 'reviews', 'reviews_keep_stats', 'reviews has trigger reviews_keep_stats');
SELECT trigger_is('commerce', 'reviews', 'reviews_keep_stats', 'commerce', 'review_stats_trigger',
                  'reviews_keep_stats calls review_stats_trigger()');
SELECT has_trigger('commerce', 'categories', 'categories_keep_path', 'categories has trigger categories_keep_path');
SELECT trigger_is('commerce', 'categories', 'categories_keep_path', 'commerce', 'category_path_trigger',
                  'categories_keep_path calls category_path_trigger()');
SELECT has_trigger('commerce', 'product_variants', 'product_variants_create_stock',
                   'product_variants has trigger product_variants_create_stock');
SELECT trigger_is('commerce', 'product_variants', 'product_variants_create_stock', 'commerce', 'variant_stock_trigger',
                  'product_variants_create_stock calls variant_stock_trigger()');
SELECT has_trigger('commerce', 'orders', 'orders_status_guard', 'orders has trigger orders_status_guard');
SELECT trigger_is('commerce', 'orders', 'orders_status_guard', 'commerce', 'orders_guard',
                  'orders_status_guard calls orders_guard()');
SELECT results_eq(
    $$SELECT t.tgname::text COLLATE "default", pg_catalog.pg_get_triggerdef(t.oid)
        FROM pg_catalog.pg_trigger t
        JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
       WHERE c.relnamespace = 'commerce'::regnamespace AND NOT t.tgisinternal
       ORDER BY 1$$,
    $$VALUES
      ('categories_keep_path',
       'CREATE TRIGGER categories_keep_path BEFORE INSERT OR UPDATE OF parent_id, slug ON commerce.categories FOR EACH ROW EXECUTE FUNCTION commerce.category_path_trigger()'),
      ('orders_status_guard',
       'CREATE TRIGGER orders_status_guard BEFORE UPDATE ON commerce.orders FOR EACH ROW EXECUTE FUNCTION commerce.orders_guard()'),
      ('product_variants_create_stock',
       'CREATE TRIGGER product_variants_create_stock AFTER INSERT ON commerce.product_variants FOR EACH ROW EXECUTE FUNCTION commerce.variant_stock_trigger()'),
      ('reviews_keep_stats',
       'CREATE TRIGGER reviews_keep_stats AFTER INSERT OR DELETE OR UPDATE OF product_id, rating ON commerce.reviews FOR EACH ROW EXECUTE FUNCTION commerce.review_stats_trigger()')$$,
    'exactly four triggers, with their timing and events');

-- The review trigger kept the aggregate for the review inserted above.
SELECT results_eq(
    $$SELECT s.review_count, s.rating_sum, s.rating_4
        FROM commerce.product_review_stats s
        JOIN commerce.products p ON p.id = s.product_id
       WHERE p.sku = 'TAP-SCHEMA-P'$$,
    $$VALUES (1::bigint, 4::bigint, 1::bigint)$$,
    'reviews_keep_stats counted the one 4-star review');

SELECT * FROM finish();
ROLLBACK;
