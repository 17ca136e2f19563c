-- The transactional consumer of rc_sub: poll any free member, record the
-- deliveries, ack, in one transaction (test/recovery/setup.sql, rc.consume).
SELECT rc.consume(50);
