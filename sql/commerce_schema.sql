-- commerce schema: the textbook's defects fixed, enforced by the database.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION commerce CASCADE;
RESET client_min_messages;

-- Accounts: e-mail unique regardless of case.
INSERT INTO commerce.users (email, password_hash) VALUES ('alice@example.com', 'x'), ('bob@example.com', 'x');
SELECT pg_temp.try($$INSERT INTO commerce.users (email, password_hash) VALUES ('ALICE@example.com', 'y')$$);
SELECT pg_temp.try($$INSERT INTO commerce.users (email, password_hash) VALUES ('not-an-email', 'y')$$);

-- One default address per user and type (partial unique index).
INSERT INTO commerce.addresses (user_id, type, street, city, country, is_default)
VALUES (1, 'shipping', '1 Main St', 'Springfield', 'US', true),
       (1, 'billing', '1 Main St', 'Springfield', 'US', true),
       (1, 'shipping', '2 Side St', 'Springfield', 'US', false);
SELECT pg_temp.try($$INSERT INTO commerce.addresses (user_id, type, street, country, is_default)
                     VALUES (1, 'shipping', '3 Other St', 'US', true)$$);
SELECT pg_temp.try($$INSERT INTO commerce.addresses (user_id, type, street, country)
                     VALUES (1, 'gift', '3 Other St', 'US')$$);
SELECT pg_temp.try($$INSERT INTO commerce.addresses (user_id, type, street, country)
                     VALUES (1, 'billing', '3 Other St', 'usa')$$);
SELECT count(*) AS addresses FROM commerce.addresses;

-- Categories: ltree paths kept by trigger, subtrees move as one.
INSERT INTO commerce.categories (name) VALUES ('Electronics'), ('Home & Garden');
INSERT INTO commerce.categories (name, parent_id) VALUES ('Phones', 1), ('Smart Phones', 3), ('Kitchen', 2);
SELECT id, name, slug, path FROM commerce.categories ORDER BY path;
UPDATE commerce.categories SET parent_id = 2 WHERE id = 3;   -- move Phones under Home & Garden
SELECT id, name, path FROM commerce.categories ORDER BY path;
SELECT pg_temp.try($$UPDATE commerce.categories SET parent_id = 4 WHERE id = 3$$);  -- under its own child
SELECT pg_temp.try($$INSERT INTO commerce.categories (name, parent_id) VALUES ('Orphan', 999)$$);
UPDATE commerce.categories SET parent_id = 1 WHERE id = 3;   -- and back

-- Products: money is numeric, attributes are a JSON object.
INSERT INTO commerce.products (sku, name, category_id, base_price, attributes)
VALUES ('PH-1', 'Phone One', 4, 499.99, '{"brand": "Acme", "5g": true}'),
       ('KT-1', 'Kettle', 5, 29.50, '{"brand": "Boil", "litres": 1.7}');
SELECT pg_temp.try($$INSERT INTO commerce.products (sku, name, base_price) VALUES ('BAD-1', 'Bad', -1)$$);
SELECT pg_temp.try($$INSERT INTO commerce.products (sku, name, base_price, attributes) VALUES ('BAD-2', 'Bad', 1, '[1,2]')$$);
SELECT name FROM commerce.products WHERE attributes @> '{"brand": "Acme"}';

-- A variant comes with an empty stock row; the inventory view sums buckets.
INSERT INTO commerce.product_variants (product_id, sku, name, price_modifier, attributes)
VALUES (1, 'PH-1-BLK', 'Black', 0, '{"color": "black"}'),
       (1, 'PH-1-GLD', 'Gold', 50, '{"color": "gold"}'),
       (2, 'KT-1-STD', 'Standard', 0, '{}');
SELECT variant_id, bucket, nbuckets, quantity, reserved FROM commerce.stock ORDER BY variant_id;
SELECT * FROM commerce.inventory ORDER BY variant_id;

-- Stock can never be oversold or negative, even by the owner writing directly.
SELECT pg_temp.try($$UPDATE commerce.stock SET reserved = 1 WHERE variant_id = 1$$);
SELECT pg_temp.try($$UPDATE commerce.stock SET quantity = -1 WHERE variant_id = 1$$);

-- Reviews: one per user and product, rating 1..5.
INSERT INTO commerce.reviews (product_id, user_id, rating, title) VALUES (1, 1, 5, 'great');
SELECT pg_temp.try($$INSERT INTO commerce.reviews (product_id, user_id, rating) VALUES (1, 1, 4)$$);
SELECT pg_temp.try($$INSERT INTO commerce.reviews (product_id, user_id, rating) VALUES (1, 2, 6)$$);

-- Orders only move along allowed edges, even for direct writes (trigger).
INSERT INTO commerce.orders (user_id, total, created_at, updated_at)
VALUES (1, 10.00, '2020-01-01', '2020-01-01');
SELECT pg_temp.try($$UPDATE commerce.orders SET status = 'shipped' WHERE id = 1$$);
SELECT pg_temp.try($$UPDATE commerce.orders SET status = 'paid' WHERE id = 1 RETURNING status::text$$);
SELECT status, updated_at > '2020-01-01' AS updated_at_kept FROM commerce.orders WHERE id = 1;
SELECT pg_temp.try($$SELECT commerce.orders_guard()$$);
DELETE FROM commerce.orders;
