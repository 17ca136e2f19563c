-- casebook hold on the hot variant spread over 16 buckets.
\set v :hot16
SELECT commerce.reserve(:v, 1);
