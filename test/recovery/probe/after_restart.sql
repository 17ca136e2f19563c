-- Restart probes, after the restart: an event appended now, the async
-- projection run once, and the usual activity of a feed database (a read, a
-- small post), after which the queued fan-out must drain without anyone
-- calling run_fanout().
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT eventstore.append('late-3', '[{"type": "Opened", "data": {}}]');
SELECT eventstore.run_projection('late_proj');
SELECT count(*) FROM feed.home(2, 20);
SELECT feed.post(2, 'after the restart');
