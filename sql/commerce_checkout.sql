-- commerce checkout and order status.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS commerce CASCADE;
RESET client_min_messages;
INSERT INTO commerce.users (id, email, password_hash)
VALUES (400, 'buyer@example.com', 'x'), (401, 'other@example.com', 'x');
INSERT INTO commerce.addresses (id, user_id, type, street, country, is_default)
VALUES (400, 400, 'shipping', '1 Buyer Rd', 'DE', true), (401, 401, 'shipping', '9 Other Rd', 'FR', true);
INSERT INTO commerce.products (id, sku, name, base_price) VALUES (400, 'CO-1', 'Checkout test', 20.00);
INSERT INTO commerce.product_variants (id, product_id, sku, price_modifier)
VALUES (400, 400, 'CO-1-S', 0), (401, 400, 'CO-1-L', 2.50);
SELECT commerce.restock(400, 10), commerce.restock(401, 10);

-- Checkout: holds become an order at the prices of that moment.
SELECT commerce.reserve_cart(ARRAY[400, 401], ARRAY[2, 1], user_id => 400) AS cart \gset
UPDATE commerce.products SET base_price = 21.00 WHERE id = 400;   -- price changes before checkout
SELECT commerce.checkout(:cart, 400, 'checkout-1') AS ord \gset
SELECT user_id, status, total, shipping_address_id, cart_id = :cart AS same_cart FROM commerce.orders WHERE id = :ord;
SELECT variant_id, quantity, unit_price FROM commerce.order_items WHERE order_id = :ord ORDER BY variant_id;
SELECT status FROM commerce.reservations WHERE cart_id = :cart ORDER BY variant_id;
SELECT status, order_id = :ord AS linked FROM commerce.carts WHERE id = :cart;
SELECT variant_id, quantity, reserved FROM commerce.inventory WHERE variant_id IN (400, 401) ORDER BY 1;
UPDATE commerce.products SET base_price = 99.00 WHERE id = 400;   -- later changes leave the order alone
SELECT total FROM commerce.orders WHERE id = :ord;

-- Idempotent: the same key, or the same cart again, answers the same order.
SELECT commerce.checkout(:cart, 400, 'checkout-1') = :ord AS same_by_key;
SELECT commerce.checkout(:cart) = :ord AS same_by_cart;
SELECT count(*) AS orders FROM commerce.orders WHERE cart_id = :cart;
SELECT variant_id, quantity, reserved FROM commerce.inventory WHERE variant_id IN (400, 401) ORDER BY 1;

-- Errors, nothing changed.
SELECT commerce.reserve_cart(ARRAY[400], ARRAY[1], user_id => 400) AS cart2 \gset
SELECT pg_temp.try(format($$SELECT commerce.checkout(%s, idempotency_key => 'checkout-1')$$, :cart2));
SELECT pg_temp.try(format('SELECT commerce.checkout(%s, 401)', :cart2));   -- someone else's address
SELECT pg_temp.try(format('SELECT commerce.checkout(%s, 9999)', :cart2));
SELECT pg_temp.try('SELECT commerce.checkout(9999)');
SELECT pg_temp.try('SELECT commerce.checkout(NULL)');
UPDATE commerce.reservations SET expires_at = now() - interval '1 second' WHERE cart_id = :cart2;
SELECT pg_temp.try(format('SELECT commerce.checkout(%s)', :cart2));         -- hold ran out
SELECT commerce.expire();
SELECT pg_temp.try(format('SELECT commerce.checkout(%s)', :cart2));         -- cart abandoned
SELECT commerce.reserve_cart(ARRAY[400], ARRAY[1], user_id => 400) AS cart3 \gset
SELECT commerce.release(id) FROM commerce.reservations WHERE cart_id = :cart3;
SELECT pg_temp.try(format('SELECT commerce.checkout(%s)', :cart3));         -- a hold was released
SELECT count(*) AS orders FROM commerce.orders;
SELECT variant_id, quantity, reserved FROM commerce.inventory WHERE variant_id IN (400, 401) ORDER BY 1;

-- Status: only allowed edges; updated_at kept.
SELECT pg_temp.try(format($$SELECT commerce.set_order_status(%s, 'shipped')$$, :ord));
SELECT pg_temp.try(format($$SELECT commerce.set_order_status(%s, 'refunded')$$, :ord));
SELECT pg_temp.try($$SELECT commerce.set_order_status(9999, 'paid')$$);
SELECT pg_temp.try(format($$SELECT commerce.set_order_status(%s, NULL)$$, :ord));
SELECT commerce.set_order_status(:ord, 'paid');
SELECT commerce.set_order_status(:ord, 'shipped');
SELECT pg_temp.try(format($$SELECT commerce.set_order_status(%s, 'cancelled')$$, :ord));
SELECT commerce.set_order_status(:ord, 'delivered');
SELECT pg_temp.try(format($$SELECT commerce.set_order_status(%s, 'pending')$$, :ord));
SELECT status FROM commerce.orders WHERE id = :ord;

-- Cancelling a paid order returns its stock.
SELECT commerce.reserve_cart(ARRAY[400, 401], ARRAY[3, 2], user_id => 400) AS cart4 \gset
SELECT commerce.checkout(:cart4) AS ord4 \gset
SELECT variant_id, quantity, reserved FROM commerce.inventory WHERE variant_id IN (400, 401) ORDER BY 1;
SELECT commerce.set_order_status(:ord4, 'paid');
SELECT commerce.set_order_status(:ord4, 'cancelled');
SELECT variant_id, quantity, reserved FROM commerce.inventory WHERE variant_id IN (400, 401) ORDER BY 1;
SELECT pg_temp.try(format($$SELECT commerce.set_order_status(%s, 'paid')$$, :ord4));
SELECT pg_temp.try(format($$SELECT commerce.set_order_status(%s, 'cancelled')$$, :ord4));
SELECT variant_id, quantity, reserved FROM commerce.inventory WHERE variant_id IN (400, 401) ORDER BY 1;

-- Returns always succeed: an order whose variant was restocked to the
-- bucket maximum (2,147,483,647 units) since it was placed still cancels.
-- The units go where there is room, into a new bucket when every bucket is
-- full (0.1.0 failed the cancel with 22003).
SELECT commerce.reserve_cart(ARRAY[401], ARRAY[2], user_id => 400) AS cart5 \gset
SELECT commerce.checkout(:cart5) AS ord5 \gset
SELECT commerce.restock(401, 2147483647 - (SELECT max(quantity) FROM commerce.stock WHERE variant_id = 401)::int) > 0 AS restocked;
SELECT max(quantity) AS fullest_bucket, count(*) AS buckets FROM commerce.stock WHERE variant_id = 401;
SELECT quantity AS before_cancel FROM commerce.inventory WHERE variant_id = 401 \gset
SELECT commerce.set_order_status(:ord5, 'cancelled');
SELECT quantity - :before_cancel AS returned, reserved FROM commerce.inventory WHERE variant_id = 401;
SELECT count(*) AS buckets, max(quantity) <= 2147483647 AS within_max FROM commerce.stock WHERE variant_id = 401;
