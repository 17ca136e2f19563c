-- The case study's textbook hold on the hot variant: 4 round trips.
\set v :hot
BEGIN;
SELECT * FROM textbook.inventory WHERE variant_id = :v FOR UPDATE;
UPDATE textbook.inventory SET reserved = reserved + 1 WHERE variant_id = :v AND (quantity - reserved) >= 1;
COMMIT;
