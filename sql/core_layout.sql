-- core layout: direct (executor-free) paths run only on the layout their
-- extension created (core/layout.hpp). A fresh install matches what the
-- code expects; every kind of change a DBA makes sends the call to SQL,
-- which honours it (the constraint's SQLSTATE with nothing written,
-- defaults and generated values present, every index complete under
-- amcheck). DEBUG1 names what differs, once per change.
-- Runs in a database of its own: it changes the extensions' tables.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS core_layout_regress WITH (FORCE);
RESET client_min_messages;
CREATE DATABASE core_layout_regress;
\c core_layout_regress
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION commerce CASCADE;
CREATE EXTENSION eventstore;
CREATE EXTENSION feed;
CREATE EXTENSION casebook_selftest;
CREATE EXTENSION amcheck;
RESET client_min_messages;

-- Every btree index of the extensions' schemas, checked with its heap.
CREATE FUNCTION pg_temp.indexes_clean() RETURNS text LANGUAGE plpgsql AS $$
DECLARE ix regclass; n int := 0;
BEGIN
    FOR ix IN SELECT i.indexrelid::regclass FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              JOIN pg_namespace s ON s.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam
              WHERE s.nspname IN ('commerce', 'eventstore', 'feed') AND a.amname = 'btree' AND i.indisvalid
    LOOP
        PERFORM bt_index_parent_check(ix, heapallindexed => true);
        n := n + 1;
    END LOOP;
    RETURN 'all ' || CASE WHEN n > 40 THEN 'btree indexes' ELSE n::text END || ' clean';
END $$;
-- The description the direct paths compare, against what they expect.
CREATE FUNCTION pg_temp.as_created(rel text) RETURNS boolean LANGUAGE sql AS $$
    SELECT casebook_selftest.describe_layout(rel::regclass) = casebook_selftest.expected_layout(rel) $$;

-- 1. A fresh install is exactly what the code expects.
SELECT t AS "table", pg_temp.as_created(t) AS as_created
  FROM unnest(ARRAY['commerce.stock', 'commerce.reservations', 'eventstore.events', 'feed.users', 'feed.activity',
                    'feed.follows', 'feed.posts', 'feed.timelines', 'feed.cursor_key']) t;
-- What the description holds (one table shown in full).
SELECT casebook_selftest.describe_layout('commerce.stock');

------------------------------------------------------------------------------
-- 2. eventstore.events: the append's direct write.
------------------------------------------------------------------------------
SELECT eventstore.append('acct-1', '[{"type":"Opened","data":{}}]');

-- A CHECK: 23514, nothing written (the direct path crashed the server here).
ALTER TABLE eventstore.events ADD CONSTRAINT no_forbidden CHECK (event_type <> 'Forbidden');
SET client_min_messages = debug1;
SELECT pg_temp.try($$SELECT eventstore.append('acct-1', '[{"type":"Forbidden","data":{}}]')$$);
RESET client_min_messages;
SELECT count(*) AS events FROM eventstore.events;
ALTER TABLE eventstore.events DROP CONSTRAINT no_forbidden;
SELECT pg_temp.as_created('eventstore.events') AS as_created_again;

-- A deferrable unique constraint: checked at commit.
ALTER TABLE eventstore.events ADD CONSTRAINT one_per_type UNIQUE (event_type, category) DEFERRABLE INITIALLY DEFERRED;
BEGIN;
SET LOCAL client_min_messages = debug1;
SELECT eventstore.append('acct-2', '[{"type":"Opened","data":{}}]');
COMMIT;
SELECT count(*) AS events FROM eventstore.events;
ALTER TABLE eventstore.events DROP CONSTRAINT one_per_type;

-- An index, a partial index and an expression index of the owner's: kept
-- complete.
CREATE INDEX events_type_idx ON eventstore.events (event_type);
CREATE INDEX events_big_idx ON eventstore.events (stream_id) WHERE version > 1;
CREATE INDEX events_lower_idx ON eventstore.events (lower(event_type));
SET client_min_messages = debug1;
SELECT eventstore.append('acct-1', '[{"type":"Deposited","data":{"n":1}},{"type":"Deposited","data":{"n":2}}]', 1);
RESET client_min_messages;
SELECT pg_temp.indexes_clean();
SELECT count(*) AS via_index FROM eventstore.events WHERE lower(event_type) = 'deposited';
DROP INDEX eventstore.events_type_idx, eventstore.events_big_idx, eventstore.events_lower_idx;

-- A BEFORE INSERT trigger and a rule of the owner's: they run.
CREATE TABLE public.audit (stream text, note text);
CREATE FUNCTION public.tag_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.metadata := NEW.metadata || '{"tagged": true}'; RETURN NEW; END $$;
CREATE TRIGGER tag BEFORE INSERT ON eventstore.events FOR EACH ROW EXECUTE FUNCTION public.tag_event();
SET client_min_messages = debug1;
SELECT eventstore.append('acct-3', '[{"type":"Opened","data":{}}]');
RESET client_min_messages;
SELECT metadata FROM eventstore.events WHERE stream_id = 'acct-3';
DROP TRIGGER tag ON eventstore.events;
CREATE RULE audit_events AS ON INSERT TO eventstore.events DO ALSO INSERT INTO public.audit VALUES (NEW.stream_id, 'rule');
SET client_min_messages = debug1;
SELECT eventstore.append('acct-4', '[{"type":"Opened","data":{}}]');
RESET client_min_messages;
SELECT * FROM public.audit;
DROP RULE audit_events ON eventstore.events;

-- A foreign key from the events table: 23503, nothing written.
CREATE TABLE public.categories (name text COLLATE "C" PRIMARY KEY);
INSERT INTO public.categories VALUES ('acct');
ALTER TABLE eventstore.events ADD CONSTRAINT known_category FOREIGN KEY (category) REFERENCES public.categories (name);
SET client_min_messages = debug1;
SELECT pg_temp.try($$SELECT eventstore.append('user-1', '[{"type":"Registered","data":{}}]')$$);
RESET client_min_messages;
SELECT count(*) AS user_events FROM eventstore.events WHERE category = 'user';
ALTER TABLE eventstore.events DROP CONSTRAINT known_category;

-- Row security, a publication, a replica identity: each seen.
ALTER TABLE eventstore.events ENABLE ROW LEVEL SECURITY;
SET client_min_messages = debug1;
SELECT eventstore.append('acct-5', '[{"type":"Opened","data":{}}]');
RESET client_min_messages;
ALTER TABLE eventstore.events DISABLE ROW LEVEL SECURITY;
CREATE PUBLICATION events_pub FOR TABLE eventstore.events WHERE (event_type <> 'Secret');
SET client_min_messages = debug1;
SELECT eventstore.append('acct-6', '[{"type":"Opened","data":{}}]');
RESET client_min_messages;
DROP PUBLICATION events_pub;
ALTER TABLE eventstore.events REPLICA IDENTITY FULL;
SET client_min_messages = debug1;
SELECT eventstore.append('acct-7', '[{"type":"Opened","data":{}}]');
RESET client_min_messages;
ALTER TABLE eventstore.events REPLICA IDENTITY DEFAULT;
SELECT pg_temp.as_created('eventstore.events') AS as_created_again;

-- Column types changed: the values are stored as the new types (a version
-- as numeric was a pointer value before).
ALTER TABLE eventstore.events ALTER schema_version TYPE numeric, ALTER version TYPE numeric;
SET client_min_messages = debug1;
SELECT eventstore.append('acct-1', '[{"type":"Deposited","data":{"n":3}}]', 3);
RESET client_min_messages;
SELECT version, schema_version FROM eventstore.events WHERE stream_id = 'acct-1' ORDER BY version;
ALTER TABLE eventstore.events ALTER schema_version TYPE integer, ALTER version TYPE bigint;
SELECT pg_temp.as_created('eventstore.events') AS as_created_again;
-- The native replay reads by attribute number: a retyped column of the
-- extension's is refused with KB218, never read as the old type.
SELECT eventstore.create_projection('balances', 'acct', reducer => '{"Deposited": [{"increment": "total", "from": "n"}]}');
ALTER TABLE eventstore.events ALTER schema_version TYPE bigint;
SELECT pg_temp.try($$SELECT eventstore.rebuild('balances')$$);
ALTER TABLE eventstore.events ALTER schema_version TYPE integer;
SELECT pg_temp.try($$SELECT eventstore.rebuild('balances')$$);

-- Columns added with a default and generated: present (they were NULL).
-- Last: a dropped column stays in the table's layout.
ALTER TABLE eventstore.events ADD COLUMN tenant text NOT NULL DEFAULT 'main',
    ADD COLUMN type_length integer GENERATED ALWAYS AS (length(event_type)) STORED;
SET client_min_messages = debug1;
SELECT eventstore.append('acct-8', '[{"type":"Opened","data":{}},{"type":"Closed","data":{}}]');
RESET client_min_messages;
SELECT version, tenant, type_length FROM eventstore.events WHERE stream_id = 'acct-8' ORDER BY version;
-- Added columns do not stop the native replay.
SELECT pg_temp.try($$SELECT eventstore.rebuild('balances')$$);
ALTER TABLE eventstore.events DROP COLUMN tenant, DROP COLUMN type_length;
SET client_min_messages = debug1;
SELECT eventstore.append('acct-9', '[{"type":"Opened","data":{}}]');
RESET client_min_messages;
SELECT count(*) AS events, count(DISTINCT position) AS positions FROM eventstore.events;
SELECT pg_temp.indexes_clean();

------------------------------------------------------------------------------
-- 3. commerce: the hold fast path (stock update, hold insert).
------------------------------------------------------------------------------
INSERT INTO commerce.products (id, sku, name, base_price) VALUES (1, 'L-1', 'Layout', 10);
INSERT INTO commerce.product_variants (id, product_id, sku) VALUES (1, 1, 'L-1-A'), (2, 1, 'L-1-B'), (3, 1, 'L-1-C');
SELECT commerce.restock(1, 100), commerce.restock(2, 100);
SELECT commerce.reserve(1, 1) > 0 AS held;

-- A CHECK on the holds and on the stock: 23514, nothing written.
ALTER TABLE commerce.reservations ADD CONSTRAINT small_holds CHECK (quantity < 5);
SET client_min_messages = debug1;
SELECT pg_temp.try('SELECT commerce.reserve(1, 6)');
RESET client_min_messages;
ALTER TABLE commerce.reservations DROP CONSTRAINT small_holds;
ALTER TABLE commerce.stock ADD CONSTRAINT at_most_ten_held CHECK (reserved <= 10);
SET client_min_messages = debug1;
SELECT pg_temp.try('SELECT commerce.reserve(1, 20)');
RESET client_min_messages;
ALTER TABLE commerce.stock DROP CONSTRAINT at_most_ten_held;
SELECT variant_id, reserved FROM commerce.stock WHERE variant_id = 1;
SELECT count(*) AS holds FROM commerce.reservations;

-- An index of the owner's on stock: a non-HOT update kept only the primary
-- key's entry before; every index is complete now, and an index scan finds
-- what a sequential scan finds.
CREATE INDEX stock_reserved_idx ON commerce.stock (reserved);
SET client_min_messages = debug1;
SELECT commerce.reserve(1, 2) > 0 AS held;
RESET client_min_messages;
SELECT commerce.reserve(2, 1) > 0 AS held, commerce.reserve(1, 1) > 0 AS held_again;
SELECT pg_temp.indexes_clean();
SET enable_seqscan = off;
SELECT count(*) AS by_index FROM commerce.stock WHERE reserved >= 0;
RESET enable_seqscan;
DROP INDEX commerce.stock_reserved_idx;

-- A publication row filter on stock: an UPDATE of stock is refused by the
-- server (42P10: the filter's column is not in the replica identity), and
-- so is the hold now.
CREATE PUBLICATION stock_pub FOR TABLE commerce.stock WHERE (quantity > 0);
SELECT pg_temp.try('SELECT commerce.reserve(1, 1)');
DROP PUBLICATION stock_pub;

-- A deferrable unique constraint on the holds: checked at commit, and the
-- whole transaction is undone.
DELETE FROM commerce.reservations;
UPDATE commerce.stock SET reserved = 0;
ALTER TABLE commerce.reservations ADD CONSTRAINT one_hold_per_bucket UNIQUE (variant_id, bucket, status)
    DEFERRABLE INITIALLY DEFERRED;
BEGIN;
SELECT commerce.reserve(1, 1) > 0 AS first, commerce.reserve(1, 1) > 0 AS second;
COMMIT;
SELECT count(*) AS holds, (SELECT reserved FROM commerce.stock WHERE variant_id = 1) AS reserved
  FROM commerce.reservations;
ALTER TABLE commerce.reservations DROP CONSTRAINT one_hold_per_bucket;

-- A column type changed: a hold's quantity as numeric (the direct path
-- crashed the server here); reserved is what was held.
ALTER TABLE commerce.reservations ALTER quantity TYPE numeric;
SET client_min_messages = debug1;
SELECT commerce.reserve(1, 5) > 0 AS held;
RESET client_min_messages;
SELECT variant_id, quantity, reserved FROM commerce.stock WHERE variant_id = 1;
SELECT quantity FROM commerce.reservations ORDER BY id DESC LIMIT 1;

-- Columns added with a default and generated: present.
ALTER TABLE commerce.reservations ADD COLUMN channel text NOT NULL DEFAULT 'web',
    ADD COLUMN twice numeric GENERATED ALWAYS AS (quantity * 2) STORED;
SELECT commerce.reserve(2, 3) > 0 AS held;
SELECT channel, twice FROM commerce.reservations ORDER BY id DESC LIMIT 1;
SELECT count(*) FILTER (WHERE channel IS NULL) AS null_channels FROM commerce.reservations;
SELECT pg_temp.indexes_clean();

------------------------------------------------------------------------------
-- 4. feed: the fan-out's direct write, home()'s direct read.
------------------------------------------------------------------------------
SELECT feed.create_user('author') AS author, feed.create_user('reader') AS reader,
       feed.create_user('blocked') AS blocked \gset
SELECT feed.follow(:reader, :author), feed.follow(:blocked, :author);
-- A CHECK on the timelines: the post fails with 23514, nothing is written.
ALTER TABLE feed.timelines ADD CONSTRAINT not_blocked CHECK (user_id <> :blocked);
SET client_min_messages = debug1;
SELECT pg_temp.try($$SELECT feed.post($$ || :author || $$, 'hello')$$);
RESET client_min_messages;
SELECT count(*) AS posts FROM feed.posts;
SELECT count(*) AS timeline_rows FROM feed.timelines;
ALTER TABLE feed.timelines DROP CONSTRAINT not_blocked;
SELECT pg_temp.as_created('feed.timelines') AS as_created_again;

-- An added column: written with its default by the SQL path; home() still
-- reads directly (a read tolerates columns added after the extension's).
ALTER TABLE feed.timelines ADD COLUMN source text NOT NULL DEFAULT 'fanout';
SET client_min_messages = debug1;
SELECT feed.post(:author, 'hello again') > 0 AS posted;
SELECT content FROM feed.home(:reader);
RESET client_min_messages;
SELECT source, count(*) FROM feed.timelines GROUP BY source;
-- A retyped column: both paths go to SQL, the rows are right.
ALTER TABLE feed.timelines ALTER author_id TYPE numeric;
SET client_min_messages = debug1;
SELECT feed.post(:author, 'third') > 0 AS posted;
SELECT content FROM feed.home(:reader);
RESET client_min_messages;
SELECT author_id = :author AS right_author, count(*) FROM feed.timelines GROUP BY 1;
SELECT pg_temp.indexes_clean();

\c contrib_regression
DROP DATABASE core_layout_regress WITH (FORCE);

------------------------------------------------------------------------------
-- 5. The partitioned store: the parent and each partition as expected, and
-- appends across partitions take the direct path (no DEBUG1 line).
------------------------------------------------------------------------------
SET client_min_messages = warning;
DROP DATABASE IF EXISTS core_layout_partitioned WITH (FORCE);
RESET client_min_messages;
CREATE DATABASE core_layout_partitioned;
\c core_layout_partitioned
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
SET eventstore.partition_positions = 10;
CREATE EXTENSION eventstore;
RESET eventstore.partition_positions;
CREATE EXTENSION casebook_selftest;
RESET client_min_messages;
SELECT eventstore.manage_partitions() > 0 AS made;
SELECT casebook_selftest.describe_layout('eventstore.events')
       = casebook_selftest.expected_layout('eventstore.events partitioned') AS parent_as_created;
SELECT bool_and(casebook_selftest.describe_layout(inhrelid::regclass)
                = casebook_selftest.expected_layout('eventstore.events partition')) AS partitions_as_created,
       count(*) > 1 AS several
  FROM pg_inherits WHERE inhparent = 'eventstore.events'::regclass;
SELECT eventstore.append('acct-0', '[{"type":"Warm","data":{}}]');
SET client_min_messages = debug1;
SELECT eventstore.append('acct-1', (SELECT jsonb_agg(jsonb_build_object('type', 'Tick', 'data', '{}'::jsonb))
                                      FROM generate_series(1, 15)));
RESET client_min_messages;
-- A CHECK on one partition only: that partition's appends go to SQL.
SELECT inhrelid::regclass AS second FROM pg_inherits WHERE inhparent = 'eventstore.events'::regclass
 ORDER BY inhrelid::regclass::text LIMIT 1 OFFSET 1 \gset
ALTER TABLE :second ADD CONSTRAINT no_boom CHECK (event_type <> 'Boom');
SET client_min_messages = debug1;
SELECT pg_temp.try($$SELECT eventstore.append('acct-2', '[{"type":"Boom","data":{}}]')$$);
RESET client_min_messages;
SELECT count(*) AS events FROM eventstore.events;
\c contrib_regression
DROP DATABASE core_layout_partitioned WITH (FORCE);
