-- commerce stock: restock, available, set_buckets, and their error paths.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS commerce CASCADE;
RESET client_min_messages;
INSERT INTO commerce.products (id, sku, name, base_price) VALUES (100, 'ST-1', 'Stock test', 10);
INSERT INTO commerce.product_variants (id, product_id, sku) VALUES (100, 100, 'ST-1-A'), (101, 100, 'ST-1-B');

SELECT commerce.available(100);
SELECT commerce.restock(100, 10);
SELECT commerce.restock(100, 5);
SELECT commerce.available(100);

-- Errors: each names the value, and nothing changes.
SELECT pg_temp.try('SELECT commerce.restock(100, 0)');
SELECT pg_temp.try('SELECT commerce.restock(100, -5)');
SELECT pg_temp.try('SELECT commerce.restock(999, 5)');
SELECT pg_temp.try('SELECT commerce.restock(NULL, 5)');
SELECT pg_temp.try('SELECT commerce.restock(100, NULL)');
-- Quantities are bigint: beyond integer is 22003 naming the argument (0.1
-- said 42883, function does not exist).
SELECT pg_temp.try('SELECT commerce.restock(100, 5000000000)');
SELECT pg_temp.try('SELECT commerce.restock(100, -5000000000)');
SELECT pg_temp.try('SELECT commerce.available(999)');
SELECT pg_temp.try('SELECT commerce.available(NULL)');
SELECT pg_temp.try('SELECT commerce.restock(100, 2147483647)');
SELECT quantity, reserved FROM commerce.inventory WHERE variant_id = 100;

-- Buckets: available stock spread evenly, totals exact.
SELECT commerce.set_buckets(100, 4);
SELECT bucket, nbuckets, quantity, reserved FROM commerce.stock WHERE variant_id = 100 ORDER BY bucket;
SELECT commerce.restock(100, 6);   -- spread over the 4 buckets
SELECT bucket, quantity FROM commerce.stock WHERE variant_id = 100 ORDER BY bucket;
SELECT quantity, reserved, available, buckets FROM commerce.inventory WHERE variant_id = 100;

-- Holds on a bucketed variant; shrinking keeps held units where the holds point.
SELECT commerce.reserve(100, 5) AS r1 \gset
SELECT commerce.reserve(100, 5) AS r2 \gset
SELECT commerce.available(100);
SELECT commerce.set_buckets(100, 1);
-- (Which buckets the holds took depends on the backend; the shape does not.)
SELECT count(*) FILTER (WHERE bucket < nbuckets) AS active_rows,
       bool_and(bucket < nbuckets OR quantity = reserved) AS draining_rows_hold_only_reserved,
       bool_and(bucket < nbuckets OR reserved > 0) AS no_empty_draining_rows
  FROM commerce.stock WHERE variant_id = 100;
SELECT quantity, reserved, available FROM commerce.inventory WHERE variant_id = 100;
SELECT commerce.release(:r1);
SELECT commerce.release(:r2);
SELECT commerce.set_buckets(100, 1);  -- drained buckets disappear once empty
SELECT bucket, nbuckets, quantity, reserved FROM commerce.stock WHERE variant_id = 100 ORDER BY bucket;
SELECT commerce.set_buckets(100, 3);
SELECT bucket, quantity FROM commerce.stock WHERE variant_id = 100 ORDER BY bucket;

SELECT pg_temp.try('SELECT commerce.set_buckets(100, 0)');
SELECT pg_temp.try('SELECT commerce.set_buckets(100, 1025)');
SELECT pg_temp.try('SELECT commerce.set_buckets(999, 2)');
SELECT pg_temp.try('SELECT commerce.set_buckets(100, NULL)');
SELECT pg_temp.try('SELECT commerce.set_buckets(100, 4294967296)');
SELECT quantity, reserved, available, buckets FROM commerce.inventory WHERE variant_id = 100;
