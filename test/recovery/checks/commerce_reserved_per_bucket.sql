-- The same per stock row: held units stay on the bucket their hold points at
-- (docs/commerce.md, "Flash-sale items"), and a hold's bucket row exists.
WITH s AS (SELECT variant_id, bucket, reserved FROM commerce.stock),
     h AS (SELECT variant_id, bucket, sum(quantity) AS held FROM commerce.reservations
            WHERE status = 'held' GROUP BY variant_id, bucket)
SELECT format('stock row (variant %s, bucket %s)%s: reserves %s units, its live holds hold %s',
              variant_id, bucket, CASE WHEN s.variant_id IS NULL THEN ' (missing)' ELSE '' END,
              coalesce(s.reserved, 0), coalesce(h.held, 0))
  FROM s FULL JOIN h USING (variant_id, bucket)
 WHERE s.variant_id IS NULL OR coalesce(s.reserved, 0) <> coalesce(h.held, 0)
 ORDER BY variant_id, bucket;
