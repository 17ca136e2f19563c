-- Every stock row: 0 <= reserved <= quantity (docs/commerce.md, "Never oversold").
SELECT format('stock row (variant %s, bucket %s): quantity %s, reserved %s', variant_id, bucket, quantity, reserved)
  FROM commerce.stock
 WHERE NOT (reserved >= 0 AND reserved <= quantity)
 ORDER BY variant_id, bucket;
