-- 1 to 3 events appended to one of 400 acct- streams (folded inline by
-- rc_inline) or 400 ship- streams (folded by the async projection rc_async).
\set s random(1, 400)
\set n random(1, 3)
\if random(1, 10) <= 6
SELECT eventstore.append('acct-' || :s, (SELECT jsonb_agg(jsonb_build_object('type', 'Deposited', 'data', jsonb_build_object('amount', g))) FROM generate_series(1, :n) g));
\else
SELECT eventstore.append('ship-' || :s, (SELECT jsonb_agg(jsonb_build_object('type', 'Shipped', 'data', jsonb_build_object('parcel', g))) FROM generate_series(1, :n) g));
\endif
