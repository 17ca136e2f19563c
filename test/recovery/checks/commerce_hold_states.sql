-- No hold in an impossible state (docs/commerce.md, Guarantees):
--   a positive quantity; closed exactly when no longer held, never before it
--   was taken; expired only once due (expire() frees holds past their time);
--   confirmed only before its time (KB105 otherwise); a hold of a cart that
--   was checked out is confirmed, a hold of an abandoned cart is not held or
--   confirmed, a hold of an open cart is not confirmed.
SELECT format('hold %s (%s, quantity %s, created %s, expires %s, closed %s, cart %s %s): %s',
              r.id, r.status, r.quantity, r.created_at, r.expires_at, r.closed_at, r.cart_id, c.status, p.problem)
  FROM commerce.reservations r
  LEFT JOIN commerce.carts c ON c.id = r.cart_id
  CROSS JOIN LATERAL (VALUES
      (CASE WHEN r.quantity <= 0 THEN 'quantity is not positive' END),
      (CASE WHEN (r.status = 'held') <> (r.closed_at IS NULL) THEN 'closed_at does not match the status' END),
      (CASE WHEN r.closed_at < r.created_at THEN 'closed before it was taken' END),
      (CASE WHEN r.expires_at <= r.created_at THEN 'expires before it was taken' END),
      (CASE WHEN r.status = 'expired' AND r.closed_at < r.expires_at THEN 'expired before its time' END),
      (CASE WHEN r.status = 'confirmed' AND r.closed_at >= r.expires_at THEN 'confirmed after its time' END),
      (CASE WHEN r.cart_id IS NOT NULL AND c.id IS NULL THEN 'its cart does not exist' END),
      (CASE WHEN c.status = 'checked_out' AND r.status <> 'confirmed' THEN 'its cart was checked out' END),
      (CASE WHEN c.status = 'abandoned' AND r.status IN ('held', 'confirmed') THEN 'its cart was abandoned' END),
      (CASE WHEN c.status = 'open' AND r.status = 'confirmed' THEN 'its cart is still open' END)
  ) AS p(problem)
 WHERE p.problem IS NOT NULL
 ORDER BY r.id;
