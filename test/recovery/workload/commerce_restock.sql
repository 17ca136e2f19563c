-- A restock, logged in the same transaction (rc.restocks: units can be
-- counted after a crash).
\set v random(1, 20)
\set q random(1, 20)
BEGIN;
SELECT commerce.restock(:v, :q);
INSERT INTO rc.restocks (variant_id, qty) VALUES (:v, :q);
COMMIT;
