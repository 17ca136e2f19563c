-- The flash-sale item's bucket count changes while holds are taken on it.
\set n random(4, 12)
SELECT commerce.set_buckets(1, :n);
