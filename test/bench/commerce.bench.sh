# shellcheck shell=bash disable=SC2034
# commerce: one-unit inventory holds, casebook's commerce.reserve() against
# the case study's textbook inventory transaction. Sourced by test/bench/run.sh.
#
# Data: 10,000 variants (2,000 products x 5) with 1,000,000 units each, plus a
# hot variant with 100,000,000 units, spread over COMMERCE_HOT_BUCKETS bucket
# rows for casebook (default 16). The textbook table holds the same ids and
# quantities, one row per variant. Stock never runs out during a run.

BENCH_NAME=commerce
BENCH_TITLE="commerce (hold 1 unit)"

COMMERCE_VARIANTS=10000
COMMERCE_HOT=$((COMMERCE_VARIANTS + 1))
COMMERCE_HOT_BUCKETS=${COMMERCE_HOT_BUCKETS:-16}

# label|script|clients|seconds|group|role
BENCH_CASES=(
  "textbook|commerce/textbook_hot.sql|8|30|hot-variant|baseline"
  "reserve|commerce/reserve_hot.sql|8|30|hot-variant|casebook"
  "textbook|commerce/textbook_10k.sql|8|30|10k-variants|baseline"
  "reserve|commerce/reserve_10k.sql|8|30|10k-variants|casebook"
  "bare-update|commerce/bare_update_10k.sql|8|30|10k-variants|reference"
)
BENCH_DEFINES=("hot=$COMMERCE_HOT")
# From the project's issue: casebook tps / textbook tps.
BENCH_TARGETS=("hot-variant|3.0" "10k-variants|1.6")

bench_setup() {
  bench_psql -v nvariants="$COMMERCE_VARIANTS" -v hot="$COMMERCE_HOT" \
             -v hot_buckets="$COMMERCE_HOT_BUCKETS" <<'SQL'
\set ON_ERROR_STOP 1
CREATE EXTENSION commerce CASCADE;

-- Catalog: 5 variants per product, ids 1..nvariants; the hot variant is alone
-- on its own product.
INSERT INTO commerce.products (id, sku, name, base_price)
SELECT p, 'P' || p, 'Product ' || p, 10 + p % 90
  FROM generate_series(1, :nvariants / 5) p;
INSERT INTO commerce.products (id, sku, name, base_price)
VALUES (:nvariants / 5 + 1, 'P-HOT', 'Flash sale product', 49);
INSERT INTO commerce.product_variants (id, product_id, sku, name)
SELECT v, (v - 1) / 5 + 1, 'V' || v, 'Variant ' || v
  FROM generate_series(1, :nvariants) v;
INSERT INTO commerce.product_variants (id, product_id, sku, name)
VALUES (:hot, :nvariants / 5 + 1, 'V-HOT', 'Flash sale variant');
SELECT setval(pg_get_serial_sequence('commerce.products', 'id'), :nvariants / 5 + 1);
SELECT setval(pg_get_serial_sequence('commerce.product_variants', 'id'), :hot);

-- Stock through the extension's own API.
SELECT count(commerce.restock(id, 1000000)) FROM commerce.product_variants WHERE id <= :nvariants;
SELECT commerce.restock(:hot, 100000000);
SELECT commerce.set_buckets(:hot, :hot_buckets);

-- The case study's textbook table on the same ids and quantities.
CREATE SCHEMA textbook;
CREATE TABLE textbook.inventory (
    variant_id bigint PRIMARY KEY,
    quantity   int NOT NULL DEFAULT 0,
    reserved   int NOT NULL DEFAULT 0,
    CHECK (quantity >= 0),
    CHECK (reserved >= 0),
    CHECK (reserved <= quantity)
);
INSERT INTO textbook.inventory (variant_id, quantity)
SELECT variant_id, quantity FROM commerce.inventory ORDER BY variant_id;

-- What every check compares against.
CREATE SCHEMA bench;
CREATE TABLE bench.expected AS
SELECT variant_id, quantity FROM commerce.inventory;

SELECT variant_id, buckets, quantity FROM commerce.inventory WHERE variant_id = :hot;
VACUUM (ANALYZE);
CHECKPOINT;
SQL
}

# Back to zero holds before every run; vacuum away the previous run's dead rows.
bench_reset() {
  bench_psql <<'SQL'
BEGIN;
TRUNCATE commerce.reservations;
UPDATE commerce.stock SET reserved = 0 WHERE reserved <> 0;
UPDATE textbook.inventory SET reserved = 0 WHERE reserved <> 0;
COMMIT;
VACUUM (ANALYZE) commerce.stock, commerce.reservations, textbook.inventory;
CHECKPOINT;
SQL
}

# $1 label, $2 role, $3 transactions pgbench counted. Every transaction of a
# run holds exactly one unit (stock never runs out), in commerce for the
# casebook case and in textbook.inventory for the others.
bench_check() {
  bench_psql -v role="$2" -v tx="$3" <<'SQL'
SELECT set_config('bench.role', :'role', false), set_config('bench.tx', :'tx', false);
DO $check$
DECLARE
    tx       bigint := current_setting('bench.tx')::bigint;
    role     text   := current_setting('bench.role');
    n        bigint;
    stock_reserved bigint;
    held_units     bigint;
    held_rows      bigint;
    tb_reserved    bigint;
BEGIN
    -- Nothing oversold, in either model.
    SELECT count(*) INTO n FROM commerce.stock WHERE reserved > quantity OR reserved < 0;
    IF n > 0 THEN RAISE EXCEPTION 'commerce.stock: % bucket rows with reserved > quantity', n; END IF;
    SELECT count(*) INTO n FROM textbook.inventory WHERE reserved > quantity OR reserved < 0;
    IF n > 0 THEN RAISE EXCEPTION 'textbook.inventory: % rows with reserved > quantity', n; END IF;

    -- Physical stock untouched by holds (per variant, buckets summed).
    SELECT count(*) INTO n
      FROM bench.expected e LEFT JOIN commerce.inventory i USING (variant_id)
     WHERE i.quantity IS DISTINCT FROM e.quantity;
    IF n > 0 THEN RAISE EXCEPTION 'commerce: % variants whose quantity changed', n; END IF;
    SELECT count(*) INTO n
      FROM bench.expected e LEFT JOIN textbook.inventory i USING (variant_id)
     WHERE i.quantity IS DISTINCT FROM e.quantity;
    IF n > 0 THEN RAISE EXCEPTION 'textbook: % variants whose quantity changed', n; END IF;

    -- casebook: reserved over all buckets = units of held reservations, per bucket too.
    SELECT coalesce(sum(reserved), 0) INTO stock_reserved FROM commerce.stock;
    SELECT coalesce(sum(quantity), 0), count(*) INTO held_units, held_rows
      FROM commerce.reservations WHERE status = 'held';
    IF stock_reserved <> held_units THEN
        RAISE EXCEPTION 'commerce: sum(stock.reserved) = % but held reservations hold % units',
            stock_reserved, held_units;
    END IF;
    SELECT count(*) INTO n
      FROM (SELECT variant_id, bucket, sum(quantity) AS q
              FROM commerce.reservations WHERE status = 'held' GROUP BY 1, 2) r
      FULL JOIN (SELECT variant_id, bucket, reserved FROM commerce.stock WHERE reserved <> 0) s
           USING (variant_id, bucket)
     WHERE coalesce(r.q, 0) <> coalesce(s.reserved, 0);
    IF n > 0 THEN RAISE EXCEPTION 'commerce: % buckets whose reserved differs from their held reservations', n; END IF;

    SELECT coalesce(sum(reserved), 0) INTO tb_reserved FROM textbook.inventory;

    -- Every counted transaction held exactly one unit, in the model it ran against.
    IF role = 'casebook' THEN
        IF held_rows <> tx OR held_units <> tx OR tb_reserved <> 0 THEN
            RAISE EXCEPTION 'casebook run: % transactions, % held reservations (% units), textbook reserved %',
                tx, held_rows, held_units, tb_reserved;
        END IF;
    ELSE
        IF tb_reserved <> tx OR stock_reserved <> 0 OR held_rows <> 0 THEN
            RAISE EXCEPTION '% run: % transactions, textbook reserved %, commerce reserved % (% holds)',
                role, tx, tb_reserved, stock_reserved, held_rows;
        END IF;
    END IF;
    RAISE NOTICE 'check ok: % transactions, commerce reserved %, textbook reserved %',
        tx, stock_reserved, tb_reserved;
END
$check$;
SQL
}
