// feed: bulk import (see graph_import.hpp).
#include "graph_import.hpp"

#include <algorithm>

#include "errcodes.hpp"
#include "follow_counts.hpp"
#include "posting.hpp"
#include "settings.hpp"

namespace casebook::feed {
namespace {

// The first username that is NULL, malformed, repeated in the input, or
// taken: its position (1-based), the name, and which.
spi::Statement kCheckUsernames{
    "SELECT n.i, n.name,"
    "       CASE WHEN n.name IS NULL THEN 'null' WHEN n.name !~ '^[A-Za-z0-9_]{1,50}$' THEN 'malformed'"
    "            WHEN n.nth > 1 THEN 'repeated' ELSE 'taken' END"
    " FROM (SELECT m.name, m.i, row_number() OVER (PARTITION BY m.name ORDER BY m.i) AS nth"
    "         FROM unnest($1::text[]) WITH ORDINALITY m (name, i)) n"
    " WHERE n.name IS NULL OR n.name !~ '^[A-Za-z0-9_]{1,50}$' OR n.nth > 1"
    "    OR EXISTS (SELECT FROM feed.users u WHERE u.username = n.name)"
    " ORDER BY n.i LIMIT 1",
    {TEXTARRAYOID}};
// Identities are drawn in insertion order, which follows the input's: the
// ids sorted are the ids in input order. A username that a concurrent
// transaction takes after the check is a unique violation (23505).
spi::Statement kInsertUsers{
    "WITH ins AS (INSERT INTO feed.users (username)"
    "             SELECT n.name FROM unnest($1::text[]) WITH ORDINALITY n (name, i) ORDER BY n.i RETURNING id)"
    " SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM ins",
    {TEXTARRAYOID}};

// Every user named, locked in id order (as follow() locks its pair): the
// ids found.
spi::Statement kLockUsers{
    "SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM"
    " (SELECT id FROM feed.users WHERE id = ANY ($1::bigint[]) ORDER BY id FOR NO KEY UPDATE) l",
    {INT8ARRAYOID}};
// The follows, their counts (one update per user), and the backfill of the
// followees' newest fanned-out posts into followers who are not dormant,
// as follow() does one pair at a time. Returns the follows added and the
// timelines backfilled.
spi::Statement kInsertFollows{
    // Both users of every pair are locked (kLockUsers): no follow of
    // them can commit meanwhile, so the pairs not followed yet are known
    // before the insert, which needs no ON CONFLICT (a speculative
    // insertion per row).
    "WITH pairs AS (SELECT DISTINCT p.f, p.t FROM unnest($1::bigint[], $2::bigint[]) p (f, t)),"
    " ins AS (INSERT INTO feed.follows (follower_id, followee_id, pulled, dormant)"
    "         SELECT p.f, p.t, e.pulled_since IS NOT NULL, r.dormant"
    "           FROM pairs p JOIN feed.users e ON e.id = p.t JOIN feed.users r ON r.id = p.f"
    "          WHERE NOT EXISTS (SELECT FROM feed.follows o WHERE o.follower_id = p.f AND o.followee_id = p.t)"
    "         RETURNING follower_id, followee_id, dormant),"
    " deltas AS (SELECT x.id, sum(x.followers) AS followers, sum(x.following) AS following FROM ("
    "              SELECT followee_id AS id, 1 AS followers, 0 AS following FROM ins"
    "              UNION ALL SELECT follower_id, 0, 1 FROM ins) x GROUP BY x.id),"
    " counted AS (UPDATE feed.users u SET follower_count = u.follower_count + d.followers,"
    "                                     following_count = u.following_count + d.following"
    "             FROM deltas d WHERE u.id = d.id RETURNING 1),"
    " backfill AS (INSERT INTO feed.timelines (user_id, created_at, post_id, author_id)"
    "              SELECT i.follower_id, b.created_at, b.id, b.author_id FROM ins i"
    "               CROSS JOIN LATERAL (SELECT p.created_at, p.id, p.author_id FROM feed.posts p"
    "                                    WHERE p.author_id = i.followee_id AND p.fanned_out AND p.deleted_at IS NULL"
    "                                    ORDER BY p.created_at DESC, p.id DESC LIMIT $3) b"
    "              WHERE NOT i.dormant"
    "              ON CONFLICT DO NOTHING RETURNING user_id)"
    " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM counted),"
    "        coalesce((SELECT array_agg(DISTINCT user_id) FROM backfill), '{}')",
    {INT8ARRAYOID, INT8ARRAYOID, INT8OID}};

// The first content that is NULL or not 1 to 10000 characters, and the
// first created_at that is NULL or in the future.
spi::Statement kCheckPosts{
    "SELECT (SELECT n.i FROM unnest($1::text[]) WITH ORDINALITY n (c, i)"
    "         WHERE n.c IS NULL OR char_length(n.c) NOT BETWEEN 1 AND 10000 ORDER BY n.i LIMIT 1),"
    "       (SELECT char_length(n.c) FROM unnest($1::text[]) WITH ORDINALITY n (c, i)"
    "         WHERE n.c IS NULL OR char_length(n.c) NOT BETWEEN 1 AND 10000 ORDER BY n.i LIMIT 1),"
    "       (SELECT n.i FROM unnest($2::timestamptz[]) WITH ORDINALITY n (t, i)"
    "         WHERE n.t IS NULL OR n.t > clock_timestamp() ORDER BY n.i LIMIT 1)",
    {TEXTARRAYOID, TIMESTAMPTZARRAYOID}};
// The posts, pushed or pulled by each author's follower count as post()
// decides; the first pulled post of an author marks them and their follows;
// pushed posts are written into the timelines of followers who are not
// dormant. Returns the ids (input order) and the timelines written.
spi::Statement kInsertPosts{
    "WITH a AS (SELECT u.id, u.follower_count >= $4 AS pulled FROM feed.users u WHERE u.id = ANY ($1::bigint[])),"
    " p AS (INSERT INTO feed.posts (author_id, content, created_at, fanned_out)"
    "       SELECT x.author, x.content, coalesce(x.created_at, clock_timestamp()), NOT a.pulled"
    "         FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) WITH ORDINALITY x (author, content, created_at, i)"
    "         JOIN a ON a.id = x.author ORDER BY x.i"
    "       RETURNING id, author_id, created_at, fanned_out),"
    " marked AS (UPDATE feed.users u SET pulled_since = m.first"
    "            FROM (SELECT author_id, min(created_at) AS first FROM p WHERE NOT fanned_out GROUP BY author_id) m"
    "            WHERE u.id = m.author_id AND u.pulled_since IS NULL RETURNING u.id),"
    " marked_follows AS (UPDATE feed.follows f SET pulled = true FROM marked m"
    "                    WHERE f.followee_id = m.id AND NOT f.pulled RETURNING 1),"
    " delivered AS (INSERT INTO feed.timelines (user_id, created_at, post_id, author_id)"
    "               SELECT f.follower_id, p.created_at, p.id, p.author_id FROM p"
    "                 JOIN feed.follows f ON f.followee_id = p.author_id AND NOT f.dormant"
    "                WHERE p.fanned_out"
    "               ON CONFLICT DO NOTHING RETURNING user_id)"
    " SELECT coalesce((SELECT array_agg(id ORDER BY id) FROM p), '{}'),"
    "        coalesce((SELECT array_agg(DISTINCT user_id) FROM delivered), '{}'),"
    "        (SELECT count(*) FROM marked_follows)",
    {INT8ARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, INT8OID}};

std::vector<int64_t> distinct(std::vector<int64_t> ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

// Locks every user of `ids` in id order; KB301 for the first missing.
void lock_users(spi::Connection& conn, const std::vector<int64_t>& ids) {
    std::vector<int64_t> want = distinct(ids);
    spi::Rows r = conn.execute(kLockUsers, {spi::datum_param(spi::int8_array(want))});
    std::vector<int64_t> found = spi::int8_values(*r.datum(0, 1));
    if (found.size() == want.size()) return;
    for (std::size_t i = 0; i < want.size(); ++i)
        if (i >= found.size() || found[i] != want[i])
            throw Error(errcodes::unknown_user, "user " + std::to_string(want[i]) + " does not exist");
}

}  // namespace

std::vector<int64_t> import_users(spi::Connection& conn, Datum usernames, int64_t count) {
    if (count == 0) return {};
    spi::Rows bad = conn.execute(kCheckUsernames, {spi::datum_param(usernames)});
    if (!bad.empty()) {
        std::string at = "usernames[" + std::to_string(bad.int8_at(0, 1)) + "]";
        std::string what = bad.text(0, 3).value_or("");
        std::string name = bad.text(0, 2).value_or("");
        if (what == "null") throw Error(errcodes::null_value_not_allowed, at + " must not be NULL");
        if (what == "malformed")
            throw Error(errcodes::invalid_parameter_value,
                        at + ": username must be 1 to 50 letters, digits or underscores, got \"" + name + "\"");
        if (what == "taken") throw Error(errcodes::username_taken, at + ": username \"" + name + "\" is taken");
        throw Error(errcodes::username_taken, at + ": username \"" + name + "\" appears more than once");
    }
    spi::Rows r = conn.execute(kInsertUsers, {spi::datum_param(usernames)});
    return spi::int8_values(*r.datum(0, 1));
}

int64_t import_follows(spi::Connection& conn, const std::vector<int64_t>& followers,
                       const std::vector<int64_t>& followees) {
    if (followers.size() != followees.size())
        throw Error(errcodes::invalid_parameter_value,
                    "followers and followees must have the same length, got " + std::to_string(followers.size()) +
                        " and " + std::to_string(followees.size()));
    for (std::size_t i = 0; i < followers.size(); ++i)
        if (followers[i] == followees[i])
            throw Error(errcodes::self_follow, "followers[" + std::to_string(i + 1) + "]: user " +
                                                   std::to_string(followers[i]) + " cannot follow themselves");
    if (followers.empty()) return 0;
    std::vector<int64_t> everyone = followers;
    everyone.insert(everyone.end(), followees.begin(), followees.end());
    lock_users(conn, everyone);
    const Settings& s = settings();
    spi::Rows r = conn.execute(kInsertFollows, {spi::datum_param(spi::int8_array(followers)),
                                                spi::datum_param(spi::int8_array(followees)),
                                                spi::int8_param(s.follow_backfill)});
    int64_t added = r.int8_at(0, 1);
    trim_timelines(conn, spi::int8_values(*r.datum(0, 3)));
    return added;
}

std::vector<int64_t> import_posts(spi::Connection& conn, const std::vector<int64_t>& authors, Datum contents,
                                  int64_t content_count, std::optional<Datum> created_at, int64_t created_count) {
    if (static_cast<int64_t>(authors.size()) != content_count || (created_at && created_count != content_count))
        throw Error(errcodes::invalid_parameter_value,
                    "authors, contents and created_at must have the same length, got " + std::to_string(authors.size()) +
                        ", " + std::to_string(content_count) + " and " +
                        (created_at ? std::to_string(created_count) : std::string("NULL")));
    if (authors.empty()) return {};
    spi::Rows bad = conn.execute(kCheckPosts, {spi::datum_param(contents),
                                               created_at ? spi::datum_param(*created_at) : spi::null_param()});
    if (auto i = bad.int8(0, 1)) {
        auto chars = bad.int8(0, 2);
        if (!chars) throw Error(errcodes::null_value_not_allowed, "contents[" + std::to_string(*i) + "] must not be NULL");
        throw Error(errcodes::invalid_parameter_value, "contents[" + std::to_string(*i) +
                                                           "]: content must be 1 to 10000 characters, got " +
                                                           std::to_string(*chars));
    }
    if (auto i = bad.int8(0, 3))
        throw Error(errcodes::invalid_parameter_value,
                    "created_at[" + std::to_string(*i) + "] must be a time not in the future (and not NULL)");
    // Authors locked FOR NO KEY UPDATE (a first pulled post marks them;
    // follows of them wait, as for post()).
    lock_users(conn, authors);
    follow_counts::flush(conn);  // the authors' follower counts decide push or pull
    const Settings& s = settings();
    spi::Rows r = conn.execute(kInsertPosts, {spi::datum_param(spi::int8_array(authors)), spi::datum_param(contents),
                                              created_at ? spi::datum_param(*created_at) : spi::null_param(),
                                              spi::int8_param(s.celebrity_threshold)});
    std::vector<int64_t> ids = spi::int8_values(*r.datum(0, 1));
    trim_timelines(conn, spi::int8_values(*r.datum(0, 2)));
    return ids;
}

}  // namespace casebook::feed
