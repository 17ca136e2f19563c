-- A hold with an idempotency key (the SQL path), retried with the same key
-- (the same reservation comes back, nothing more is reserved), then released.
\set v random(1, 20)
SELECT nextval('rc.key_seq') AS k \gset
SELECT commerce.reserve(:v, 2, '15 minutes', 'rc-' || :k) AS hold \gset
SELECT commerce.reserve(:v, 2, '15 minutes', 'rc-' || :k);
SELECT commerce.release(:hold);
