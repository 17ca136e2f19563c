-- commerce: what the data of data/commerce.sql reads as (no timestamps, no
-- generated ids). Printed before and after the update and on the fresh
-- install; all three must equal expected/commerce.out.
SELECT variant_id, quantity, reserved, available, buckets
  FROM commerce.inventory WHERE variant_id IN (9001, 9002) ORDER BY variant_id;
-- (which bucket a hold takes varies: the buckets as a set, in value order)
SELECT variant_id, array_agg(bucket ORDER BY bucket) AS buckets, min(nbuckets) AS nbuckets,
       array_agg(quantity || '/' || reserved ORDER BY quantity, reserved) AS quantity_reserved
  FROM commerce.stock WHERE variant_id IN (9001, 9002) GROUP BY variant_id ORDER BY variant_id;
SELECT variant_id, quantity, status, idempotency_key, cart_id IS NOT NULL AS in_cart
  FROM commerce.reservations WHERE variant_id IN (9001, 9002) ORDER BY variant_id, quantity, status;
SELECT o.status, o.total, o.idempotency_key, o.shipping_address_id, c.status AS cart_status,
       c.idempotency_key AS cart_key
  FROM commerce.orders o JOIN commerce.carts c ON c.id = o.cart_id WHERE o.user_id = 9001;
SELECT i.variant_id, i.quantity, i.unit_price
  FROM commerce.order_items i JOIN commerce.orders o ON o.id = i.order_id
 WHERE o.user_id = 9001 ORDER BY i.variant_id;
SELECT id, name, path FROM commerce.categories WHERE id IN (9001, 9002) ORDER BY id;
SELECT sku FROM commerce.products_in_category(9001);
SELECT sku, review_count, avg_rating, rating_distribution, variant_ids FROM commerce.product_page(9001);
SELECT commerce.available(9001) AS available_9001, commerce.available(9002) AS available_9002;
SELECT p.proname, has_function_privilege('upg_commerce_app', p.oid, 'EXECUTE') AS granted
  FROM pg_proc p WHERE p.pronamespace = 'commerce'::regnamespace
   AND p.proname IN ('reserve', 'reserve_cart', 'restock', 'expire', 'set_buckets')
 ORDER BY 1;
