-- After a restart and the first checks: what the applications would do when
-- they come back. The consumer of rc_sub drains every member (poll, record,
-- ack in one transaction, as rc.consume does), and the async projection is
-- run until it folds nothing more. Then the liveness checks look at the
-- result (eventstore_subscription_drained, eventstore_async_caught_up).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DO $$
DECLARE
    members integer := (SELECT s.members FROM eventstore.subscriptions s WHERE s.name = 'rc_sub');
    acked bigint;
BEGIN
    FOR m IN 0 .. members - 1 LOOP
        FOR round IN 1 .. 1000 LOOP
            WITH d AS (SELECT member, position FROM eventstore.poll('rc_sub', 1000, m)),
                 ins AS (INSERT INTO rc.consumed SELECT member, position FROM d)
            SELECT eventstore.ack('rc_sub', max(position), m) INTO acked FROM d HAVING count(*) > 0;
            EXIT WHEN acked IS NULL;
            acked := NULL;
        END LOOP;
    END LOOP;
END
$$;
DO $$
BEGIN
    FOR round IN 1 .. 100 LOOP
        EXIT WHEN eventstore.run_projection('rc_async', 100000) = 0;
    END LOOP;
END
$$;
