#!/usr/bin/env bash
# feed: many follows in one transaction, and the bulk import, timed
# (docs/benchmarks.md, "feed: bulk following and import"). Not pgbench: each
# case is one statement over a whole graph, timed by the server.
#
#   test/bench/feed_import.sh            the full graph (100,000 users, ~1M follows)
#   IMPORT_USERS=20000 IMPORT_EDGES=200000 test/bench/feed_import.sh   a smaller one
#
# Runs on a cluster of its own (port 55417, $REPO/.cluster-import), stopped
# at the end. The graph: followers uniform, followees log-uniform (a Zipf
# law with exponent 1: user k is followed about 1/k as often as user 1),
# pairs distinct, no self-follows, fixed seed.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
USERS=${IMPORT_USERS:-100000}
EDGES=${IMPORT_EDGES:-1000000}
POSTS=${IMPORT_POSTS:-200000}
export CASEBOOK_CLUSTER_NAME=import CASEBOOK_PORT=${IMPORT_PORT:-55417}
bash test/harness/cluster.sh start --mode bench >/dev/null
trap 'bash test/harness/cluster.sh stop >/dev/null 2>&1 || true' EXIT
eval "$(bash test/harness/cluster.sh env)"
export PGDATABASE=import_bench
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS import_bench" -c "CREATE DATABASE import_bench"
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
# Seconds a statement took, measured by the server.
timed() {
  q -At <<SQL | tail -n 1
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
$1;
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 2);
SQL
}
fresh() {
  q -c "SET client_min_messages = warning" -c "DROP EXTENSION IF EXISTS feed" -c "CREATE EXTENSION feed"
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }

q -c "SELECT setseed(0.42)" -c "
CREATE TABLE edges AS
SELECT DISTINCT f, t FROM (
  SELECT 1 + floor(random() * $USERS)::bigint AS f,
         least($USERS, floor(exp(random() * ln($USERS + 1)))::bigint) AS t
    FROM generate_series(1, ($EDGES * 1.25)::bigint)) g
 WHERE f <> t LIMIT $EDGES;
CREATE TABLE post_src AS
SELECT 1 + floor(random() * $USERS)::bigint AS author, 'imported post ' || g AS content,
       now() - random() * interval '30 days' AS created_at
  FROM generate_series(1, $POSTS) g;
ANALYZE edges; ANALYZE post_src;"
edges=$(q -At -c "SELECT count(*) FROM edges")
top=$(q -At -c "SELECT max(c) FROM (SELECT count(*) c FROM edges GROUP BY t) x")
echo "graph: $USERS users, $edges follows (the most followed user: $top followers), $POSTS posts"

# 1. follow() one call per edge, one statement, one transaction.
fresh
q -c "SELECT count(feed.create_user('u' || g)) FROM generate_series(1, $USERS) g" >/dev/null
s=$(timed "SELECT count(feed.follow(f, t)) FROM edges")
echo "follow() x $edges in one statement: ${s} s, $(rate "$edges" "$s") follows/s"
q -At -c "SELECT 'counts exact: ' || bool_and(u.follower_count = coalesce(c.n, 0)) FROM feed.users u
            LEFT JOIN (SELECT followee_id, count(*) n FROM feed.follows GROUP BY 1) c ON c.followee_id = u.id"

# 2. The bulk import: users, follows, posts.
fresh
s=$(timed "SELECT cardinality(feed.import_users(array_agg('u' || g ORDER BY g))) FROM generate_series(1, $USERS) g")
echo "import_users: $USERS users in ${s} s, $(rate "$USERS" "$s") rows/s"
s=$(timed "SELECT feed.import_follows(array_agg(f), array_agg(t)) FROM edges")
echo "import_follows: $edges follows in ${s} s, $(rate "$edges" "$s") rows/s"
s=$(timed "SELECT cardinality(feed.import_posts(array_agg(author), array_agg(content), array_agg(created_at))) FROM post_src")
rows=$(q -At -c "SELECT count(*) FROM feed.timelines")
echo "import_posts: $POSTS posts in ${s} s, $(rate "$POSTS" "$s") posts/s ($rows timeline rows written, trimmed)"
q -At -c "SELECT 'counts exact: ' || bool_and(u.follower_count = coalesce(c.n, 0)) FROM feed.users u
            LEFT JOIN (SELECT followee_id, count(*) n FROM feed.follows GROUP BY 1) c ON c.followee_id = u.id"

# 3. The 0.1 pattern against follow(): both users' rows updated per follow,
# in one transaction, on the first K follows of the most followed user.
for k in 5000 10000 20000; do
  fresh
  q -c "SELECT count(feed.create_user('u' || g)) FROM generate_series(1, $USERS) g" >/dev/null
  base=$(timed "DO \$\$ DECLARE e record; BEGIN
    FOR e IN SELECT f, t FROM edges WHERE t = 1 LIMIT $k LOOP
      INSERT INTO feed.follows (follower_id, followee_id) VALUES (e.f, e.t);
      UPDATE feed.users SET follower_count = follower_count + 1 WHERE id = e.t;
      UPDATE feed.users SET following_count = following_count + 1 WHERE id = e.f;
    END LOOP; END \$\$")
  fresh
  q -c "SELECT count(feed.create_user('u' || g)) FROM generate_series(1, $USERS) g" >/dev/null
  ours=$(timed "SELECT count(feed.follow(f, t)) FROM (SELECT f, t FROM edges WHERE t = 1 LIMIT $k) e")
  echo "one celebrity, $k follows in one transaction: per-follow row updates ${base} s, follow() ${ours} s"
done
