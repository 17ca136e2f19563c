# shellcheck shell=bash disable=SC2034,SC1091
# eventstore appends on a range-partitioned store (partitions of 1,000,000
# positions, kept by pg_partman through eventstore.manage_partitions), against
# the same plain INSERT baseline as eventstore.bench.sh. The cases, scripts and
# checks are that file's; only the store's layout differs, so the ratio here
# next to the ratio there is the cost of partitioning. Each run starts with 24
# partitions (premake 24), more than the fastest run fills, so the head probe
# of every append visits them all.
source "$(dirname "${BASH_SOURCE[0]}")/eventstore.bench.sh"

BENCH_NAME=eventstore-partitioned
BENCH_TITLE="eventstore on partitions (append vs plain INSERT)"

eval "$(declare -f bench_setup | sed '1s/bench_setup/bench_setup_unpartitioned/')"
bench_setup() {
  bench_psql <<'SQL'
\set ON_ERROR_STOP 1
SELECT format('ALTER DATABASE %I SET eventstore.partition_positions = 1000000', current_database()) \gexec
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
SQL
  bench_setup_unpartitioned
  bench_psql -c "SELECT eventstore.manage_partitions(24)"
}

bench_reset() {
  bench_psql <<'SQL'
DROP EXTENSION eventstore;
CREATE EXTENSION eventstore;
SELECT eventstore.manage_partitions(24);
TRUNCATE textbook.events;
VACUUM (ANALYZE) textbook.events;
CHECKPOINT;
SQL
}
