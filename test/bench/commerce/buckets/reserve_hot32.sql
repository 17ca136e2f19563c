-- casebook hold on the hot variant spread over 32 buckets.
\set v :hot32
SELECT commerce.reserve(:v, 1);
