// feed: which deliveries trim their timeline (trim_counter.hpp), with the
// counts in shared memory when feed is in shared_preload_libraries.
//
// Preloaded, a timeline is trimmed by every kTrimEvery-th delivery into it
// (docs/feed.md, "Trimming and inactive users"). Not preloaded there is no
// shared count, and every delivery trims: the same bound, strictly, at a
// higher cost per delivery.
#pragma once

#include <cstdint>
#include <vector>

namespace casebook::feed::trim_schedule {

// From _PG_init: the GUC feed.trim_users, the shared table when preloading,
// and the transaction callbacks.
void install();

// Counts a delivery into each of `users`' timelines (this database) and
// returns those the delivery must trim, in the order given. They are
// remembered to the end of the transaction: if it (or a subtransaction)
// rolls back, their trims are undone, and so their next delivery trims.
std::vector<int64_t> due(const std::vector<int64_t>& users);

// Forgets the counts of this database (CREATE EXTENSION: the user ids
// start over). Each of its users' next delivery trims.
void forget_database();

}  // namespace casebook::feed::trim_schedule
