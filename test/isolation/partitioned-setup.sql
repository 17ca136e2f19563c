-- The database the eventstore isolation specs run in a second time, on a
-- partitioned store (make isolationcheck-partitioned). Every spec creates
-- and drops the extension: here CREATE EXTENSION makes a range-partitioned
-- events table of 5 positions per partition, and an event trigger creates
-- its partitions through pg_partman right after, so the specs' appends
-- cross partitions all the time. The specs and their expected output are
-- the same files as in the unpartitioned run.
\set ON_ERROR_STOP on
SELECT format('ALTER DATABASE %I SET eventstore.partition_positions = 5', current_database()) \gexec
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;

-- (No SET search_path clause: pg_partman sets search_path for the session
-- and restores what it found, which a SET clause here would make outlive
-- the call; see manage_partitions.)
CREATE FUNCTION public.partition_new_eventstore() RETURNS event_trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'eventstore')
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits WHERE inhparent = 'eventstore.events'::regclass) THEN
        PERFORM eventstore.manage_partitions(60);
    END IF;
END
$$;
CREATE EVENT TRIGGER partition_new_eventstore ON ddl_command_end WHEN TAG IN ('CREATE EXTENSION')
    EXECUTE FUNCTION public.partition_new_eventstore();
