# shellcheck shell=bash disable=SC2034
# commerce-buckets: how many buckets for the hot variant? Three hot variants
# with 8, 16 and 32 buckets, measured alternately with the textbook hold on
# the hot variant. Not part of `make bench`; run it explicitly:
#   test/bench/run.sh test/bench/extra/commerce-buckets.bench.sh
# Same data, reset and invariants as commerce.bench.sh (whose hot variant,
# 10001, gets 8 buckets here), plus variants 10002 (16) and 10003 (32).
COMMERCE_HOT_BUCKETS=8
# shellcheck source=../commerce.bench.sh
source "$(dirname "${BASH_SOURCE[0]}")/../commerce.bench.sh"

BENCH_NAME=commerce-buckets
BENCH_TITLE="commerce hot variant: buckets"
BENCH_TARGETS=("buckets|3.0")
BENCH_DEFINES=("hot=$COMMERCE_HOT" "hot8=$COMMERCE_HOT" "hot16=$((COMMERCE_HOT + 1))" "hot32=$((COMMERCE_HOT + 2))")
# label|script|clients|seconds|group|role
BENCH_CASES=(
  "textbook|../commerce/textbook_hot.sql|8|30|buckets|baseline"
  "reserve-8|../commerce/buckets/reserve_hot8.sql|8|30|buckets|casebook"
  "reserve-16|../commerce/buckets/reserve_hot16.sql|8|30|buckets|casebook"
  "reserve-32|../commerce/buckets/reserve_hot32.sql|8|30|buckets|casebook"
)

eval "commerce_setup() $(declare -f bench_setup | tail -n +2)"
bench_setup() {
  commerce_setup
  bench_psql -v hot="$COMMERCE_HOT" -v nvariants="$COMMERCE_VARIANTS" <<'SQL'
INSERT INTO commerce.product_variants (id, product_id, sku, name)
SELECT :hot + k, :nvariants / 5 + 1, 'V-HOT-' || k, 'Flash sale variant ' || k
  FROM generate_series(1, 2) k;
SELECT setval(pg_get_serial_sequence('commerce.product_variants', 'id'), :hot + 2);
SELECT commerce.restock(:hot + 1, 100000000), commerce.restock(:hot + 2, 100000000);
SELECT commerce.set_buckets(:hot + 1, 16), commerce.set_buckets(:hot + 2, 32);
INSERT INTO textbook.inventory (variant_id, quantity)
SELECT variant_id, quantity FROM commerce.inventory WHERE variant_id > :hot;
INSERT INTO bench.expected
SELECT variant_id, quantity FROM commerce.inventory WHERE variant_id > :hot;
SELECT variant_id, buckets, quantity FROM commerce.inventory WHERE variant_id >= :hot ORDER BY 1;
VACUUM (ANALYZE);
CHECKPOINT;
SQL
}
