-- commerce demo: case study 1 end to end. Each workflow writes one row to
-- casebook_demo.scoreboard: whether it held, and the invariant it checked.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TEMP TABLE demo_ids (name text PRIMARY KEY, id bigint);
CREATE FUNCTION pg_temp.score(workflow text, ok boolean, invariant text, detail text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO casebook_demo.scoreboard (extension, workflow, ok, invariant, detail)
    VALUES ('commerce', workflow, coalesce(ok, false), invariant, detail)
$$;
-- The SQLSTATE a statement fails with, or 'ok'.
CREATE FUNCTION pg_temp.fails_with(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- Catalog: a category tree, products with JSONB attributes, variants with stock.
INSERT INTO commerce.users (email, password_hash)
SELECT 'shopper' || g || '@example.com', 'x' FROM generate_series(1, 20) g;
INSERT INTO commerce.addresses (user_id, type, street, city, country, is_default)
SELECT id, 'shipping', id || ' Market St', 'Lisbon', 'PT', true FROM commerce.users;
INSERT INTO commerce.categories (name) VALUES ('Electronics'), ('Apparel');
INSERT INTO commerce.categories (name, parent_id)
SELECT 'Phones', id FROM commerce.categories WHERE name = 'Electronics';
INSERT INTO commerce.categories (name, parent_id)
SELECT 'Smartphones', id FROM commerce.categories WHERE name = 'Phones';
INSERT INTO commerce.categories (name, parent_id)
SELECT 'T-Shirts', id FROM commerce.categories WHERE name = 'Apparel';
INSERT INTO commerce.products (sku, name, category_id, base_price, attributes)
SELECT 'SKU-' || g, 'Product ' || g,
       (SELECT id FROM commerce.categories WHERE name = (ARRAY['Phones', 'Smartphones', 'T-Shirts'])[1 + g % 3]),
       10 + g, jsonb_build_object('brand', (ARRAY['Acme', 'Globex'])[1 + g % 2], 'weight_g', 100 + g)
  FROM generate_series(1, 30) g;
INSERT INTO commerce.product_variants (product_id, sku, name, price_modifier, attributes)
SELECT p.id, p.sku || '-' || c, c, CASE c WHEN 'gold' THEN 5 ELSE 0 END, jsonb_build_object('color', c)
  FROM commerce.products p CROSS JOIN unnest(ARRAY['black', 'gold']) c;
SELECT count(commerce.restock(id, 50)) FROM commerce.product_variants;

WITH RECURSIVE tree AS (   -- the textbook's recursive walk, as the reference
    SELECT id FROM commerce.categories WHERE name = 'Electronics'
    UNION ALL
    SELECT c.id FROM commerce.categories c JOIN tree t ON c.parent_id = t.id)
SELECT pg_temp.score('catalog: products of a category subtree',
    (SELECT count(*) FROM commerce.products_in_category(
        (SELECT id FROM commerce.categories WHERE name = 'Electronics')))
    = (SELECT count(*) FROM commerce.products WHERE category_id IN (SELECT id FROM tree)),
    'ltree subtree result = recursive-CTE result',
    (SELECT count(*) FROM commerce.products_in_category(
        (SELECT id FROM commerce.categories WHERE name = 'Electronics'))) || ' products under Electronics');

-- Reserve then confirm: a hold becomes a sale.
INSERT INTO demo_ids SELECT 'v1', min(id) FROM commerce.product_variants;
INSERT INTO demo_ids SELECT 'r1', commerce.reserve((SELECT id FROM demo_ids WHERE name = 'v1'), 3);
SELECT commerce.confirm((SELECT id FROM demo_ids WHERE name = 'r1'));
SELECT pg_temp.score('reserve 3, confirm',
    (SELECT quantity = 47 AND reserved = 0 FROM commerce.inventory
      WHERE variant_id = (SELECT id FROM demo_ids WHERE name = 'v1')),
    'quantity 50 -> 47, reserved back to 0',
    (SELECT format('quantity %s, reserved %s', quantity, reserved) FROM commerce.inventory
      WHERE variant_id = (SELECT id FROM demo_ids WHERE name = 'v1')));

-- Overselling is refused with KB101 and changes nothing.
SELECT pg_temp.score('reserve more than available',
    pg_temp.fails_with(format('SELECT commerce.reserve(%s, 48)', (SELECT id FROM demo_ids WHERE name = 'v1'))) = 'KB101'
    AND commerce.available((SELECT id FROM demo_ids WHERE name = 'v1')) = 47,
    'fails with KB101, available unchanged (47)',
    'asked 48 of 47');

-- Idempotent retry: same key, same hold, reserved counted once.
-- (Separate statements: available() is STABLE and reads the statement's snapshot.)
INSERT INTO demo_ids SELECT 'k1', commerce.reserve((SELECT id FROM demo_ids WHERE name = 'v1'), 2, idempotency_key => 'demo-retry');
INSERT INTO demo_ids SELECT 'k2', commerce.reserve((SELECT id FROM demo_ids WHERE name = 'v1'), 2, idempotency_key => 'demo-retry');
SELECT pg_temp.score('idempotent retry',
    (SELECT id FROM demo_ids WHERE name = 'k1') = (SELECT id FROM demo_ids WHERE name = 'k2')
    AND commerce.available((SELECT id FROM demo_ids WHERE name = 'v1')) = 45,
    'two calls, one reservation, available 47 -> 45', 'key demo-retry');

-- Cart and checkout: all lines or none, order at current prices.
INSERT INTO demo_ids
SELECT 'cart', commerce.reserve_cart(ARRAY(SELECT id FROM commerce.product_variants ORDER BY id DESC LIMIT 3),
                                     ARRAY[1, 2, 3], user_id => (SELECT min(id) FROM commerce.users));
INSERT INTO demo_ids
SELECT 'order', commerce.checkout((SELECT id FROM demo_ids WHERE name = 'cart'),
                                  (SELECT min(id) FROM commerce.addresses), 'demo-checkout');
SELECT pg_temp.score('cart checkout',
    (SELECT o.total = (SELECT sum(quantity * unit_price) FROM commerce.order_items i WHERE i.order_id = o.id)
            AND (SELECT count(*) FROM commerce.order_items i WHERE i.order_id = o.id) = 3
       FROM commerce.orders o WHERE o.id = (SELECT id FROM demo_ids WHERE name = 'order'))
    AND commerce.checkout((SELECT id FROM demo_ids WHERE name = 'cart')) = (SELECT id FROM demo_ids WHERE name = 'order'),
    'order total = sum of its items; a retry returns the same order',
    (SELECT format('order %s, total %s', id, total) FROM commerce.orders WHERE id = (SELECT id FROM demo_ids WHERE name = 'order')));

SELECT pg_temp.score('all-or-nothing cart',
    pg_temp.fails_with(format('SELECT commerce.reserve_cart(ARRAY[%s, %s], ARRAY[1, 1000])',
        (SELECT id FROM demo_ids WHERE name = 'v1'), (SELECT max(id) FROM commerce.product_variants))) = 'KB101'
    AND commerce.available((SELECT id FROM demo_ids WHERE name = 'v1')) = 45,
    'one short line: KB101 and the other line is not held', 'lines of 1 and 1000 units');

-- Abandoned carts do not leak stock: expire() frees their holds.
INSERT INTO demo_ids
SELECT 'abandoned', commerce.reserve_cart(ARRAY[(SELECT id FROM demo_ids WHERE name = 'v1')], ARRAY[5]);
UPDATE commerce.reservations SET expires_at = now() - interval '1 second'
 WHERE cart_id = (SELECT id FROM demo_ids WHERE name = 'abandoned');
SELECT commerce.expire();
SELECT pg_temp.score('abandoned cart expires',
    commerce.available((SELECT id FROM demo_ids WHERE name = 'v1')) = 45
    AND (SELECT status FROM commerce.carts WHERE id = (SELECT id FROM demo_ids WHERE name = 'abandoned')) = 'abandoned'
    AND EXISTS (SELECT 1 FROM cron.job WHERE jobname = 'commerce-expire' AND schedule = '* * * * *'),
    'stock back after expire(); pg_cron runs expire() every minute',
    'cron job commerce-expire scheduled');

-- Flash sale: a hot item spread over 16 buckets sells out exactly.
INSERT INTO commerce.products (sku, name, base_price) VALUES ('FLASH-1', 'Flash sale console', 299);
INSERT INTO commerce.product_variants (product_id, sku, name)
SELECT id, 'FLASH-1-STD', 'standard' FROM commerce.products WHERE sku = 'FLASH-1';
INSERT INTO demo_ids SELECT 'hot', id FROM commerce.product_variants WHERE sku = 'FLASH-1-STD';
SELECT commerce.restock((SELECT id FROM demo_ids WHERE name = 'hot'), 50);
SELECT commerce.set_buckets((SELECT id FROM demo_ids WHERE name = 'hot'), 16);
SELECT commerce.restock((SELECT id FROM demo_ids WHERE name = 'hot'), 950);   -- 1000 in all
DO $$
DECLARE
    hot bigint := (SELECT id FROM demo_ids WHERE name = 'hot');
    sold int := 0;
BEGIN
    LOOP
        BEGIN
            PERFORM commerce.reserve(hot, 3);
            sold := sold + 3;
        EXCEPTION WHEN SQLSTATE 'KB101' THEN
            EXIT;
        END;
    END LOOP;
    PERFORM pg_temp.score('flash sale on 16 buckets',
        sold = 999 AND commerce.available(hot) = 1
        AND NOT EXISTS (SELECT 1 FROM commerce.stock WHERE reserved > quantity),
        'holds of 3 until sold out: exactly 999 of 1000 held, never oversold',
        format('%s units held over %s bucket rows', sold,
               (SELECT count(*) FROM commerce.stock WHERE variant_id = hot)));
END $$;

-- Order life cycle: only allowed edges; cancelling returns stock.
SELECT commerce.set_order_status((SELECT id FROM demo_ids WHERE name = 'order'), 'paid');
INSERT INTO demo_ids SELECT 'refused', CASE pg_temp.fails_with(format($$SELECT commerce.set_order_status(%s, 'delivered')$$,
                              (SELECT id FROM demo_ids WHERE name = 'order'))) WHEN 'KB110' THEN 1 ELSE 0 END;
SELECT commerce.set_order_status((SELECT id FROM demo_ids WHERE name = 'order'), 'cancelled');
SELECT pg_temp.score('order status edges',
    (SELECT id FROM demo_ids WHERE name = 'refused') = 1
    AND (SELECT status FROM commerce.orders WHERE id = (SELECT id FROM demo_ids WHERE name = 'order')) = 'cancelled'
    AND (SELECT bool_and(available = 50) FROM commerce.inventory
          WHERE variant_id IN (SELECT variant_id FROM commerce.order_items
                                WHERE order_id = (SELECT id FROM demo_ids WHERE name = 'order'))),
    'paid -> delivered refused (KB110); paid -> cancelled returns every unit',
    'order ' || (SELECT id FROM demo_ids WHERE name = 'order'));

-- Reviews: the product page reads kept aggregates that match a recount.
INSERT INTO commerce.reviews (product_id, user_id, rating)
SELECT p.id, u.id, 1 + (p.id + u.id) % 5
  FROM (SELECT id FROM commerce.products ORDER BY id LIMIT 5) p CROSS JOIN commerce.users u;
DELETE FROM commerce.reviews WHERE user_id % 7 = 0;
SELECT pg_temp.score('review aggregates',
    NOT EXISTS (
        SELECT 1 FROM commerce.product_review_stats s
          JOIN (SELECT product_id, count(*) n, sum(rating) t FROM commerce.reviews GROUP BY 1) r USING (product_id)
         WHERE s.review_count <> r.n OR s.rating_sum <> r.t),
    'kept count/sum/distribution = full recount after inserts and deletes',
    (SELECT format('%s reviews on product %s, average %s', review_count, id, avg_rating)
       FROM commerce.product_page((SELECT min(id) FROM commerce.products))));

-- The invariant over everything above.
SELECT pg_temp.score('stock invariant',
    NOT EXISTS (SELECT 1 FROM commerce.stock WHERE reserved < 0 OR reserved > quantity)
    AND NOT EXISTS (
        SELECT 1 FROM (SELECT variant_id, sum(reserved) r FROM commerce.stock GROUP BY 1) s
        LEFT JOIN (SELECT variant_id, sum(quantity) h FROM commerce.reservations WHERE status = 'held' GROUP BY 1) h
        USING (variant_id) WHERE s.r <> coalesce(h.h, 0)),
    '0 <= reserved <= quantity on every row; reserved = sum of held reservations',
    (SELECT count(*) || ' stock rows checked' FROM commerce.stock));
