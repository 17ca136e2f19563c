// feed: the home feed's k-way merge, as pure logic over plain values.
//
// Every source (the user's materialized timeline, each pulled author's
// posts) yields entries newest first by (created_at, post_id). The merger
// yields the newest entries of all sources in that order, each post once:
// a post can be in the timeline and pulled too (its author crossed the
// celebrity threshold), and the same (created_at, post_id) key then comes
// out of two sources one after the other.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

namespace casebook::feed {

struct Entry {
    int64_t created_at;  // microseconds (PostgreSQL timestamptz)
    int64_t post_id;
    int64_t author_id;
    bool from_timeline;  // materialized (false: pulled)
};

// Newer first: by created_at, then post_id, both descending.
inline bool newer(const Entry& a, const Entry& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.post_id > b.post_id;
}

// A source: the next entry (newest first), or nothing when exhausted.
using Source = std::function<std::optional<Entry>()>;

class Merger {
public:
    explicit Merger(std::vector<Source> sources);
    // The next newest entry of all sources, or nothing. Sources are read
    // lazily: at most one entry ahead of what was returned, per source.
    std::optional<Entry> next();

private:
    struct Head {
        Entry entry;
        std::size_t source;
    };
    struct Older {
        bool operator()(const Head& a, const Head& b) const { return newer(b.entry, a.entry); }
    };
    std::vector<Source> sources_;
    std::priority_queue<Head, std::vector<Head>, Older> heap_;
    std::optional<Entry> last_;
};

}  // namespace casebook::feed
