-- An expression index whose IMMUTABLE function is then replaced by one that
-- computes other keys (plpgsql: never inlined into the index's cached
-- expression): the index no longer holds what the heap says, and
-- heapallindexed finds heap tuples without their index entries.
CREATE FUNCTION rc.mutant_key(bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN $1; END';
CREATE INDEX rc_mutant_idx ON feed.users (rc.mutant_key(id));
CREATE OR REPLACE FUNCTION rc.mutant_key(bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN -$1; END';
