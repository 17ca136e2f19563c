-- A live hold (one is taken first, in case none is left) grows by one unit
-- that no stock row reserves.
SELECT commerce.reserve(2, 1);
UPDATE commerce.reservations SET quantity = quantity + 1
 WHERE id = (SELECT min(id) FROM commerce.reservations WHERE status = 'held');
