-- eventstore: the wake-up. A LISTENer on channel "eventstore" gets a
-- notification after an append commits, sent by the database's notifier
-- worker (not by the appending session); a rolled-back append sends none.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS eventstore;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;

SELECT dblink_connect('listener', format('host=%s port=%s dbname=%s user=%s',
           split_part(current_setting('unix_socket_directories'), ',', 1),
           current_setting('port'), current_database(), current_user)) AS connected;
SELECT dblink_exec('listener', 'LISTEN eventstore');

-- Waits up to 10 s for notifications on the listener; returns them with
-- their senders' backend types.
CREATE FUNCTION pg_temp.wakeups(quiet_ms int) RETURNS TABLE (channel text, payload text, sender text)
LANGUAGE plpgsql AS $$
DECLARE
    n record;
    deadline timestamptz := clock_timestamp() + interval '10 seconds';
    got boolean := false;
BEGIN
    LOOP
        FOR n IN SELECT * FROM dblink_get_notify('listener') LOOP
            got := true;
            channel := n.notify_name;
            payload := n.extra;
            sender := coalesce((SELECT backend_type FROM pg_stat_activity WHERE pid = n.be_pid), 'exited');
            RETURN NEXT;
        END LOOP;
        EXIT WHEN got OR clock_timestamp() > deadline
              OR (quiet_ms IS NOT NULL AND clock_timestamp() > deadline - interval '10 seconds' + quiet_ms * interval '1 ms');
        PERFORM pg_sleep(0.02);
    END LOOP;
END $$;

-- Nothing yet.
SELECT count(*) AS before_any_append FROM pg_temp.wakeups(200);
-- A committed append wakes the listener; the sender is the notifier worker.
SELECT eventstore.append('wake-1', '[{"type": "A", "data": {}}]');
SELECT channel, payload, sender FROM pg_temp.wakeups(NULL);
-- A rolled-back append wakes nobody.
BEGIN;
SELECT eventstore.append('wake-1', '[{"type": "B", "data": {}}]');
ROLLBACK;
SELECT count(*) AS after_rollback FROM pg_temp.wakeups(300);
-- Five appends in one transaction: one wake-up.
SELECT count(eventstore.append('wake-' || g, '[{"type": "A", "data": {}}]')) AS appended FROM generate_series(2, 6) g;
SELECT count(*) AS wakeups FROM pg_temp.wakeups(NULL);

SELECT dblink_disconnect('listener');
