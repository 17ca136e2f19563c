-- Crash-recovery suite: the workload database (test/recovery/run.sh creates
-- it empty, with synchronous_commit = on and the feed settings below, then
-- runs this file). Objects of the harness live in the schema rc; the
-- extensions are installed as a user would install them.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION commerce CASCADE;
CREATE EXTENSION eventstore;
CREATE EXTENSION feed;
CREATE SCHEMA rc;
CREATE EXTENSION amcheck SCHEMA rc;

-------------------------------------------------------------------------------
-- commerce: 20 variants with plenty of stock (a hold never fails for lack of
-- units, so pgbench clients never abort on KB101); variant 1 is a flash-sale
-- item spread over 8 buckets. Every restock is logged in rc.restocks in the
-- restocking transaction, so units can be counted after a crash.
-------------------------------------------------------------------------------
CREATE TABLE rc.restocks (variant_id bigint NOT NULL, qty bigint NOT NULL);
CREATE SEQUENCE rc.key_seq;

INSERT INTO commerce.products (sku, name, base_price)
SELECT 'RC-' || g, 'Recovery product ' || g, 10 + g FROM generate_series(1, 10) g;
INSERT INTO commerce.product_variants (product_id, sku, name, price_modifier)
SELECT p.id, p.sku || '-' || c, c, c
  FROM commerce.products p CROSS JOIN generate_series(0, 1) c
 ORDER BY p.id, c;
WITH r AS (SELECT id, commerce.restock(id, 100000) FROM commerce.product_variants ORDER BY id)
INSERT INTO rc.restocks SELECT id, 100000 FROM r;
SELECT commerce.set_buckets(min(id), 8) FROM commerce.product_variants;

-------------------------------------------------------------------------------
-- eventstore: streams acct-<n> (folded inline by rc_inline) and ship-<n>
-- (folded by the async projection rc_async, which the workload runs); a
-- subscription rc_sub over every category with 4 competing members, read by
-- a transactional consumer that records each delivery in rc.consumed.
-------------------------------------------------------------------------------
CREATE TABLE rc.consumed (
    member   integer NOT NULL,
    position bigint  NOT NULL
);
-- What the workload's consumer runs: poll, record, ack, in one transaction
-- (the exactly-once pattern of docs/eventstore.md).
CREATE FUNCTION rc.consume(max integer) RETURNS bigint
LANGUAGE sql AS $$
    WITH d AS (SELECT member, position FROM eventstore.poll('rc_sub', max)),
         ins AS (INSERT INTO rc.consumed SELECT member, position FROM d)
    SELECT eventstore.ack('rc_sub', max(position), min(member)) FROM d HAVING count(*) > 0
$$;
-- The member an event belongs to (docs/eventstore.md, Subscriptions).
CREATE FUNCTION rc.member_of(stream text, members integer) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT (((hashtextextended(stream, 0) % members) + members) % members)::integer
$$;

SELECT eventstore.subscribe('rc_sub', NULL, members => 4);
SELECT eventstore.create_projection('rc_inline', 'acct', reducer => '{
  "*": [{"increment": "n", "by": 1}, {"set": "v", "from": "$version"}, {"set": "p", "from": "$position"}]
}', snapshot_every => 5);
SELECT eventstore.create_projection('rc_async', 'ship', reducer => '{
  "*": [{"increment": "n", "by": 1}, {"set": "v", "from": "$version"}, {"set": "p", "from": "$position"}]
}', mode => 'async');

-------------------------------------------------------------------------------
-- feed (settings of the database, set by run.sh: celebrity_threshold 150,
-- fanout_sync_max 20, fanout_batch 10, timeline_max 100000):
--   user 1 "big"  has 120 followers: each post is fanned out by the
--                 background worker, 10 followers a batch;
--   user 2 "star" has 160 followers: a celebrity, posts pulled at read time;
--   users 3..302  follow 5 others each.
-------------------------------------------------------------------------------
SELECT count(feed.create_user(u)) FROM unnest(ARRAY['big', 'star']) u;
SELECT count(feed.create_user('user' || g)) FROM generate_series(3, 302) g;
SELECT count(feed.follow(g, 1)) FROM generate_series(3, 122) g;
SELECT count(feed.follow(g, 2)) FROM generate_series(3, 162) g;
SELECT count(feed.follow(g, 3 + (g + k * 37) % 300))
  FROM generate_series(3, 302) g CROSS JOIN generate_series(1, 5) k
 WHERE 3 + (g + k * 37) % 300 <> g;
SELECT feed.post(2, 'star is here');   -- marks star pulled

-------------------------------------------------------------------------------
-- Witnesses: rows that committed before a crash, written (and committed) by
-- run.sh just before it. After the restart every witnessed row must be back
-- with the same content (check recovery_witnessed_rows_survive).
-------------------------------------------------------------------------------
CREATE TABLE rc.witness (
    round  text   NOT NULL,
    kind   text   NOT NULL,
    key    bigint NOT NULL,
    digest text   NOT NULL
);
-- The immutable part of each witnessed row, as text.
CREATE VIEW rc.witnessable AS
SELECT 'event'::text AS kind, position AS key,
       md5(concat_ws('|', stream_id, version, event_id, event_type, event_data::text, category)) AS digest
  FROM eventstore.events
UNION ALL
SELECT 'hold', id, md5(concat_ws('|', variant_id, bucket, quantity, cart_id, idempotency_key, created_at, expires_at))
  FROM commerce.reservations
UNION ALL
SELECT 'order', id, md5(concat_ws('|', cart_id, total, idempotency_key, created_at)) FROM commerce.orders
UNION ALL
SELECT 'post', id, md5(concat_ws('|', author_id, content, created_at, fanned_out)) FROM feed.posts;

-------------------------------------------------------------------------------
-- amcheck: one btree index checked, the error it raises returned as text
-- (NULL when clean), so a check lists every damaged index.
-------------------------------------------------------------------------------
CREATE FUNCTION rc.index_problem(idx regclass) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rc.bt_index_parent_check(idx, heapallindexed => true);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
