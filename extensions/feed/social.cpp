// feed: users and the follow graph (see social.hpp).
#include "social.hpp"

#include "errcodes.hpp"
#include "follow_counts.hpp"
#include "settings.hpp"

namespace casebook::feed {
namespace {

// Both users' rows, locked in id order (two follows in opposite directions
// cannot deadlock). FOR NO KEY UPDATE: the counts change below, and a post
// by the followee (FOR SHARE on its row) waits, so a post is either seen by
// the follow's backfill or its fan-out sees the follow.
spi::Statement kLockPair{
    "SELECT id FROM feed.users WHERE id = ANY (ARRAY[$1, $2]) ORDER BY id FOR NO KEY UPDATE", {INT8OID, INT8OID}};
// pulled: the followee's posts are pulled (read after lock_pair, so a post
// marking them has committed or waits). dormant: as the follower is (their
// row is locked: neither a sweep nor a wake-up can change it meanwhile),
// so fan-out skips a dormant follower's new follow like the others.
// Returns whether the follower is dormant.
spi::Statement kInsertFollow{
    "INSERT INTO feed.follows (follower_id, followee_id, pulled, dormant)"
    " SELECT $1, $2, u.pulled_since IS NOT NULL, f.dormant FROM feed.users u, feed.users f"
    " WHERE u.id = $2 AND f.id = $1"
    " ON CONFLICT DO NOTHING RETURNING dormant",
    {INT8OID, INT8OID}};
spi::Statement kDeleteFollow{
    "DELETE FROM feed.follows WHERE follower_id = $1 AND followee_id = $2 RETURNING 1", {INT8OID, INT8OID}};
// The followee's newest posts that were fanned out (pulled ones are merged
// at read time anyway).
spi::Statement kBackfill{
    "INSERT INTO feed.timelines (user_id, created_at, post_id, author_id)"
    " SELECT $1, p.created_at, p.id, p.author_id FROM feed.posts p"
    " WHERE p.author_id = $2 AND p.fanned_out AND p.deleted_at IS NULL"
    " ORDER BY p.created_at DESC, p.id DESC LIMIT $3"
    " ON CONFLICT DO NOTHING",
    {INT8OID, INT8OID, INT8OID}};
spi::Statement kRemoveAuthor{
    "DELETE FROM feed.timelines WHERE user_id = $1 AND author_id = $2", {INT8OID, INT8OID}};
spi::Statement kTrim{
    "DELETE FROM feed.timelines t USING ("
    "  SELECT created_at, post_id FROM feed.timelines WHERE user_id = $1"
    "   ORDER BY created_at DESC, post_id DESC OFFSET $2 LIMIT 1) b"
    " WHERE t.user_id = $1 AND (t.created_at, t.post_id) <= (b.created_at, b.post_id)",
    {INT8OID, INT8OID}};
// Users not seen for feed.inactive_after become dormant, with their follows
// (fan-out reads follows_fanout_idx, which holds the others). The users'
// rows are locked first, in id order, as follow() and a waking reader
// (home.cpp, which locks everyone it follows) lock theirs: no lock cycle
// forms. A dormant user is never picked, so a wake-up and a sweep never
// mark the same user (isolation spec feed_sweep_wake).
spi::Statement kMarkDormant{
    "WITH d AS (UPDATE feed.users u SET dormant = true"
    "            WHERE u.id IN (SELECT c.id FROM feed.users c JOIN feed.activity a ON a.user_id = c.id"
    "                            WHERE NOT c.dormant AND a.last_seen_at < now() - make_interval(secs => $1)"
    "                            ORDER BY c.id FOR NO KEY UPDATE OF c)"
    "              AND NOT u.dormant"
    "            RETURNING u.id),"
    "     f AS (UPDATE feed.follows f SET dormant = true FROM d"
    "            WHERE f.follower_id = d.id AND NOT f.dormant RETURNING 1)"
    " SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM f)",
    {INT4OID}};
spi::Statement kInsertUser{
    "INSERT INTO feed.users (username) VALUES ($1) ON CONFLICT (username) DO NOTHING RETURNING id", {TEXTOID}};

void lock_pair(spi::Connection& conn, int64_t follower, int64_t followee) {
    if (follower == followee)
        throw Error(errcodes::self_follow, "user " + std::to_string(follower) + " cannot follow themselves");
    spi::Rows rows = conn.execute(kLockPair, {spi::int8_param(follower), spi::int8_param(followee)});
    bool have_follower = false, have_followee = false;
    for (uint64_t r = 0; r < rows.size(); ++r) {
        int64_t id = rows.int8_at(r, 1);
        have_follower |= id == follower;
        have_followee |= id == followee;
    }
    if (!have_follower) throw Error(errcodes::unknown_user, "user " + std::to_string(follower) + " does not exist");
    if (!have_followee) throw Error(errcodes::unknown_user, "user " + std::to_string(followee) + " does not exist");
}

}  // namespace

int64_t create_user(spi::Connection& conn, const std::string& username) {
    bool ok = !username.empty() && username.size() <= 50;
    for (char c : username)
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
    if (!ok)
        throw Error(errcodes::invalid_parameter_value,
                    "username must be 1 to 50 letters, digits or underscores, got \"" + username + "\"");
    spi::Rows rows = conn.execute(kInsertUser, {spi::text_param(username)});
    if (rows.empty()) throw Error(errcodes::username_taken, "username \"" + username + "\" is taken");
    return rows.int8_at(0, 1);
}

int64_t follow(spi::Connection& conn, int64_t follower, int64_t followee) {
    lock_pair(conn, follower, followee);
    spi::Rows inserted = conn.execute(kInsertFollow, {spi::int8_param(follower), spi::int8_param(followee)});
    if (inserted.empty())
        throw Error(errcodes::already_following,
                    "user " + std::to_string(follower) + " already follows user " + std::to_string(followee));
    bool dormant = inserted.boolean(0, 1).value_or(false);
    follow_counts::add(follower, followee, 1);
    // A dormant follower's timeline is rebuilt from what they follow when
    // they next read: nothing is written to it now.
    if (dormant) return 0;
    const Settings& s = settings();
    auto backfilled = static_cast<int64_t>(
        conn.execute(kBackfill, {spi::int8_param(follower), spi::int8_param(followee),
                                 spi::int8_param(s.follow_backfill)})
            .size());
    if (backfilled > 0) trim_timeline(conn, follower);
    return backfilled;
}

int64_t unfollow(spi::Connection& conn, int64_t follower, int64_t followee) {
    lock_pair(conn, follower, followee);
    if (conn.execute(kDeleteFollow, {spi::int8_param(follower), spi::int8_param(followee)}).empty())
        throw Error(errcodes::not_following,
                    "user " + std::to_string(follower) + " does not follow user " + std::to_string(followee));
    follow_counts::add(follower, followee, -1);
    return static_cast<int64_t>(
        conn.execute(kRemoveAuthor, {spi::int8_param(follower), spi::int8_param(followee)}).size());
}

int64_t mark_dormant(spi::Connection& conn) {
    spi::Rows r = conn.execute(kMarkDormant, {spi::int4_param(settings().inactive_after_s)});
    return r.int8_at(0, 1);
}

void trim_timeline(spi::Connection& conn, int64_t user) {
    conn.execute(kTrim, {spi::int8_param(user), spi::int8_param(settings().timeline_max)});
}

}  // namespace casebook::feed
