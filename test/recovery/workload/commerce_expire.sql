-- A hold that runs out at once, then expire() frees due holds (SKIP LOCKED,
-- concurrent with the other clients' holds and carts).
\set v random(1, 20)
SELECT commerce.reserve(:v, 1, '1 millisecond');
SELECT commerce.expire(20);
