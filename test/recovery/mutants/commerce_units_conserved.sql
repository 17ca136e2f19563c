-- A unit appears in a stock row from nowhere (within the row's bounds).
UPDATE commerce.stock SET quantity = quantity + 1
 WHERE (variant_id, bucket) = (SELECT variant_id, bucket FROM commerce.stock WHERE variant_id > 1 ORDER BY 1, 2 LIMIT 1);
