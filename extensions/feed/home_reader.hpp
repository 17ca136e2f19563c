// feed: the home feed's direct read path.
//
// feed.home() reads through index scans of its own tables, with no SQL
// statement and no executor: the user, their activity and the cursor key;
// the followed authors whose posts are pulled (feed.follows rows marked
// pulled, through a partial index); the materialized timeline and each
// pulled author's posts, as open backward index scans the merge pulls from
// one entry at a time; and the posts taken, by primary key. The timeline,
// the pulled posts, the user and the follow check are read from their
// indexes alone where the visibility map allows (as an index-only scan);
// the follow check reads the user's followees once per call.
//
// All reads use the calling statement's snapshot, as a read-only SQL
// statement would; privileges are checked as SQL would (as the function's
// owner: home() is SECURITY DEFINER). The path applies only to the tables
// as the extension made them: if a table has row security enabled, or an
// index this path reads is missing or has other columns, open() says no and
// home() runs its SQL statements instead (docs/feed.md, "Read path").
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cursor.hpp"
#include "merge.hpp"
#include "pg.hpp"

namespace casebook::feed {

struct HomeUser {
    bool exists = false;
    bool inactive = false;  // dormant (mark_dormant()): the timeline must be rebuilt
    bool touch = false;     // feed.activity is due an update
    bool have_key = false;
    CursorKey key{};
};

// A post taken by the merge: shown, or its timeline entry is stray.
struct PostFacts {
    bool live = false;      // exists, not deleted, author still followed
    int64_t author_id = 0;  // the post's author
    Datum content = 0;      // text, detoasted copy in the caller's memory context
};

class HomeReader {
public:
    HomeReader() = default;
    HomeReader(const HomeReader&) = delete;
    HomeReader& operator=(const HomeReader&) = delete;

    // Locks and opens the tables. false: the layout is not the extension's
    // (or row security is on): nothing is open, use SQL.
    bool open();
    HomeUser user(int64_t user_id, int inactive_after_s);
    // The followed authors whose un-fanned posts are pulled, by id.
    std::vector<int64_t> pulled_followees(int64_t user_id);
    // Sources below `below` (created_at, post_id), newest first.
    int add_timeline(int64_t user_id, const Entry& below);
    int add_pulled(int64_t author_id, const Entry& below);
    std::optional<Entry> next(int source);
    // One fact per entry, in order. Timeline entries also need the author
    // still followed by `user_id` (pulled ones come from the follows).
    void posts(int64_t user_id, const std::vector<Entry>& entries, std::vector<PostFacts>& out);
    // Ends the scans and unlocks nothing (locks are kept to the end of the
    // transaction, as a statement's are).
    void close();

    struct State;

private:
    State* state_ = nullptr;
};

// From _PG_init: drops the cached table layout on relcache invalidation.
void install_reader_callback();

}  // namespace casebook::feed
