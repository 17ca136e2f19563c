-- A live hold (one is taken first, in case none is left) points at a bucket
-- row its variant does not have: the variant's sums still agree, its rows
-- do not.
SELECT commerce.reserve(2, 1);
UPDATE commerce.reservations SET bucket = bucket + 1000
 WHERE id = (SELECT min(id) FROM commerce.reservations WHERE status = 'held');
