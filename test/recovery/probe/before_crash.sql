-- Restart probes (docs/testing.md): a database of their own, without
-- workload, so that the state at the crash is exactly this.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION eventstore;
CREATE EXTENSION feed;
CREATE SCHEMA rcp;
CREATE TABLE rcp.before (name text PRIMARY KEY, value bigint NOT NULL);

-- eventstore: one committed event, then an append that rolls back. Its
-- positions were handed out: head() moves past them ("every event at or
-- below it is committed, or will never be").
SELECT eventstore.append('late-1', '[{"type": "Opened", "data": {}}]');
BEGIN;
SELECT eventstore.append('late-2', '[{"type": "Opened", "data": {}}, {"type": "Opened", "data": {}}]');
ROLLBACK;
-- Checkpoints set before the crash, as documented: a subscription started at
-- head(), and an async projection (created: its checkpoint is the horizon - 1).
SELECT eventstore.subscribe('late_sub', 'late', start_after => eventstore.head());
SELECT eventstore.create_projection('late_proj', 'late', reducer => '{"*": [{"increment": "n", "by": 1}]}',
                                    mode => 'async');
INSERT INTO rcp.before VALUES ('head', eventstore.head());
-- An async projection with events waiting at the crash; nothing runs it
-- after the restart but the resume worker (no pg_cron in this database).
SELECT eventstore.create_projection('resume_proj', 'resume', reducer => '{"*": [{"increment": "n", "by": 1}]}',
                                    mode => 'async');
SELECT count(eventstore.append('resume-' || g, '[{"type": "Opened", "data": {}}]')) FROM generate_series(1, 20) g;

-- feed: a post whose fan-out is queued for background batches at the crash
-- (no worker started for it: this session turns the worker off).
SELECT count(feed.create_user(u)) FROM unnest(ARRAY['author', 'reader']) u;
SELECT count(feed.create_user('follower' || g)) FROM generate_series(1, 30) g;
SELECT count(feed.follow(id, 1)) FROM feed.users WHERE id > 2;
SET feed.fanout_sync_max = 5;
SET feed.fanout_batch = 5;
SET feed.fanout_worker = off;
INSERT INTO rcp.before SELECT 'queued_post', feed.post(1, 'queued at the crash');
INSERT INTO rcp.before SELECT 'queued_jobs', count(*) FROM feed.fanout_jobs;
