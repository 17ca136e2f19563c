-- Units are neither lost nor made: per variant, the units in stock equal
-- everything restocked (rc.restocks, logged in each restocking transaction)
-- minus the units sold (confirmed holds, by confirm() or checkout()) plus the
-- units of cancelled orders (returned to stock by the orders trigger).
WITH q AS (SELECT variant_id, sum(quantity) AS units FROM commerce.stock GROUP BY variant_id),
     r AS (SELECT variant_id, sum(qty) AS restocked FROM rc.restocks GROUP BY variant_id),
     sold AS (SELECT variant_id, sum(quantity) AS sold FROM commerce.reservations
               WHERE status = 'confirmed' GROUP BY variant_id),
     back AS (SELECT i.variant_id, sum(i.quantity) AS returned
                FROM commerce.order_items i JOIN commerce.orders o ON o.id = i.order_id
               WHERE o.status = 'cancelled' GROUP BY i.variant_id)
SELECT format('variant %s: %s units in stock, expected %s (restocked %s, sold %s, returned by cancelled orders %s)',
              variant_id, coalesce(q.units, 0),
              coalesce(r.restocked, 0) - coalesce(sold.sold, 0) + coalesce(back.returned, 0),
              coalesce(r.restocked, 0), coalesce(sold.sold, 0), coalesce(back.returned, 0))
  FROM q FULL JOIN r USING (variant_id) LEFT JOIN sold USING (variant_id) LEFT JOIN back USING (variant_id)
 WHERE coalesce(q.units, 0) <> coalesce(r.restocked, 0) - coalesce(sold.sold, 0) + coalesce(back.returned, 0)
 ORDER BY variant_id;
