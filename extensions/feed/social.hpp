// feed: users and the follow graph (exact counts, backfill, removal).
#pragma once

#include <cstdint>
#include <string>

#include "spi.hpp"

namespace casebook::feed {

int64_t create_user(spi::Connection& conn, const std::string& username);
// Returns the posts backfilled into the follower's timeline.
int64_t follow(spi::Connection& conn, int64_t follower, int64_t followee);
// Returns the timeline entries removed.
int64_t unfollow(spi::Connection& conn, int64_t follower, int64_t followee);

// Marks the users not seen for feed.inactive_after dormant (and their
// follows); returns the users marked.
int64_t mark_dormant(spi::Connection& conn);

// Trims one timeline to timeline_max entries.
void trim_timeline(spi::Connection& conn, int64_t user);

}  // namespace casebook::feed
