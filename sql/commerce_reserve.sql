-- commerce holds: reserve, confirm, release, expire, idempotency, error paths.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS commerce CASCADE;
RESET client_min_messages;
INSERT INTO commerce.products (id, sku, name, base_price) VALUES (200, 'RS-1', 'Reserve test', 10);
INSERT INTO commerce.product_variants (id, product_id, sku) VALUES (200, 200, 'RS-1-A'), (201, 200, 'RS-1-B');
SELECT commerce.restock(200, 10);

-- A hold: reserved rises, quantity stays.
SELECT commerce.reserve(200, 3) AS r1 \gset
SELECT quantity, reserved, available FROM commerce.inventory WHERE variant_id = 200;
SELECT variant_id, quantity, status, cart_id,
       expires_at - created_at = interval '15 minutes' AS default_hold
  FROM commerce.reservations WHERE id = :r1;
SELECT commerce.reserve(200, 1, interval '30 seconds') AS r_short \gset
SELECT expires_at - created_at AS hold FROM commerce.reservations WHERE id = :r_short;

-- All or nothing: asking for more than is available reserves nothing.
SELECT pg_temp.try('SELECT commerce.reserve(200, 7)');
SELECT quantity, reserved, available FROM commerce.inventory WHERE variant_id = 200;

-- Bad input: a clear error with its SQLSTATE, nothing changed.
SELECT pg_temp.try('SELECT commerce.reserve(200, 0)');
SELECT pg_temp.try('SELECT commerce.reserve(200, -1)');
SELECT pg_temp.try('SELECT commerce.reserve(200, 2147483648)');
SELECT pg_temp.try('SELECT commerce.reserve(NULL, 1)');
SELECT pg_temp.try('SELECT commerce.reserve(200, NULL)');
SELECT pg_temp.try('SELECT commerce.reserve(999, 1)');
SELECT pg_temp.try($$SELECT commerce.reserve(200, 1, interval '0 seconds')$$);
SELECT pg_temp.try($$SELECT commerce.reserve(200, 1, interval '-5 minutes')$$);
-- At most 366 days (a longer hold is a mistake; a very long one overflowed
-- timestamptz with 22008 from inside the insert).
SELECT pg_temp.try($$SELECT commerce.reserve(200, 1, interval '178000000 years')$$);
SELECT pg_temp.try($$SELECT commerce.reserve(200, 1, interval '367 days')$$);
SELECT pg_temp.try($$SELECT commerce.reserve(200, 1, NULL)$$);
SELECT pg_temp.try($$SELECT commerce.reserve(200, 1, idempotency_key => '')$$);
SELECT pg_temp.try($$SELECT commerce.reserve(200, 1, idempotency_key => repeat('k', 201))$$);
SELECT count(*) AS reservations, sum(quantity) AS held FROM commerce.reservations WHERE variant_id = 200;
SELECT quantity, reserved, available FROM commerce.inventory WHERE variant_id = 200;

-- Idempotency: a retry with the same key returns the same hold and reserves nothing more.
SELECT commerce.reserve(200, 2, idempotency_key => 'order-42-line-1') AS k1 \gset
SELECT commerce.reserve(200, 2, idempotency_key => 'order-42-line-1') = :k1 AS same_reservation;
SELECT reserved FROM commerce.inventory WHERE variant_id = 200;
-- The same key for a different request is refused.
SELECT pg_temp.try($$SELECT commerce.reserve(200, 3, idempotency_key => 'order-42-line-1')$$);
SELECT pg_temp.try($$SELECT commerce.reserve(201, 2, idempotency_key => 'order-42-line-1')$$);
-- A key stays bound to its hold after the hold ends.
SELECT commerce.release(:k1);
SELECT commerce.reserve(200, 2, idempotency_key => 'order-42-line-1') = :k1 AS still_same;
SELECT reserved FROM commerce.inventory WHERE variant_id = 200;

-- confirm: the hold becomes a sale, quantity and reserved both drop.
SELECT quantity, reserved FROM commerce.inventory WHERE variant_id = 200;
SELECT commerce.confirm(:r1);
SELECT quantity, reserved FROM commerce.inventory WHERE variant_id = 200;
SELECT status, closed_at IS NOT NULL AS closed FROM commerce.reservations WHERE id = :r1;

-- release: the units come back.
SELECT commerce.release(:r_short);
SELECT quantity, reserved FROM commerce.inventory WHERE variant_id = 200;

-- Life-cycle errors.
SELECT pg_temp.try(format('SELECT commerce.confirm(%s)', :r1));      -- already confirmed
SELECT pg_temp.try(format('SELECT commerce.release(%s)', :r1));
SELECT pg_temp.try(format('SELECT commerce.release(%s)', :r_short)); -- already released
SELECT pg_temp.try(format('SELECT commerce.confirm(%s)', :r_short));
SELECT pg_temp.try('SELECT commerce.confirm(987654)');
SELECT pg_temp.try('SELECT commerce.release(987654)');
SELECT pg_temp.try('SELECT commerce.confirm(NULL)');
SELECT quantity, reserved FROM commerce.inventory WHERE variant_id = 200;

-- Expiry: holds past their time are freed by expire(); a late confirm fails.
SELECT commerce.reserve(200, 2) AS e1 \gset
SELECT commerce.reserve(200, 1) AS e2 \gset
SELECT commerce.reserve(200, 1) AS e3 \gset
UPDATE commerce.reservations SET expires_at = now() - interval '1 second' WHERE id IN (:e1, :e2);
SELECT pg_temp.try(format('SELECT commerce.confirm(%s)', :e1));      -- held but past its time
SELECT quantity, reserved FROM commerce.inventory WHERE variant_id = 200;
SELECT commerce.expire();
SELECT id = :e3 AS is_e3, status FROM commerce.reservations WHERE id IN (:e1, :e2, :e3) ORDER BY id;
SELECT quantity, reserved FROM commerce.inventory WHERE variant_id = 200;
SELECT commerce.expire();                                            -- nothing left to do
SELECT pg_temp.try(format('SELECT commerce.confirm(%s)', :e1));
SELECT pg_temp.try(format('SELECT commerce.release(%s)', :e2));
-- release of a hold past its time (expire has not run yet) is allowed.
UPDATE commerce.reservations SET expires_at = now() - interval '1 second' WHERE id = :e3;
SELECT commerce.release(:e3);
SELECT pg_temp.try('SELECT commerce.expire(0)');
SELECT pg_temp.try('SELECT commerce.expire(NULL)');
SELECT pg_temp.try('SELECT commerce.expire(9223372036854775807)');
-- expire(max_holds) works in batches.
SELECT commerce.reserve(201, 1) FROM generate_series(1, 5);
SELECT commerce.restock(201, 10);
SELECT count(*) FROM (SELECT commerce.reserve(201, 1) FROM generate_series(1, 5)) s;
UPDATE commerce.reservations SET expires_at = now() - interval '1 second' WHERE variant_id = 201;
SELECT commerce.expire(3) AS first_batch, commerce.expire(3) AS second_batch;
SELECT quantity, reserved FROM commerce.inventory WHERE variant_id = 201;

-- The fast path never bypasses what the executor enforces: a read-only
-- transaction refuses the hold (25006), and a user trigger on the stock table
-- still fires.
SELECT commerce.available(201) AS before_read_only \gset
BEGIN TRANSACTION READ ONLY;
SELECT pg_temp.try('SELECT commerce.reserve(201, 1)');
ROLLBACK;
SELECT commerce.available(201) = :before_read_only AS unchanged;
CREATE TABLE stock_audit (variant_id bigint, reserved integer);
CREATE FUNCTION stock_audit_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.stock_audit VALUES (NEW.variant_id, NEW.reserved);
    RETURN NEW;
END $$;
CREATE TRIGGER stock_audit AFTER UPDATE ON commerce.stock
    FOR EACH ROW EXECUTE FUNCTION stock_audit_trigger();
SELECT commerce.reserve(201, 2) > 0 AS reserved;
SELECT variant_id, reserved FROM stock_audit;
DROP TRIGGER stock_audit ON commerce.stock;
DROP FUNCTION stock_audit_trigger();
DROP TABLE stock_audit;

-- The invariant over everything this file did.
SELECT count(*) AS oversold_rows FROM commerce.stock WHERE reserved > quantity OR reserved < 0;
SELECT s.variant_id, s.reserved = coalesce(h.held, 0) AS reserved_matches_holds
  FROM (SELECT variant_id, sum(reserved) AS reserved FROM commerce.stock GROUP BY variant_id) s
  LEFT JOIN (SELECT variant_id, sum(quantity) AS held FROM commerce.reservations
              WHERE status = 'held' GROUP BY variant_id) h USING (variant_id)
 WHERE s.variant_id IN (200, 201) ORDER BY 1;
