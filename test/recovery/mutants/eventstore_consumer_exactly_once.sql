-- The consumer's record of one delivery is lost.
DELETE FROM rc.consumed WHERE position = (SELECT min(position) FROM rc.consumed);
