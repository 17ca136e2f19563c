-- eventstore reads: read_stream (forward, backward, from_version, max),
-- read_category, read_all (after_position, paging), head(), and their error
-- paths.
--
-- Global positions depend on what ran before in this database, so they are
-- shown relative to the head when this file starts (pos = position - base).
-- Generated event ids and created_at are never printed.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS eventstore;
RESET client_min_messages;

CREATE TEMP TABLE base AS SELECT eventstore.head() AS base;
SELECT base AS base FROM base \gset

-- Three streams in two categories, appended interleaved, and one stream in
-- an explicit category.
SELECT eventstore.append('account-1', $$[
    {"type": "AccountOpened", "data": {"owner": "ann"}},
    {"type": "MoneyDeposited", "data": {"amount": 100}}
]$$, 0) AS version;
SELECT eventstore.append('ledger-1', '[{"type": "LedgerOpened", "data": {}}]', 0) AS version;
SELECT eventstore.append('account-2', '[{"type": "AccountOpened", "data": {"owner": "bob"}}]', 0) AS version;
SELECT eventstore.append('account-1', $$[
    {"type": "MoneyWithdrawn", "data": {"amount": 30}},
    {"type": "MoneyDeposited", "data": {"amount": 5}}
]$$, 2) AS version;
SELECT eventstore.append('ledger-1', '[{"type": "EntryPosted", "data": {"account": "account-1"}}]', 1) AS version;
SELECT eventstore.append('account-2', '[{"type": "MoneyDeposited", "data": {"amount": 7}}]', 1) AS version;
SELECT eventstore.append('account-1', '[{"type": "AccountClosed", "data": {}}]', 4) AS version;
SELECT eventstore.append('audit-9', '[{"type": "Checked", "data": {}}]', 0, 'compliance') AS version;
SELECT position - :base AS pos, stream_id, version, event_type, category
  FROM eventstore.events WHERE position > :base ORDER BY position;

-------------------------------------------------------------------------------
-- read_stream
-------------------------------------------------------------------------------
-- Forward from the start, in version order.
SELECT position - :base AS pos, stream_id, version, event_type, schema_version, event_data, metadata, category
  FROM eventstore.read_stream('account-1');
-- Every column is the stored row.
SELECT (SELECT jsonb_agg(to_jsonb(r)) FROM eventstore.read_stream('account-1') r)
     = (SELECT jsonb_agg(to_jsonb(e) - 'personal' ORDER BY e.version) FROM eventstore.events e WHERE e.stream_id = 'account-1')
       AS same_rows;
-- Backward from the end.
SELECT version, event_type FROM eventstore.read_stream('account-1', backward => true);
-- From a version, forward (inclusive) and backward (inclusive).
SELECT version, event_type FROM eventstore.read_stream('account-1', 3);
SELECT version, event_type FROM eventstore.read_stream('account-1', 3, backward => true);
-- At most max events: paging forward two at a time.
SELECT version FROM eventstore.read_stream('account-1', 1, 2);
SELECT version FROM eventstore.read_stream('account-1', 3, 2);
SELECT version FROM eventstore.read_stream('account-1', 5, 2);
SELECT version FROM eventstore.read_stream('account-1', 4, 2, true);
-- Edges: from_version 0 forward is the whole stream; backward from 0 is
-- nothing; past the end forward is nothing, backward is the whole stream;
-- max 10000 is allowed; an unknown stream is empty, not an error.
SELECT count(*) AS from_0_forward FROM eventstore.read_stream('account-1', 0);
SELECT count(*) AS from_0_backward FROM eventstore.read_stream('account-1', 0, backward => true);
SELECT count(*) AS past_end_forward FROM eventstore.read_stream('account-1', 6);
SELECT array_agg(version) AS past_end_backward FROM eventstore.read_stream('account-1', 1000, backward => true);
SELECT count(*) AS max_10000 FROM eventstore.read_stream('account-1', max => 10000);
SELECT count(*) AS unknown_stream FROM eventstore.read_stream('account-404');
-- A stream in an explicit category reads like any other.
SELECT version, event_type, category FROM eventstore.read_stream('audit-9');
-- Errors.
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('account-1', -1)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('account-1', -1, backward => true)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('account-1', max => 0)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('account-1', max => -5)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('account-1', max => 10001)$$);
-- Counts are bigint: beyond integer is 22003 naming the argument (0.1: 42883).
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('account-1', max => 2147483648)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream(NULL)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('account-1', max => NULL)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('account-1', backward => NULL)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_stream('')$$);
SELECT pg_temp.try(format($$SELECT count(*) FROM eventstore.read_stream('%s')$$, repeat('s', 201)));
-- from_version NULL is the default (the start, or the end backward).
SELECT count(*) AS from_null FROM eventstore.read_stream('account-1', NULL);
SELECT array_agg(version) AS from_null_backward FROM eventstore.read_stream('account-1', NULL, backward => true);

-------------------------------------------------------------------------------
-- read_category: one category, in global order, after a position.
-------------------------------------------------------------------------------
SELECT position - :base AS pos, stream_id, version, event_type, category FROM eventstore.read_category('account');
SELECT position - :base AS pos, stream_id, version, event_type FROM eventstore.read_category('ledger');
SELECT position - :base AS pos, stream_id, event_type FROM eventstore.read_category('compliance');
-- The category read is the stored rows of that category.
SELECT (SELECT jsonb_agg(to_jsonb(r)) FROM eventstore.read_category('account') r)
     = (SELECT jsonb_agg(to_jsonb(e) - 'personal' ORDER BY e.position) FROM eventstore.events e WHERE e.category = 'account')
       AS same_rows;
-- after_position is exclusive.
SELECT position - :base AS pos, stream_id, version FROM eventstore.read_category('account', :base + 3);
SELECT position - :base AS pos, stream_id, version FROM eventstore.read_category('account', :base + 4);
-- Paging with max: each page continues after the last position seen.
SELECT position - :base AS pos FROM eventstore.read_category('account', :base, 3);
SELECT position - :base AS pos FROM eventstore.read_category('account', :base + 4, 3);
SELECT position - :base AS pos FROM eventstore.read_category('account', :base + 8, 3);
SELECT position - :base AS pos FROM eventstore.read_category('account', :base + 9, 3);
-- Unknown category, a stream name is not a category, categories are exact.
SELECT count(*) AS unknown_category FROM eventstore.read_category('nothing-here');
SELECT count(*) AS stream_name FROM eventstore.read_category('account-1');
SELECT count(*) AS other_case FROM eventstore.read_category('Account');
SELECT count(*) AS derived_not_given FROM eventstore.read_category('audit');
-- Errors.
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_category('account', -1)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_category('account', 0, 0)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_category('account', 0, 10001)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_category(NULL)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_category('account', NULL)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_category('account', 0, NULL)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_category('')$$);
SELECT pg_temp.try(format($$SELECT count(*) FROM eventstore.read_category('%s')$$, repeat('c', 201)));

-------------------------------------------------------------------------------
-- read_all: every category, in global order, after a position.
-------------------------------------------------------------------------------
SELECT position - :base AS pos, stream_id, version, event_type FROM eventstore.read_all(:base);
SELECT (SELECT jsonb_agg(to_jsonb(r)) FROM eventstore.read_all(:base) r)
     = (SELECT jsonb_agg(to_jsonb(e) - 'personal' ORDER BY e.position) FROM eventstore.events e WHERE e.position > :base)
       AS same_rows;
-- Paging: pages of 4 that together are the whole log, nothing twice.
SELECT position - :base AS pos FROM eventstore.read_all(:base, 4);
SELECT position - :base AS pos FROM eventstore.read_all(:base + 4, 4);
SELECT position - :base AS pos FROM eventstore.read_all(:base + 8, 4);
SELECT position - :base AS pos FROM eventstore.read_all(:base + 10, 4);
-- From 0 (the default) it starts at the first event ever stored.
SELECT (SELECT min(position) FROM eventstore.read_all()) = (SELECT min(position) FROM eventstore.events)
       AS starts_at_first;
-- At or past the head: nothing.
SELECT count(*) AS after_head FROM eventstore.read_all(eventstore.head());
SELECT count(*) AS far_past_head FROM eventstore.read_all(9223372036854775807);
SELECT count(*) AS max_10000 FROM eventstore.read_all(:base, 10000);
-- Errors.
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_all(-1)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_all(0, 0)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_all(0, 10001)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_all(0, 2147483648)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_category('account', 0, 9223372036854775807)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_all(NULL)$$);
SELECT pg_temp.try($$SELECT count(*) FROM eventstore.read_all(0, NULL)$$);

-------------------------------------------------------------------------------
-- head(): the last readable position.
-------------------------------------------------------------------------------
SELECT eventstore.head() - :base AS head;
SELECT eventstore.head() = (SELECT max(position) FROM eventstore.events) AS head_is_last_stored;
-- A rolled-back append leaves a hole in the positions: the head moves past
-- it, reads go on without it.
BEGIN;
SELECT eventstore.append('account-3', '[{"type": "AccountOpened", "data": {}}]', 0) AS version;
ROLLBACK;
SELECT eventstore.head() - :base AS head;
SELECT eventstore.append('account-3', '[{"type": "AccountOpened", "data": {}}]', 0) AS version;
SELECT eventstore.head() - :base AS head;
SELECT position - :base AS pos, stream_id FROM eventstore.read_all(:base + 10);
SELECT position - :base AS pos, stream_id FROM eventstore.read_category('account', :base + 10);
-- Inside a transaction that has appended, its own positions are not yet
-- readable through the global order (they are in flight until it ends);
-- its own stream read sees them.
BEGIN;
SELECT eventstore.append('account-4', '[{"type": "AccountOpened", "data": {}}]', 0) AS version;
SELECT eventstore.head() - :base AS head_in_flight;
SELECT count(*) AS read_all_in_flight FROM eventstore.read_all(:base + 12);
SELECT count(*) AS read_category_in_flight FROM eventstore.read_category('account', :base + 12);
SELECT version, event_type FROM eventstore.read_stream('account-4');
COMMIT;
SELECT eventstore.head() - :base AS head;
SELECT position - :base AS pos, stream_id FROM eventstore.read_all(:base + 12);

-- Reads change nothing.
SELECT count(*) AS events, eventstore.head() - :base AS head FROM eventstore.events WHERE position > :base;
