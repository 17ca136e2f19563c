-- commerce with pg_cron: installed into a database where pg_cron is present
-- (cron.database_name = 'casebook'), commerce schedules the expiry of
-- abandoned holds every minute. Everything rolls back, so the job never
-- reaches the scheduler.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION commerce CASCADE;

SELECT plan(9);

SELECT has_extension('pg_cron', 'pg_cron is installed in this database');
SELECT has_extension('commerce', 'commerce', 'commerce is installed (after pg_cron)');

SELECT results_eq(
    $$SELECT schedule, command FROM cron.job WHERE jobname = 'commerce-expire'$$,
    $$VALUES ('* * * * *', 'SELECT commerce.expire()')$$,
    'one cron job commerce-expire runs SELECT commerce.expire() every minute');
SELECT results_eq(
    $$SELECT database, username, active FROM cron.job WHERE jobname = 'commerce-expire'$$,
    $$SELECT pg_catalog.current_database()::text COLLATE "default", e.extowner::regrole::text, true
        FROM pg_catalog.pg_extension e WHERE e.extname = 'commerce'$$,
    'the job is active, in this database, as the extension owner (who may call expire)');

-- The scheduled command does its job: a hold past its time is freed.
INSERT INTO commerce.products (sku, name, base_price) VALUES ('TAP-CRON-P', 'cron probe', 3.00);
INSERT INTO commerce.product_variants (product_id, sku)
    SELECT id, 'TAP-CRON-V' FROM commerce.products WHERE sku = 'TAP-CRON-P';
DO $fixture$
DECLARE
    v bigint := (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-CRON-V');
BEGIN
    PERFORM commerce.restock(v, 5);
    PERFORM commerce.reserve(v, 2, interval '1 millisecond', 'tap-cron-hold');
    PERFORM pg_catalog.pg_sleep(0.05);
END
$fixture$;

SELECT is(commerce.available((SELECT id FROM commerce.product_variants WHERE sku = 'TAP-CRON-V')),
          3::bigint, 'before the job runs, 2 of 5 units are held');
SELECT results_eq(
    (SELECT command FROM cron.job WHERE jobname = 'commerce-expire'),
    $$VALUES (1)$$,
    'running the job''s command frees exactly one hold');
SELECT is((SELECT status FROM commerce.reservations WHERE idempotency_key = 'tap-cron-hold'),
          'expired', 'the hold is marked expired');
SELECT is(commerce.available((SELECT id FROM commerce.product_variants WHERE sku = 'TAP-CRON-V')),
          5::bigint, 'after the job, all 5 units are available again');
SELECT results_eq(
    $$SELECT quantity, reserved FROM commerce.stock
       WHERE variant_id = (SELECT id FROM commerce.product_variants WHERE sku = 'TAP-CRON-V')$$,
    $$VALUES (5, 0)$$,
    'stock after the job: 5 on hand, none reserved');

SELECT * FROM finish();
ROLLBACK;
