-- Carts and orders agree (docs/commerce.md, checkout): a cart is checked out
-- exactly when it has an order, and that order is the cart's; an abandoned
-- cart holds nothing; an order has items, its total is the sum of its items,
-- and every item is a confirmed hold of the order's cart, same variant and
-- quantity.
SELECT format('cart %s (%s, order %s): %s', c.id, c.status, c.order_id, p.problem)
  FROM commerce.carts c
  LEFT JOIN commerce.orders o ON o.id = c.order_id
  CROSS JOIN LATERAL (VALUES
      (CASE WHEN (c.status = 'checked_out') <> (c.order_id IS NOT NULL) THEN 'order_id does not match the status' END),
      (CASE WHEN c.order_id IS NOT NULL AND o.cart_id IS DISTINCT FROM c.id THEN 'its order belongs to another cart' END),
      (CASE WHEN NOT EXISTS (SELECT 1 FROM commerce.reservations r WHERE r.cart_id = c.id) THEN 'it has no holds' END)
  ) AS p(problem)
 WHERE p.problem IS NOT NULL
UNION ALL
SELECT format('order %s (%s, total %s, cart %s): %s', o.id, o.status, o.total, o.cart_id, p.problem)
  FROM commerce.orders o
  LEFT JOIN commerce.carts c ON c.id = o.cart_id
  CROSS JOIN LATERAL (SELECT count(*) AS n, sum(i.quantity * i.unit_price) AS total
                        FROM commerce.order_items i WHERE i.order_id = o.id) it
  CROSS JOIN LATERAL (VALUES
      (CASE WHEN it.n = 0 THEN 'it has no items' END),
      (CASE WHEN it.total IS DISTINCT FROM o.total THEN 'its items add up to ' || it.total END),
      (CASE WHEN o.cart_id IS NOT NULL AND (c.status IS DISTINCT FROM 'checked_out' OR c.order_id IS DISTINCT FROM o.id)
            THEN 'its cart is ' || coalesce(c.status, 'missing') || ' with order ' || coalesce(c.order_id::text, 'none') END)
  ) AS p(problem)
 WHERE p.problem IS NOT NULL
UNION ALL
SELECT format('order item %s of order %s: %s', i.id, i.order_id,
              CASE WHEN r.id IS NULL THEN 'its hold does not exist'
                   ELSE format('hold %s is %s, cart %s, variant %s, quantity %s', r.id, r.status, r.cart_id, r.variant_id, r.quantity) END)
  FROM commerce.order_items i
  JOIN commerce.orders o ON o.id = i.order_id
  LEFT JOIN commerce.reservations r ON r.id = i.reservation_id
 WHERE r.id IS NULL OR r.status <> 'confirmed' OR r.cart_id IS DISTINCT FROM o.cart_id
    OR r.variant_id <> i.variant_id OR r.quantity <> i.quantity;
