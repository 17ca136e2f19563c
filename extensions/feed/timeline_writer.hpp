// feed: the fan-out's write path. Timeline rows go straight through
// table_multi_insert and the primary key (core direct_insert), without the
// executor and without ON CONFLICT's speculative insertion: one heap WAL
// record per page of rows and one index insertion per row.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "pg_boundary.hpp"

namespace casebook::feed {

// Writes (user, created_at, post, author) for every user (ascending ids
// keep the index insertions local). The caller guarantees that no timeline
// holds the post yet for these users, committed or in progress (see
// posting.cpp: the post is uncommitted, or the rows were checked under the
// author's lock); a row that exists anyway fails with 23505 rather than
// being written twice.
//
// Returns false, having written nothing, when feed.timelines needs the
// executor (INSERT triggers, rules, row security, partitioning, or columns
// of the owner's own): the caller then uses SQL.
bool write_timeline_rows(const std::vector<int64_t>& users, TimestampTz created_at, int64_t post, int64_t author);

// Where to cut a timeline back to `keep` entries: the key of its
// (keep + 1)-th newest entry; that entry and everything older go.
struct TrimPoint {
    int64_t user;
    TimestampTz created_at;
    int64_t post;
};

// The trim points of the users whose timelines hold more than `keep`
// entries, found by walking the primary key backward from each user's
// newest entry. Only the index is read: entries are counted without a
// visit to the heap, so an entry deleted but not yet known dead to the
// index counts, and such a timeline is cut a little short (the SQL it
// replaces, an index scan with OFFSET, visited the heap for most entries
// and was most of the fan-out's cost). nullopt: the primary key is not
// (user_id, created_at, post_id); the caller uses SQL.
std::optional<std::vector<TrimPoint>> trim_points(const std::vector<int64_t>& users, int64_t keep);

}  // namespace casebook::feed
