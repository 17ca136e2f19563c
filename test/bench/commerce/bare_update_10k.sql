-- Reference ceiling: one guarded UPDATE, 1 round trip, no lock read and no
-- reservation row (so no hold to confirm, release or expire later).
\set v random(1, 10000)
UPDATE textbook.inventory SET reserved = reserved + 1 WHERE variant_id = :v AND quantity - reserved >= 1;
