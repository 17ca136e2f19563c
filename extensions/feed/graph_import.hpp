// feed: bulk import of an existing graph (users, follows, posts), set-based:
// each call is a handful of statements whatever its size, with the same
// effects as the one-at-a-time functions (docs/feed.md, "Bulk import").
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "spi.hpp"

namespace casebook::feed {

// The new users' ids, in the order of `usernames` (a Datum text[]).
std::vector<int64_t> import_users(spi::Connection& conn, Datum usernames, int64_t count);
// Follows followers[i] -> followees[i]; pairs already followed (or repeated)
// are skipped. Returns the follows added.
int64_t import_follows(spi::Connection& conn, const std::vector<int64_t>& followers,
                       const std::vector<int64_t>& followees);
// Posts by authors[i] with contents[i] (a Datum text[]) at created_at[i] (a
// Datum timestamptz[], or nullopt: now). Returns their ids in input order.
std::vector<int64_t> import_posts(spi::Connection& conn, const std::vector<int64_t>& authors, Datum contents,
                                  int64_t content_count, std::optional<Datum> created_at, int64_t created_count);

}  // namespace casebook::feed
