-- commerce carts: every line held or none.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS commerce CASCADE;
RESET client_min_messages;
INSERT INTO commerce.users (id, email, password_hash) VALUES (300, 'cart@example.com', 'x');
INSERT INTO commerce.products (id, sku, name, base_price) VALUES (300, 'CT-1', 'Cart test', 10);
INSERT INTO commerce.product_variants (id, product_id, sku)
VALUES (300, 300, 'CT-1-A'), (301, 300, 'CT-1-B'), (302, 300, 'CT-1-C');
SELECT commerce.restock(300, 5), commerce.restock(301, 5), commerce.restock(302, 1);

-- Lines are merged per variant and held in variant order.
SELECT commerce.reserve_cart(ARRAY[301, 300, 301], ARRAY[1, 2, 1], user_id => 300) AS c1 \gset
SELECT variant_id, quantity, status FROM commerce.reservations WHERE cart_id = :c1 ORDER BY variant_id;
SELECT status, user_id FROM commerce.carts WHERE id = :c1;
SELECT variant_id, reserved FROM commerce.inventory WHERE variant_id IN (300, 301, 302) ORDER BY 1;

-- One short line: nothing of the cart is held, no cart row stays.
SELECT count(*) AS carts_before FROM commerce.carts \gset
SELECT pg_temp.try('SELECT commerce.reserve_cart(ARRAY[300, 302], ARRAY[1, 2])');
SELECT count(*) = :carts_before AS no_new_cart FROM commerce.carts;
SELECT variant_id, reserved FROM commerce.inventory WHERE variant_id IN (300, 301, 302) ORDER BY 1;

-- Bad input.
SELECT pg_temp.try($$SELECT commerce.reserve_cart(ARRAY[]::bigint[], ARRAY[]::int[])$$);
SELECT pg_temp.try('SELECT commerce.reserve_cart(ARRAY[300, 301], ARRAY[1])');
SELECT pg_temp.try('SELECT commerce.reserve_cart(ARRAY[300], ARRAY[0])');
SELECT pg_temp.try('SELECT commerce.reserve_cart(ARRAY[300, 301], ARRAY[1, 2147483648])');
SELECT pg_temp.try('SELECT commerce.reserve_cart(ARRAY[300, NULL], ARRAY[1, 1])');
SELECT pg_temp.try('SELECT commerce.reserve_cart(ARRAY[300], ARRAY[NULL]::int[])');
SELECT pg_temp.try('SELECT commerce.reserve_cart(NULL, ARRAY[1])');
SELECT pg_temp.try('SELECT commerce.reserve_cart(ARRAY[[300, 301]], ARRAY[[1, 1]])');
SELECT pg_temp.try('SELECT commerce.reserve_cart(ARRAY[999], ARRAY[1])');
SELECT pg_temp.try('SELECT commerce.reserve_cart(ARRAY[300], ARRAY[1], user_id => 999)');
SELECT pg_temp.try($$SELECT commerce.reserve_cart(ARRAY[300], ARRAY[1], interval '0 s')$$);
SELECT pg_temp.try($$SELECT commerce.reserve_cart(ARRAY[300], ARRAY[1], interval '178000000 years')$$);
SELECT count(*) = :carts_before AS no_new_cart FROM commerce.carts;
SELECT variant_id, reserved FROM commerce.inventory WHERE variant_id IN (300, 301, 302) ORDER BY 1;

-- Idempotent by key: a retry returns the same cart and holds nothing more.
SELECT commerce.reserve_cart(ARRAY[300, 302], ARRAY[1, 1], idempotency_key => 'cart-key-1') AS c2 \gset
SELECT commerce.reserve_cart(ARRAY[302, 300], ARRAY[1, 1], idempotency_key => 'cart-key-1') = :c2 AS same_cart;
SELECT variant_id, reserved FROM commerce.inventory WHERE variant_id IN (300, 301, 302) ORDER BY 1;
SELECT pg_temp.try($$SELECT commerce.reserve_cart(ARRAY[300], ARRAY[2], idempotency_key => 'cart-key-1')$$);

-- Abandoned carts do not keep stock: expire frees their holds and marks them.
UPDATE commerce.reservations SET expires_at = now() - interval '1 second' WHERE cart_id = :c2;
SELECT commerce.expire();
SELECT status FROM commerce.carts WHERE id = :c2;
SELECT variant_id, reserved FROM commerce.inventory WHERE variant_id IN (300, 301, 302) ORDER BY 1;
