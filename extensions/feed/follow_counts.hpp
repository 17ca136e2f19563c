// feed: follower and following counts, applied once per user and statement.
//
// follow() and unfollow() used to update both users' rows at once. Many
// follows of one user in one transaction (a bulk import, or
// SELECT count(feed.follow(f, t)) FROM edges) then made as many versions of
// that row, every one still in progress: each later lookup of the row, and
// each unique-index check of a new version, walked all of them, and the
// statement was quadratic in the follows of its most followed user.
//
// Now each call adds its change to a per-backend tally, kept per
// subtransaction, and the tally is applied with one UPDATE per user:
//   * when the top-level statement ends (the executor's end, or a utility
//     command's such as DO or CALL, outside any other statement), so the
//     next statement of the transaction reads exact counts;
//   * before any feed function reads a count (post, delete_post);
//   * at PRE_COMMIT / PRE_PREPARE, for what is left.
// Outside feed's functions the UPDATE runs as the owner of feed.users, as a
// restricted operation, with search_path = pg_catalog, pg_temp.
// A rolled-back subtransaction drops its changes from the tally, or, when
// they were applied inside it, puts them back (docs/feed.md, "Exact
// counts").
#pragma once

#include <cstdint>

#include "spi.hpp"

namespace casebook::feed::follow_counts {

// From _PG_init: the executor and utility hooks, the transaction callbacks.
void install();

// A follow (delta 1) or unfollow (-1) of followee by follower.
void add(int64_t follower, int64_t followee, int64_t delta);

// Applies the tally now, through conn.
void flush(spi::Connection& conn);

}  // namespace casebook::feed::follow_counts
