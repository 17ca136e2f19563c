-- casebook hold on a random one of 10,000 variants: 1 round trip.
\set v random(1, 10000)
SELECT commerce.reserve(:v, 1);
