-- Per variant, the units the stock rows reserve equal the units of the live
-- holds (status 'held', whether past their time or not: expire() has not
-- freed those yet).
WITH s AS (SELECT variant_id, sum(reserved) AS reserved FROM commerce.stock GROUP BY variant_id),
     h AS (SELECT variant_id, sum(quantity) AS held FROM commerce.reservations
            WHERE status = 'held' GROUP BY variant_id)
SELECT format('variant %s: the stock rows reserve %s units, the live holds hold %s',
              variant_id, coalesce(s.reserved, 0), coalesce(h.held, 0))
  FROM s FULL JOIN h USING (variant_id)
 WHERE coalesce(s.reserved, 0) <> coalesce(h.held, 0)
 ORDER BY variant_id;
