-- The case study's textbook hold on a random one of 10,000 variants: 4 round trips.
\set v random(1, 10000)
BEGIN;
SELECT * FROM textbook.inventory WHERE variant_id = :v FOR UPDATE;
UPDATE textbook.inventory SET reserved = reserved + 1 WHERE variant_id = :v AND (quantity - reserved) >= 1;
COMMIT;
