-- A plain hold (the direct path), then released (4 in 10), confirmed (4 in
-- 10) or left held for 15 minutes; variant 1, the bucketed one, 3 times in 10.
\set v random(2, 20)
\if random(1, 10) <= 3
\set v 1
\endif
\set q random(1, 3)
\set what random(1, 10)
SELECT commerce.reserve(:v, :q) AS hold \gset
\if :what <= 4
SELECT commerce.release(:hold);
\elif :what <= 8
SELECT commerce.confirm(:hold);
\endif
