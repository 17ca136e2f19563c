# shellcheck shell=bash disable=SC2034
# eventstore appends: eventstore.append() against a plain INSERT into a table
# with the case study's columns (the textbook `events` table: bigserial id,
# UNIQUE (stream_id, version)). Sourced by test/bench/run.sh.
#
# Every transaction writes one new stream, on both sides: one event
# (OrderCreated), or a batch of 100 events (the same JSON array, which the
# baseline unpacks with jsonb_array_elements and append() receives as its
# argument). append() is called with expected_version 0 (the stream must be
# new), so it does everything it does in production: stream lock, head check,
# gap-free positions, UUIDv7 ids, NOTIFY.

BENCH_NAME=eventstore
BENCH_TITLE="eventstore (append vs plain INSERT)"

# label|script|clients|seconds|group|role
BENCH_CASES=(
  "insert|eventstore/insert_1.sql|1|30|1-event-1-client|baseline"
  "append|eventstore/append_1.sql|1|30|1-event-1-client|casebook"
  "insert|eventstore/insert_1.sql|8|30|1-event-8-clients|baseline"
  "append|eventstore/append_1.sql|8|30|1-event-8-clients|casebook"
  "insert|eventstore/insert_100.sql|1|30|100-events-1-client|baseline"
  "append|eventstore/append_100.sql|1|30|100-events-1-client|casebook"
  "insert|eventstore/insert_100.sql|8|30|100-events-8-clients|baseline"
  "append|eventstore/append_100.sql|8|30|100-events-8-clients|casebook"
)
# From the issue: every configuration within 30% of the plain INSERT.
BENCH_TARGETS=("1-event-1-client|0.7" "1-event-8-clients|0.7" "100-events-1-client|0.7" "100-events-8-clients|0.7")

bench_setup() {
  bench_psql <<'SQL'
\set ON_ERROR_STOP 1
CREATE EXTENSION eventstore;
CREATE SCHEMA textbook;
-- The case study's table, its defects fixed only where the INSERT needs it
-- (stream_id stays a UUID; the baseline generates one per stream).
CREATE TABLE textbook.events (
    id          bigserial PRIMARY KEY,
    stream_id   uuid NOT NULL,
    stream_type varchar(100) NOT NULL,
    event_type  varchar(100) NOT NULL,
    event_data  jsonb NOT NULL,
    metadata    jsonb DEFAULT '{}',
    version     int NOT NULL,
    created_at  timestamptz DEFAULT now(),
    UNIQUE (stream_id, version)
);
CREATE SCHEMA bench;
-- The 100-event batch both sides write.
CREATE TABLE bench.batch AS
SELECT jsonb_agg(jsonb_build_object(
           'type', CASE WHEN g = 1 THEN 'OrderCreated' WHEN g = 100 THEN 'OrderSubmitted' ELSE 'ItemAdded' END,
           'data', CASE WHEN g = 1 THEN jsonb_build_object('customer_id', 456, 'items', '[]'::jsonb)
                        ELSE jsonb_build_object('product_id', 700 + g, 'quantity', 1 + g % 3, 'price', 9.99 + g)
                   END) ORDER BY g) AS events
  FROM generate_series(1, 100) g;
SQL
}

bench_reset() {
  bench_psql <<'SQL'
-- The store is append-only: start each run from a fresh extension.
DROP EXTENSION eventstore;
CREATE EXTENSION eventstore;
TRUNCATE textbook.events;
VACUUM (ANALYZE) textbook.events;
CHECKPOINT;
SQL
}

# Every counted transaction wrote exactly its events, in the model it ran
# against; eventstore's positions are unique and every event is readable.
bench_check() {
  bench_psql -v role="$2" -v tx="$3" -v label="$1" <<'SQL'
SELECT set_config('bench.role', :'role', false), set_config('bench.tx', :'tx', false);
DO $check$
DECLARE
    tx      bigint := current_setting('bench.tx')::bigint;
    role    text   := current_setting('bench.role');
    batch   int;
    es      bigint;
    tb      bigint;
    streams bigint;
    readable bigint;
BEGIN
    SELECT count(*), count(DISTINCT stream_id) INTO es, streams FROM eventstore.events;
    SELECT count(*) INTO tb FROM textbook.events;
    IF role = 'casebook' THEN
        batch := CASE WHEN streams = 0 THEN 0 ELSE es / streams END;
        IF streams <> tx OR es <> tx * batch OR tb <> 0 THEN
            RAISE EXCEPTION 'append run: % transactions, % streams, % events, textbook %', tx, streams, es, tb;
        END IF;
        SELECT count(*) INTO readable FROM eventstore.events WHERE position <= eventstore.head();
        IF readable <> es THEN RAISE EXCEPTION 'only % of % events below the head', readable, es; END IF;
        -- (stream_id, version) is unique: 1..n exactly when min = 1 and max = n.
        IF (SELECT count(*) FROM (SELECT min(version) AS lo, max(version) AS hi, count(*) AS n
                                    FROM eventstore.events GROUP BY stream_id) s
             WHERE lo <> 1 OR hi <> n) > 0 THEN
            RAISE EXCEPTION 'stream versions are not 1..n';
        END IF;
    ELSE
        SELECT count(DISTINCT stream_id) INTO streams FROM textbook.events;
        IF streams <> tx OR es <> 0 THEN
            RAISE EXCEPTION 'insert run: % transactions, % streams, % rows, eventstore %', tx, streams, tb, es;
        END IF;
    END IF;
    RAISE NOTICE 'check ok: % transactions', tx;
END
$check$;
SQL
}
