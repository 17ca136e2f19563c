# shellcheck shell=bash disable=SC2034
# eventstore replays: rebuilding a projection of one 100,000-event order
# stream with the native reducer against the case study's plpgsql replay loop
# (rebuild_order_projection with a realistic apply_event), and the catch-up
# read rate of read_all against the textbook's id > last query. Sourced by
# test/bench/run.sh. Both rebuilds compute the same state (checked).

BENCH_NAME=eventstore-replay
BENCH_TITLE="eventstore (replay and catch-up)"

# label|script|clients|seconds|group|role
BENCH_CASES=(
  "plpgsql-replay|eventstore/replay_textbook.sql|1|30|rebuild-100k-events|baseline"
  "rebuild|eventstore/replay_rebuild.sql|1|30|rebuild-100k-events|casebook"
  "textbook-scan|eventstore/catchup_textbook.sql|1|20|read-1000-events|baseline"
  "read_all|eventstore/catchup_read_all.sql|1|20|read-1000-events|casebook"
)
BENCH_TARGETS=("rebuild-100k-events|10")

bench_setup() {
  bench_psql <<'SQL'
\set ON_ERROR_STOP 1
CREATE EXTENSION eventstore;
-- One order stream of 100,001 events: created, then items added (every 10th
-- removes one).
SELECT eventstore.append('order-big', '[{"type": "OrderCreated", "data": {"customer_id": 1}}]', 0);
DO $$
BEGIN
    FOR i IN 1..10 LOOP
        PERFORM eventstore.append('order-big', (
            SELECT jsonb_agg(jsonb_build_object(
                       'type', CASE WHEN g % 10 = 0 THEN 'ItemRemoved' ELSE 'ItemAdded' END,
                       'data', jsonb_build_object('product_id', g % 50, 'quantity', 1 + g % 3,
                                                  'price', (g % 100) + 0.99)))
              FROM generate_series(1, 10000) g));
    END LOOP;
END $$;
SELECT eventstore.create_projection('order_totals', 'order', reducer => '{
  "OrderCreated":   [{"set": "customer_id", "from": "customer_id"}, {"set": "status", "value": "draft"},
                     {"set": "total", "value": 0}],
  "ItemAdded":      [{"increment": "total", "from": "price"}, {"increment": "item_count", "from": "quantity"},
                     {"set": "last_product", "from": "product_id"}],
  "ItemRemoved":    [{"increment": "removed", "by": 1}],
  "OrderSubmitted": [{"set": "status", "value": "submitted"}]
}');

-- The textbook: the same events in the case study's table, its replay
-- function, and the apply_event it calls but never defines (written here
-- with the same semantics as the reducer above).
CREATE SCHEMA textbook;
CREATE TABLE textbook.events AS
SELECT position AS id, stream_id, category AS stream_type, event_type, event_data, metadata,
       version::int AS version, created_at
  FROM eventstore.events;
ALTER TABLE textbook.events ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX ON textbook.events (stream_id, version);
CREATE TABLE textbook.order_projections (order_id text PRIMARY KEY, state jsonb, last_event_id bigint);
CREATE FUNCTION textbook.apply_event(state jsonb, etype text, data jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
BEGIN
    CASE etype
        WHEN 'OrderCreated' THEN
            RETURN jsonb_build_object('customer_id', data->'customer_id', 'status', 'draft', 'total', 0);
        WHEN 'ItemAdded' THEN
            RETURN state || jsonb_build_object(
                'total', coalesce((state->>'total')::numeric, 0) + (data->>'price')::numeric,
                'item_count', coalesce((state->>'item_count')::int, 0) + (data->>'quantity')::int,
                'last_product', data->'product_id');
        WHEN 'ItemRemoved' THEN
            RETURN state || jsonb_build_object('removed', coalesce((state->>'removed')::int, 0) + 1);
        WHEN 'OrderSubmitted' THEN
            RETURN jsonb_set(state, '{status}', '"submitted"');
        ELSE
            RETURN state;
    END CASE;
END
$fn$;
CREATE FUNCTION textbook.rebuild_order_projection(p_order_id text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    evt RECORD;
    current_state jsonb := '{}';
    last_id bigint;
BEGIN
    DELETE FROM textbook.order_projections WHERE order_id = p_order_id;
    FOR evt IN SELECT * FROM textbook.events WHERE stream_id = p_order_id ORDER BY version LOOP
        current_state := textbook.apply_event(current_state, evt.event_type, evt.event_data);
        last_id := evt.id;
    END LOOP;
    INSERT INTO textbook.order_projections VALUES (p_order_id, current_state, last_id);
END
$fn$;
VACUUM (ANALYZE);
CHECKPOINT;
SQL
}

bench_reset() {
  bench_psql <<'SQL'
VACUUM (ANALYZE) eventstore.projection_state, textbook.order_projections;
CHECKPOINT;
SQL
}

# The native rebuild and the plpgsql replay agree on the state.
bench_check() {
  bench_psql <<'SQL'
SELECT textbook.rebuild_order_projection('order-big');
SELECT eventstore.rebuild('order_totals', 'order-big');
DO $check$
BEGIN
    IF (SELECT state FROM textbook.order_projections WHERE order_id = 'order-big')
       IS DISTINCT FROM
       (SELECT state FROM eventstore.projection_state WHERE projection = 'order_totals' AND stream_id = 'order-big') THEN
        RAISE EXCEPTION 'native and plpgsql rebuilds disagree';
    END IF;
    RAISE NOTICE 'check ok: states equal';
END
$check$;
SQL
}
