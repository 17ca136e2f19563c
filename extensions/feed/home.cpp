// feed: the home feed (see home.hpp and docs/feed.md).
//
// Two paths with the same results. The direct path (home_reader.hpp) reads
// the tables through their indexes with no SQL statement; the SQL path runs
// the same reads as statements, when the tables' layout is not the one the
// extension made, and wakes a dormant user. Either way:
//  1. The user (unknown is KB301), whether mark_dormant() marked them, and
//     the cursor key. A dormant user had no fan-out since: they are woken
//     (their row and everyone they follow locked, the marks cleared) and
//     their timeline rebuilt from the followees' recent posts first. The
//     user's row in feed.activity (unlogged) is touched at most once an hour
//     (or every inactive_after / 2, if that is shorter).
//  2. The cursor, if any: sealed, issued to this user, not expired.
//  3. The followed authors whose posts are pulled (the user's follows marked
//     pulled).
//  4. Sources, newest first below the cursor: the materialized timeline and
//     each pulled author's un-fanned posts; the k-way merge (merge.hpp) takes
//     the newest, each post once.
//  5. For the entries taken, the posts: deleted posts and unfollowed authors
//     are skipped (their timeline entries removed); the rest get a cursor.
// In a read-only transaction nothing is written (no wake-up, no touch, no
// removal).
#include "home.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "cursor.hpp"
#include "home_reader.hpp"
#include "errcodes.hpp"
#include "merge.hpp"
#include "settings.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "utils/timestamp.h"
}

namespace casebook::feed {
namespace {

// Hot statements: planned once (spi.hpp).
constexpr auto kGeneric = spi::PlanChoice::generic;

spi::Statement kUser{
    "SELECT u.id IS NOT NULL, coalesce(u.dormant, false),"
    "       a.last_seen_at IS NULL"
    "         OR a.last_seen_at < now() - least(interval '1 hour', make_interval(secs => $2 / 2.0)),"
    "       (SELECT k.key FROM feed.cursor_key k)"
    " FROM (SELECT $1::bigint AS id) x LEFT JOIN feed.users u ON u.id = x.id"
    " LEFT JOIN feed.activity a ON a.user_id = x.id",
    {INT8OID, INT4OID}, kGeneric};
spi::Statement kTouch{
    "INSERT INTO feed.activity (user_id, last_seen_at) VALUES ($1, now())"
    " ON CONFLICT (user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
    {INT8OID}, kGeneric};
// Waking a dormant user (fan-out skipped them): their row and every user
// they follow, locked in id order as follow() locks pairs. A post by one of
// them in flight holds its author FOR SHARE: the rebuild below waits for
// its commit and sees it; a later post waits for this transaction and then
// finds the follower awake.
spi::Statement kLockWake{
    "SELECT id FROM feed.users"
    " WHERE id = $1 OR id IN (SELECT followee_id FROM feed.follows WHERE follower_id = $1)"
    " ORDER BY id FOR NO KEY UPDATE",
    {INT8OID}, kGeneric};
// false (no row): a concurrent first read woke them already.
spi::Statement kWakeUser{"UPDATE feed.users SET dormant = false WHERE id = $1 AND dormant RETURNING 1", {INT8OID},
                         kGeneric};
spi::Statement kWakeFollows{"UPDATE feed.follows SET dormant = false WHERE follower_id = $1 AND dormant", {INT8OID},
                            kGeneric};
spi::Statement kClearTimeline{"DELETE FROM feed.timelines WHERE user_id = $1", {INT8OID}, kGeneric};
spi::Statement kRebuildTimeline{
    "INSERT INTO feed.timelines (user_id, created_at, post_id, author_id)"
    " SELECT $1, p.created_at, p.id, p.author_id FROM feed.follows f"
    " CROSS JOIN LATERAL (SELECT created_at, id, author_id FROM feed.posts"
    "                      WHERE author_id = f.followee_id AND fanned_out AND deleted_at IS NULL"
    "                      ORDER BY created_at DESC, id DESC LIMIT $2) p"
    " WHERE f.follower_id = $1 ORDER BY p.created_at DESC, p.id DESC LIMIT $2"
    // A concurrent first read rebuilds the same rows (isolation spec
    // feed_inactive_rebuild).
    " ON CONFLICT DO NOTHING",
    {INT8OID, INT8OID}, kGeneric};
spi::Statement kPulledFollowees{
    "SELECT followee_id FROM feed.follows WHERE follower_id = $1 AND pulled ORDER BY followee_id",
    {INT8OID}, kGeneric};
spi::Statement kTimelinePage{
    "SELECT created_at, post_id, author_id FROM feed.timelines"
    " WHERE user_id = $1 AND (created_at, post_id) < ($2, $3)"
    " ORDER BY created_at DESC, post_id DESC LIMIT $4",
    {INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID}, kGeneric};
spi::Statement kPulledPage{
    "SELECT created_at, id, author_id FROM feed.posts"
    " WHERE author_id = $1 AND NOT fanned_out AND (created_at, id) < ($2, $3)"
    " ORDER BY created_at DESC, id DESC LIMIT $4",
    {INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID}, kGeneric};
// The first page of every pulled author at once (each author's rows newest
// first, by author).
spi::Statement kPulledFirstPages{
    "SELECT p.created_at, p.id, p.author_id FROM unnest($1::bigint[]) a(id)"
    " CROSS JOIN LATERAL (SELECT created_at, id, author_id FROM feed.posts"
    "                      WHERE author_id = a.id AND NOT fanned_out AND (created_at, id) < ($2, $3)"
    "                      ORDER BY created_at DESC, id DESC LIMIT $4) p",
    {INT8ARRAYOID, TIMESTAMPTZOID, INT8OID, INT8OID}, kGeneric};
spi::Statement kPostRows{
    "SELECT p.id, p.content, p.deleted_at IS NULL,"
    "       EXISTS (SELECT 1 FROM feed.follows f WHERE f.follower_id = $2 AND f.followee_id = p.author_id)"
    " FROM feed.posts p WHERE p.id = ANY ($1)",
    {INT8ARRAYOID, INT8OID}, kGeneric};
spi::Statement kDropEntries{"DELETE FROM feed.timelines WHERE user_id = $1 AND post_id = ANY ($2)",
                            {INT8OID, INT8ARRAYOID}, kGeneric};

// A source read a page at a time, below a moving (created_at, post_id) key.
class PagedSource {
public:
    // read_only: under the calling statement's snapshot (false after this
    // call rebuilt the timeline, whose rows that snapshot does not see).
    PagedSource(spi::Connection& conn, spi::Statement& stmt, int64_t owner, Entry below, int64_t page,
                bool timeline, bool read_only)
        : conn_(conn), stmt_(stmt), owner_(owner), below_(below), page_(page), timeline_(timeline),
          read_only_(read_only) {}

    // The first page, already read (a full page may have more after it).
    void prefill(std::vector<Entry> rows) {
        buffer_ = std::move(rows);
        pos_ = 0;
        exhausted_ = static_cast<int64_t>(buffer_.size()) < page_;
        if (!buffer_.empty()) below_ = buffer_.back();
        page_ = std::min<int64_t>(page_ * 4, 4096);
    }

    std::optional<Entry> next() {
        if (pos_ == buffer_.size()) {
            if (exhausted_) return std::nullopt;
            fill();
            if (buffer_.empty()) return std::nullopt;
        }
        return buffer_[pos_++];
    }

private:
    void fill() {
        buffer_.clear();
        pos_ = 0;
        spi::Rows rows = conn_.execute(stmt_, {spi::int8_param(owner_), spi::datum_param(TimestampTzGetDatum(below_.created_at)),
                                               spi::int8_param(below_.post_id), spi::int8_param(page_)},
                                       read_only_);
        for (uint64_t r = 0; r < rows.size(); ++r)
            buffer_.push_back(Entry{DatumGetTimestampTz(*rows.datum(r, 1)), rows.int8_at(r, 2), rows.int8_at(r, 3),
                                    timeline_});
        exhausted_ = static_cast<int64_t>(rows.size()) < page_;
        if (!buffer_.empty()) below_ = buffer_.back();
        // Later pages grow: the first page is sized for the request.
        page_ = std::min<int64_t>(page_ * 4, 4096);
    }

    spi::Connection& conn_;
    spi::Statement& stmt_;
    int64_t owner_;
    Entry below_;
    int64_t page_;
    bool timeline_;
    bool read_only_;
    std::vector<Entry> buffer_;
    std::size_t pos_ = 0;
    bool exhausted_ = false;
};

CursorKey key_of(Datum d) {
    CursorKey key{};
    bool ok = pg::guard([&] {
        bytea* b = DatumGetByteaPP(d);
        if (VARSIZE_ANY_EXHDR(b) != key.size()) return false;
        memcpy(key.data(), VARDATA_ANY(b), key.size());
        return true;
    });
    if (!ok) throw Error(errcodes::extension_not_ready, "feed.cursor_key holds a key of the wrong length");
    return key;
}

// The page's start: below the cursor (sealed, issued to this user, not
// expired), or from the newest.
Entry page_start(const std::optional<std::string>& cursor_text, const CursorKey& key, int64_t user,
                 TimestampTz now) {
    if (!cursor_text) return Entry{DT_NOEND, 0, 0, false};
    const Settings& s = settings();
    Cursor c;
    switch (open_cursor(*cursor_text, key, &c)) {
        case CursorProblem::malformed:
            throw Error(errcodes::invalid_cursor, "cursor is not a feed.home cursor", "",
                        "Pass the cursor column of a row home() returned, unchanged.");
        case CursorProblem::forged:
            throw Error(errcodes::invalid_cursor, "cursor was not issued by this database (or its key was rotated)",
                        "", "Start again without a cursor.");
        case CursorProblem::none:
            break;
    }
    if (c.user_id != user)
        throw Error(errcodes::invalid_cursor, "cursor was issued to another user", "", "Start again without a cursor.");
    if (now - c.issued_at > static_cast<int64_t>(s.cursor_ttl_s) * USECS_PER_SEC)
        throw Error(errcodes::stale_cursor,
                    "cursor expired (older than feed.cursor_ttl = " + std::to_string(s.cursor_ttl_s) + " s)", "",
                    "Start again without a cursor.");
    return Entry{c.created_at, c.post_id, 0, false};
}

// One result row, with the cursor that continues after it.
void emit(FunctionCallInfo fcinfo, const Entry& e, Datum content, int64_t user, const CursorKey& key,
          TimestampTz now) {
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    std::string sealed = seal_cursor(Cursor{user, e.created_at, e.post_id, now}, key);
    const char* sp = sealed.data();
    std::size_t sn = sealed.size();
    Datum values[5];
    bool nulls[5] = {false, false, false, false, false};
    values[0] = Int64GetDatum(e.post_id);
    values[1] = Int64GetDatum(e.author_id);
    values[2] = content;
    values[3] = TimestampTzGetDatum(e.created_at);
    Datum* vp = values;
    bool* np = nulls;
    pg::guard([&] {
        vp[4] = PointerGetDatum(cstring_to_text_with_len(sp, static_cast<int>(sn)));
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, vp, np);
    });
}

// One page: entries from the merge until `limit` rows were emitted or the
// sources ran out. Each chunk is looked up at once (one fact per entry);
// live posts are emitted, and the post ids of dead timeline entries
// returned for removal.
using Lookup = std::function<void(const std::vector<Entry>&, std::vector<PostFacts>&)>;

std::vector<int64_t> fill_page(Merger& merger, int32_t limit, const Lookup& lookup, FunctionCallInfo fcinfo,
                               int64_t user, const CursorKey& key, TimestampTz now) {
    std::vector<int64_t> dead;
    std::vector<Entry> chunk;
    std::vector<PostFacts> facts;
    int32_t produced = 0;
    bool more = true;
    while (produced < limit && more) {
        chunk.clear();
        while (static_cast<int32_t>(chunk.size()) < limit - produced) {
            auto e = merger.next();
            if (!e) {
                more = false;
                break;
            }
            chunk.push_back(*e);
        }
        if (chunk.empty()) break;
        lookup(chunk, facts);
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            if (!facts[i].live) {
                if (chunk[i].from_timeline) dead.push_back(chunk[i].post_id);
                continue;
            }
            Entry e = chunk[i];
            e.author_id = facts[i].author_id;
            emit(fcinfo, e, facts[i].content, user, key, now);
            ++produced;
        }
    }
    return dead;
}

// An SPI connection made on first use: the direct path needs none.
class LazyConnection {
public:
    spi::Connection& get() {
        if (!conn_) conn_.emplace();
        return *conn_;
    }
    void finish() {
        if (conn_) conn_->finish();
    }

private:
    std::optional<spi::Connection> conn_;
};

void home_sql(spi::Connection& conn, FunctionCallInfo fcinfo, int64_t user, int32_t limit,
              const std::optional<std::string>& cursor_text, bool can_write);

// The direct path (home_reader.hpp). false: it does not apply (the tables'
// layout, or the user is dormant and must be woken first); nothing was
// read or written.
bool home_direct(LazyConnection& conn, FunctionCallInfo fcinfo, int64_t user, int32_t limit,
                 const std::optional<std::string>& cursor_text, bool can_write) {
    const Settings& s = settings();
    HomeReader reader;
    if (!reader.open()) return false;
    HomeUser u = reader.user(user, s.inactive_after_s);
    if (!u.exists) throw Error(errcodes::unknown_user, "user " + std::to_string(user) + " does not exist");
    if (u.inactive && can_write) {
        reader.close();
        return false;
    }
    if (!u.have_key) throw Error(errcodes::extension_not_ready, "feed.cursor_key must hold exactly one key");
    TimestampTz now = pg::guard([] { return GetCurrentTimestamp(); });
    Entry below = page_start(cursor_text, u.key, user, now);

    std::vector<Source> sources;
    int timeline = reader.add_timeline(user, below);
    HomeReader* rp = &reader;
    sources.push_back([rp, timeline] { return rp->next(timeline); });
    for (int64_t author : reader.pulled_followees(user)) {
        int src = reader.add_pulled(author, below);
        sources.push_back([rp, src] { return rp->next(src); });
    }
    Merger merger(std::move(sources));

    // Timeline entries to remove: deleted posts, unfollowed authors.
    std::vector<int64_t> dead = fill_page(
        merger, limit, [rp, user](const std::vector<Entry>& chunk, std::vector<PostFacts>& facts) { rp->posts(user, chunk, facts); },
        fcinfo, user, u.key, now);
    reader.close();
    if (!can_write) return true;
    if (u.touch) conn.get().execute(kTouch, {spi::int8_param(user)});
    if (!dead.empty())
        conn.get().execute(kDropEntries, {spi::int8_param(user), spi::datum_param(spi::int8_array(dead))});
    return true;
}

}  // namespace

void home(FunctionCallInfo fcinfo, int64_t user, int32_t limit, const std::optional<std::string>& cursor_text) {
    if (limit < 1 || limit > 1000)
        throw Error(errcodes::invalid_parameter_value, "limit must be 1 to 1000, got " + std::to_string(limit));
    // In a read-only transaction (or on a standby) home() writes nothing:
    // no touch, no stray entry removed, and a dormant user is not woken (the
    // timeline is read as it is; docs/feed.md).
    bool can_write = pg::guard([] { return !XactReadOnly && !RecoveryInProgress(); });
    LazyConnection conn;
    bool direct = home_direct(conn, fcinfo, user, limit, cursor_text, can_write);
    // Which path ran, for tests and for an owner checking their layout.
    pg::guard([&] { elog(DEBUG1, "feed.home: %s read path", direct ? "direct" : "SQL"); });
    if (!direct) home_sql(conn.get(), fcinfo, user, limit, cursor_text, can_write);
    conn.finish();
}

namespace {

// The SQL path: the same reads as statements, and the rebuild of an
// inactive user's timeline.
void home_sql(spi::Connection& conn, FunctionCallInfo fcinfo, int64_t user, int32_t limit,
              const std::optional<std::string>& cursor_text, bool can_write) {
    const Settings& s = settings();
    spi::Rows u = conn.execute(kUser, {spi::int8_param(user), spi::int4_param(s.inactive_after_s)}, true);
    if (!*u.boolean(0, 1)) throw Error(errcodes::unknown_user, "user " + std::to_string(user) + " does not exist");
    bool inactive = *u.boolean(0, 2) && can_write;
    bool touch = *u.boolean(0, 3) && can_write;
    auto key_datum = u.datum(0, 4);
    if (!key_datum) throw Error(errcodes::extension_not_ready, "feed.cursor_key must hold exactly one key");
    CursorKey key = key_of(*key_datum);

    TimestampTz now = pg::guard([] { return GetCurrentTimestamp(); });
    Entry below = page_start(cursor_text, key, user, now);

    if (inactive) {
        // Fan-out skipped this dormant user: wake them and rebuild the
        // timeline before reading it.
        conn.execute(kLockWake, {spi::int8_param(user)});
        if (!conn.execute(kWakeUser, {spi::int8_param(user)}).empty()) {
            conn.execute(kWakeFollows, {spi::int8_param(user)});
            conn.execute(kClearTimeline, {spi::int8_param(user)});
            conn.execute(kRebuildTimeline, {spi::int8_param(user), spi::int8_param(s.timeline_max)});
        }
        touch = true;  // or mark_dormant() would find them again
    }
    if (touch) conn.execute(kTouch, {spi::int8_param(user)});

    std::vector<int64_t> pulled;
    {
        spi::Rows f = conn.execute(kPulledFollowees, {spi::int8_param(user)}, !inactive);
        for (uint64_t r = 0; r < f.size(); ++r) pulled.push_back(f.int8_at(r, 1));
    }

    // Sources: pages a little larger than the request, for skipped entries.
    int64_t page = limit + 8;
    std::vector<std::unique_ptr<PagedSource>> owned;
    std::vector<Source> sources;
    owned.push_back(std::make_unique<PagedSource>(conn, kTimelinePage, user, below, page, true, !inactive));
    if (!pulled.empty()) {
        std::unordered_map<int64_t, std::vector<Entry>> first;
        spi::Rows rows = conn.execute(kPulledFirstPages,
                                      {spi::datum_param(spi::int8_array(pulled)),
                                       spi::datum_param(TimestampTzGetDatum(below.created_at)),
                                       spi::int8_param(below.post_id), spi::int8_param(page)},
                                      !inactive);
        for (uint64_t r = 0; r < rows.size(); ++r) {
            Entry e{DatumGetTimestampTz(*rows.datum(r, 1)), rows.int8_at(r, 2), rows.int8_at(r, 3), false};
            first[e.author_id].push_back(e);
        }
        for (int64_t author : pulled) {
            auto it = first.find(author);
            if (it == first.end()) continue;  // nothing below the cursor
            auto src = std::make_unique<PagedSource>(conn, kPulledPage, author, below, page, false, !inactive);
            src->prefill(std::move(it->second));
            owned.push_back(std::move(src));
        }
    }
    for (auto& src : owned) sources.push_back([p = src.get()] { return p->next(); });
    Merger merger(std::move(sources));

    // The posts of a chunk, with deletion and whether the author is still
    // followed, in one query.
    Lookup lookup = [&conn, user, inactive](const std::vector<Entry>& chunk, std::vector<PostFacts>& facts) {
        std::vector<int64_t> ids;
        for (const Entry& e : chunk) ids.push_back(e.post_id);
        spi::Rows rows = conn.execute(kPostRows, {spi::datum_param(spi::int8_array(ids)), spi::int8_param(user)}, !inactive);
        std::unordered_map<int64_t, uint64_t> row_of;
        for (uint64_t r = 0; r < rows.size(); ++r) row_of[rows.int8_at(r, 1)] = r;
        facts.assign(chunk.size(), PostFacts{});
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            auto it = row_of.find(chunk[i].post_id);
            if (it == row_of.end() || !*rows.boolean(it->second, 3) || !*rows.boolean(it->second, 4)) continue;
            // Out of SPI's memory: the rows go with this statement.
            facts[i] = PostFacts{true, chunk[i].author_id, conn.copy_out(*rows.datum(it->second, 2), TEXTOID)};
        }
    };
    std::vector<int64_t> dead = fill_page(merger, limit, lookup, fcinfo, user, key, now);
    if (!dead.empty() && can_write)
        conn.execute(kDropEntries, {spi::int8_param(user), spi::datum_param(spi::int8_array(dead))});
}

}  // namespace

}  // namespace casebook::feed
