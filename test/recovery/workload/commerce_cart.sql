-- A cart of two lines (all or nothing), checked out at once; the order is then
-- cancelled (its units go back to stock), paid, or left pending.
\set a random(1, 20)
\set b random(1, 20)
SELECT commerce.reserve_cart(ARRAY[:a, :b]::bigint[], ARRAY[1, 2]) AS cart \gset
SELECT commerce.checkout(:cart) AS ord \gset
\set s random(1, 3)
\if :s = 1
SELECT commerce.set_order_status(:ord, 'cancelled');
\elif :s = 2
SELECT commerce.set_order_status(:ord, 'paid');
\endif
