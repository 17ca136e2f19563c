-- casebook hold on the hot variant: 1 round trip (bucketed stock + reservation row).
\set v :hot
SELECT commerce.reserve(:v, 1);
