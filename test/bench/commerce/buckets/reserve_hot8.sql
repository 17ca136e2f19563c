-- casebook hold on the hot variant spread over 8 buckets.
\set v :hot8
SELECT commerce.reserve(:v, 1);
