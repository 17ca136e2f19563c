// feed: posting, deleting and fan-out (see posting.hpp).
#include "posting.hpp"

#include "background.hpp"
#include "errcodes.hpp"
#include "follow_counts.hpp"
#include "settings.hpp"
#include "timeline_writer.hpp"
#include "trim_schedule.hpp"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "utils/array.h"
}

namespace casebook::feed {
namespace {

// Hot statements: planned once (spi.hpp).
constexpr auto kGeneric = spi::PlanChoice::generic;

// The author's row is locked FOR SHARE for the whole posting transaction: a
// concurrent follow (FOR NO KEY UPDATE on the same row) waits, so the post
// is either in the follow's backfill or the follow is in the post's
// fan-out; and the follower count that decides push or pull cannot change
// under the decision.
spi::Statement kAuthorPeek{"SELECT follower_count, pulled_since IS NOT NULL FROM feed.users WHERE id = $1",
                           {INT8OID}, kGeneric};
spi::Statement kAuthorShare{
    "SELECT follower_count, pulled_since IS NOT NULL FROM feed.users WHERE id = $1 FOR SHARE", {INT8OID}, kGeneric};
// The first pulled post marks the author (an UPDATE: taken up front so two
// first posts of one author do not deadlock upgrading a shared lock).
spi::Statement kAuthorUpdate{
    "SELECT follower_count, pulled_since IS NOT NULL FROM feed.users WHERE id = $1 FOR NO KEY UPDATE", {INT8OID}, kGeneric};
spi::Statement kMarkPulled{
    "UPDATE feed.users SET pulled_since = $2 WHERE id = $1 AND pulled_since IS NULL", {INT8OID, TIMESTAMPTZOID}, kGeneric};
// ... and every follow of them (home() reads a user's pulled authors from
// follows_pulled_idx). Follows made later copy the mark (social.cpp): a
// follow locks the followee's row, which the marking post holds.
spi::Statement kMarkFollows{"UPDATE feed.follows SET pulled = true WHERE followee_id = $1 AND NOT pulled",
                            {INT8OID}, kGeneric};
spi::Statement kInsertPost{
    "INSERT INTO feed.posts (author_id, content, media_urls, fanned_out) VALUES ($1, $2, $3, $4)"
    " RETURNING id, created_at",
    {INT8OID, TEXTOID, TEXTARRAYOID, BOOLOID}, kGeneric};

// The SQL path, when feed.timelines needs the executor (triggers, rules,
// row security, columns of the owner's own). One batch of followers (all
// of them for an in-transaction fan-out), in follower id order after $4:
// delivers to the active ones, unless the post was deleted meanwhile.
// Dormant followers (users.dormant) are skipped: follows_fanout_idx holds
// the others. The receiving timelines that are due are trimmed after it
// (trim_those_due).
// Returns the followers visited, the last of them, and those delivered to.
spi::Statement kDeliverBatch{
    "WITH batch AS ("
    "  SELECT follower_id FROM feed.follows WHERE followee_id = $3 AND follower_id > $4 AND NOT dormant"
    "   ORDER BY follower_id LIMIT $5),"
    " delivered AS ("
    "  INSERT INTO feed.timelines (user_id, created_at, post_id, author_id)"
    "  SELECT b.follower_id, $2, $1, $3 FROM batch b"
    "   WHERE EXISTS (SELECT 1 FROM feed.posts p WHERE p.id = $1 AND p.deleted_at IS NULL)"
    "  ON CONFLICT DO NOTHING RETURNING user_id)"
    " SELECT (SELECT count(*) FROM batch), (SELECT coalesce(max(follower_id), 0) FROM batch),"
    "        (SELECT coalesce(array_agg(user_id ORDER BY user_id), '{}') FROM delivered)",
    {INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT8OID}, kGeneric};
// The direct write path (timeline_writer.hpp) in three steps: the
// followers to deliver to, the rows, then the trim of the timelines due.
//
// In the posting transaction the post is not committed: no other
// transaction can know its id, so no timeline holds it and every follower
// who is not dormant gets a row. They are read from follows_fanout_idx
// alone (an index-only scan): no lookup per follower.
spi::Statement kActiveFollowers{
    "SELECT coalesce(array_agg(follower_id ORDER BY follower_id), '{}')"
    " FROM feed.follows WHERE followee_id = $1 AND NOT dormant",
    {INT8OID}, kGeneric};
// A background batch: the post is committed, so a follow's backfill or an
// inactive reader's rebuild may have copied it already. The batch first
// locks the author FOR SHARE (a follow, which writes a backfill, holds FOR
// NO KEY UPDATE on it: it has committed or waits), then reads under a fresh
// snapshot which followers still lack the post. A dormant reader's rebuild
// locks the users they follow (home.cpp): it has committed (the reader is
// no longer dormant, and the rebuild may hold the post) or waits.
spi::Statement kBatchLock{
    "SELECT p.deleted_at IS NULL FROM feed.posts p JOIN feed.users u ON u.id = p.author_id"
    " WHERE p.id = $1 FOR SHARE OF u",
    {INT8OID}, kGeneric};
spi::Statement kBatchFollowers{
    "WITH batch AS ("
    "  SELECT follower_id FROM feed.follows WHERE followee_id = $3 AND follower_id > $4 AND NOT dormant"
    "   ORDER BY follower_id LIMIT $5)"
    " SELECT count(*), coalesce(max(b.follower_id), 0),"
    "        coalesce(array_agg(b.follower_id ORDER BY b.follower_id) FILTER ("
    "          WHERE NOT EXISTS (SELECT 1 FROM feed.timelines t WHERE t.user_id = b.follower_id"
    "                               AND t.created_at = $2 AND t.post_id = $1)), '{}')"
    " FROM batch b",
    {INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT8OID}, kGeneric};
// Cuts one timeline at its trim point (timeline_writer.hpp): a range of
// the primary key. One statement per timeline: a single statement joining
// the trim points as an array was planned, generically, as a hash join
// over a sequential scan of every timeline (2 s a post on a 15M-row table).
spi::Statement kTrimAt{
    "DELETE FROM feed.timelines WHERE user_id = $1 AND (created_at, post_id) <= ($2, $3)",
    {INT8OID, TIMESTAMPTZOID, INT8OID}, kGeneric};
// The same in SQL, when the primary key is not the one feed created.
spi::Statement kTrimSome{
    "DELETE FROM feed.timelines t USING ("
    "  SELECT u.id, k.created_at, k.post_id FROM unnest($1::bigint[]) u (id)"
    "   CROSS JOIN LATERAL (SELECT created_at, post_id FROM feed.timelines"
    "                        WHERE user_id = u.id"
    "                        ORDER BY created_at DESC, post_id DESC OFFSET $2 LIMIT 1) k) x"
    " WHERE t.user_id = x.id AND (t.created_at, t.post_id) <= (x.created_at, x.post_id)",
    {INT8ARRAYOID, INT8OID}, kGeneric};
spi::Statement kRetractBatch{
    "WITH batch AS ("
    "  SELECT follower_id FROM feed.follows WHERE followee_id = $3 AND follower_id > $4"
    "   ORDER BY follower_id LIMIT $5),"
    " removed AS ("
    "  DELETE FROM feed.timelines t USING batch b"
    "   WHERE t.user_id = b.follower_id AND t.created_at = $2 AND t.post_id = $1 RETURNING 1)"
    " SELECT (SELECT count(*) FROM batch), (SELECT coalesce(max(follower_id), 0) FROM batch),"
    "        (SELECT count(*) FROM removed)",
    {INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT8OID}, kGeneric};
spi::Statement kEnqueue{
    "INSERT INTO feed.fanout_jobs (post_id, kind, author_id, created_at, followers_total)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    {INT8OID, TEXTOID, INT8OID, TIMESTAMPTZOID, INT8OID}, kGeneric};
spi::Statement kNextJob{
    "SELECT post_id, kind, author_id, created_at, after_follower FROM feed.fanout_jobs"
    " ORDER BY enqueued_at, post_id, kind LIMIT 1 FOR UPDATE SKIP LOCKED",
    {}, kGeneric};
spi::Statement kJobAdvance{
    "UPDATE feed.fanout_jobs SET after_follower = $3, processed = processed + $4 WHERE post_id = $1 AND kind = $2",
    {INT8OID, TEXTOID, INT8OID, INT8OID}, kGeneric};
spi::Statement kJobDone{"DELETE FROM feed.fanout_jobs WHERE post_id = $1 AND kind = $2", {INT8OID, TEXTOID}, kGeneric};
spi::Statement kPostForDelete{
    "SELECT p.author_id, p.created_at, p.fanned_out, p.deleted_at IS NOT NULL, u.follower_count"
    " FROM feed.posts p JOIN feed.users u ON u.id = p.author_id WHERE p.id = $1 FOR UPDATE OF p",
    {INT8OID}, kGeneric};
spi::Statement kMarkDeleted{"UPDATE feed.posts SET deleted_at = now() WHERE id = $1", {INT8OID}, kGeneric};

bool g_worker_wanted = false;

struct Batch {
    int64_t visited;
    int64_t last_follower;
    int64_t changed;
};

// Trims the timelines among `users` (just delivered to) that this delivery
// makes due (trim_schedule.hpp) back to feed.timeline_max.
void trim_those_due(spi::Connection& conn, const std::vector<int64_t>& users) {
    trim_timelines(conn, trim_schedule::due(users));
}

Batch deliver_batch(spi::Connection& conn, int64_t post, Datum created_at, int64_t author, int64_t after,
                    int64_t size) {
    spi::Rows r = conn.execute(kDeliverBatch, {spi::int8_param(post), spi::datum_param(created_at),
                                               spi::int8_param(author), spi::int8_param(after), spi::int8_param(size)});
    std::vector<int64_t> delivered = spi::int8_values(*r.datum(0, 3));
    trim_those_due(conn, delivered);
    return Batch{r.int8_at(0, 1), r.int8_at(0, 2), static_cast<int64_t>(delivered.size())};
}

// Writes the post into the users' timelines and trims those due.
// false: the table needs the executor; nothing was written.
bool deliver_to(spi::Connection& conn, const std::vector<int64_t>& users, int64_t post, Datum created_at,
                int64_t author) {
    if (!write_timeline_rows(users, DatumGetTimestampTz(created_at), post, author)) return false;
    trim_those_due(conn, users);
    return true;
}

// Everything in the posting transaction: all active followers at once.
void deliver_in_transaction(spi::Connection& conn, int64_t post, Datum created_at, int64_t author) {
    spi::Rows r = conn.execute(kActiveFollowers, {spi::int8_param(author)});
    std::vector<int64_t> users = spi::int8_values(*r.datum(0, 1));
    if (!deliver_to(conn, users, post, created_at, author)) deliver_batch(conn, post, created_at, author, 0, INT64_MAX);
}

// One background batch of followers after `after`.
Batch deliver_queued(spi::Connection& conn, int64_t post, Datum created_at, int64_t author, int64_t after,
                     int64_t size) {
    spi::Rows lock = conn.execute(kBatchLock, {spi::int8_param(post)});
    bool live = !lock.empty() && lock.boolean(0, 1).value_or(false);
    spi::Rows r = conn.execute_latest(
        kBatchFollowers, {spi::int8_param(post), spi::datum_param(created_at), spi::int8_param(author),
                          spi::int8_param(after), spi::int8_param(size)});
    Batch b{r.int8_at(0, 1), r.int8_at(0, 2), 0};
    if (!live) return b;  // deleted meanwhile: its retraction is queued behind this job
    std::vector<int64_t> users = spi::int8_values(*r.datum(0, 3));
    if (!deliver_to(conn, users, post, created_at, author)) return deliver_batch(conn, post, created_at, author, after, size);
    b.changed = static_cast<int64_t>(users.size());
    return b;
}

Batch retract_batch(spi::Connection& conn, int64_t post, Datum created_at, int64_t author, int64_t after,
                    int64_t size) {
    spi::Rows r = conn.execute(kRetractBatch, {spi::int8_param(post), spi::datum_param(created_at),
                                               spi::int8_param(author), spi::int8_param(after), spi::int8_param(size)});
    return Batch{r.int8_at(0, 1), r.int8_at(0, 2), r.int8_at(0, 3)};
}

void check_content(const std::string& content) {
    std::size_t chars = 0;  // UTF-8 code points (the database encoding checked the bytes)
    for (unsigned char c : content) chars += (c & 0xC0) != 0x80;
    if (chars < 1 || chars > 10000)
        throw Error(errcodes::invalid_parameter_value,
                    "content must be 1 to 10000 characters, got " + std::to_string(chars));
}

extern "C" void feed_on_xact(XactEvent event, void*) {
    if (event == XACT_EVENT_COMMIT && g_worker_wanted) {
        g_worker_wanted = false;
        // No free worker slot: the job waits for the next large post, a
        // scheduled run_fanout() or a manual one (docs/feed.md).
        (void)casebook::pg::background::start("feed", "feed_fanout_main", "feed fan-out worker", MyDatabaseId);
    } else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) {
        g_worker_wanted = false;
    }
}

}  // namespace

void trim_timelines(spi::Connection& conn, const std::vector<int64_t>& users) {
    if (users.empty()) return;
    std::optional<std::vector<TrimPoint>> cuts = trim_points(users, settings().timeline_max);
    if (!cuts) {
        conn.execute(kTrimSome, {spi::datum_param(spi::int8_array(users)), spi::int8_param(settings().timeline_max)});
    } else {
        for (const TrimPoint& t : *cuts)
            conn.execute(kTrimAt, {spi::int8_param(t.user), spi::datum_param(TimestampTzGetDatum(t.created_at)),
                                   spi::int8_param(t.post)});
    }
}

void request_worker() {
    if (settings().fanout_worker) g_worker_wanted = true;
}

void install_worker_callback() { RegisterXactCallback(feed_on_xact, nullptr); }

int64_t post(spi::Connection& conn, int64_t author, const std::string& content, std::optional<Datum> media) {
    check_content(content);
    follow_counts::flush(conn);  // the author's follower count decides push or pull
    const Settings& s = settings();
    spi::Rows peek = conn.execute(kAuthorPeek, {spi::int8_param(author)});
    if (peek.empty()) throw Error(errcodes::unknown_user, "user " + std::to_string(author) + " does not exist");
    bool would_mark = peek.int8_at(0, 1) >= s.celebrity_threshold && !*peek.boolean(0, 2);
    spi::Rows locked = conn.execute(would_mark ? kAuthorUpdate : kAuthorShare, {spi::int8_param(author)});
    if (locked.empty()) throw Error(errcodes::unknown_user, "user " + std::to_string(author) + " does not exist");
    int64_t followers = locked.int8_at(0, 1);
    bool marked = *locked.boolean(0, 2);
    bool pulled = followers >= s.celebrity_threshold;

    spi::Rows inserted = conn.execute(
        kInsertPost, {spi::int8_param(author), spi::text_param(content),
                      media ? spi::datum_param(*media) : spi::null_param(), spi::datum_param(BoolGetDatum(!pulled))});
    int64_t id = inserted.int8_at(0, 1);
    Datum created_at = *inserted.datum(0, 2);  // by value (int64 timestamptz)
    if (pulled) {
        if (!marked) {
            conn.execute(kMarkPulled, {spi::int8_param(author), spi::datum_param(created_at)});
            conn.execute(kMarkFollows, {spi::int8_param(author)});
        }
        return id;
    }
    if (followers <= s.fanout_sync_max) {
        deliver_in_transaction(conn, id, created_at, author);
    } else {
        conn.execute(kEnqueue, {spi::int8_param(id), spi::text_param("deliver"), spi::int8_param(author),
                                spi::datum_param(created_at), spi::int8_param(followers)});
        request_worker();
    }
    return id;
}

bool delete_post(spi::Connection& conn, int64_t post) {
    follow_counts::flush(conn);  // the author's follower count decides how the retraction runs
    spi::Rows p = conn.execute(kPostForDelete, {spi::int8_param(post)});
    if (p.empty()) throw Error(errcodes::unknown_post, "post " + std::to_string(post) + " does not exist");
    if (*p.boolean(0, 4)) return false;
    int64_t author = p.int8_at(0, 1);
    Datum created_at = *p.datum(0, 2);
    bool fanned_out = *p.boolean(0, 3);
    int64_t followers = p.int8_at(0, 5);
    conn.execute(kMarkDeleted, {spi::int8_param(post)});
    if (!fanned_out) return true;  // pulled: never copied into timelines
    // A delivery still queued stops here; one running now holds its job row,
    // so this waits for its batch, whose rows the retraction then removes.
    conn.execute(kJobDone, {spi::int8_param(post), spi::text_param("deliver")});
    if (followers <= settings().fanout_sync_max) {
        retract_batch(conn, post, created_at, author, 0, INT64_MAX);
    } else {
        conn.execute(kEnqueue, {spi::int8_param(post), spi::text_param("retract"), spi::int8_param(author),
                                spi::datum_param(created_at), spi::int8_param(followers)});
        request_worker();
    }
    return true;
}

namespace {
bool g_session_noted = false;
}  // namespace

bool session_start_noted() { return g_session_noted; }

void note_session_start(spi::Connection& conn) {
    if (g_session_noted) return;
    g_session_noted = true;
    if (!settings().fanout_worker) return;
    // A standby drains nothing (its worker would wait for a promotion,
    // holding a slot): the primary's sessions do it.
    if (pg::guard([] { return RecoveryInProgress(); })) return;
    // Queued fan-outs left by a restart (or by a worker that found no slot):
    // this session's commit starts the worker for them.
    static spi::Statement kQueued{"SELECT EXISTS (SELECT FROM feed.fanout_jobs)", {}};
    spi::Rows rows = conn.execute(kQueued, {}, true);
    if (!rows.empty() && rows.boolean(0, 1).value_or(false)) request_worker();
}

int64_t run_fanout(spi::Connection& conn, int32_t max_batches) {
    if (max_batches < 1)
        throw Error(errcodes::invalid_parameter_value, "max_batches must be at least 1, got " + std::to_string(max_batches));
    const Settings& s = settings();
    int64_t total = 0;
    for (int32_t b = 0; b < max_batches; ++b) {
        pg::check_interrupts();
        spi::Rows job = conn.execute(kNextJob, {});
        if (job.empty()) break;
        int64_t post = job.int8_at(0, 1);
        std::string kind = job.text(0, 2).value_or("");
        int64_t author = job.int8_at(0, 3);
        Datum created_at = *job.datum(0, 4);
        int64_t after = job.int8_at(0, 5);
        Batch done = kind == "retract" ? retract_batch(conn, post, created_at, author, after, s.fanout_batch)
                                       : deliver_queued(conn, post, created_at, author, after, s.fanout_batch);
        total += done.visited;
        if (done.visited < s.fanout_batch) {
            conn.execute(kJobDone, {spi::int8_param(post), spi::text_param(kind)});
            // An empty last batch (the followers were a multiple of the
            // batch size) only closed the job: it does not count, so a
            // call returns 0 only when no job had work (the worker's
            // idle signal).
            if (done.visited == 0) --b;
        } else {
            conn.execute(kJobAdvance, {spi::int8_param(post), spi::text_param(kind), spi::int8_param(done.last_follower),
                                       spi::int8_param(done.visited)});
        }
    }
    return total;
}

}  // namespace casebook::feed
