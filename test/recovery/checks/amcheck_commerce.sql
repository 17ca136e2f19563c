-- bt_index_parent_check(index, heapallindexed => true) on every btree index
-- in the schema commerce (unlogged ones included: after a crash they are reset).
WITH idx AS (SELECT c.oid::regclass AS idx
               FROM pg_class c JOIN pg_am am ON am.oid = c.relam
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'commerce' AND c.relkind = 'i' AND am.amname = 'btree')
SELECT 'no btree index found in schema commerce' WHERE NOT EXISTS (SELECT 1 FROM idx)
UNION ALL
SELECT format('%s: %s', idx, problem) FROM idx CROSS JOIN LATERAL rc.index_problem(idx) AS problem
 WHERE problem IS NOT NULL;
