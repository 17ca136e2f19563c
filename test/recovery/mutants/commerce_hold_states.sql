-- A confirmed hold (one is confirmed first, in case there is none) is marked
-- held again, closed_at left set.
SELECT commerce.confirm(commerce.reserve(2, 1));
UPDATE commerce.reservations SET status = 'held'
 WHERE id = (SELECT min(id) FROM commerce.reservations WHERE status = 'confirmed');
