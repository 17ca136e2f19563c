// feed: the extension's settings (GUCs, defined in feed.cpp's _PG_init).
#pragma once

#include <cstdint>

namespace casebook::feed {

struct Settings {
    int celebrity_threshold;  // feed.celebrity_threshold: followers from which posts are pulled, not pushed
    int timeline_max;         // feed.timeline_max: entries a timeline keeps
    int inactive_after_s;     // feed.inactive_after: fan-out skips users not seen for this long
    int fanout_sync_max;      // feed.fanout_sync_max: fan-outs up to this many followers run in the posting transaction
    int fanout_batch;         // feed.fanout_batch: followers per background batch
    int follow_backfill;      // feed.follow_backfill: recent posts copied into a new follower's timeline
    int cursor_ttl_s;         // feed.cursor_ttl: how long a home() cursor stays valid
    bool fanout_worker;       // feed.fanout_worker: start the background worker after a commit that queued a job
};

const Settings& settings();

// Every kTrimEvery-th delivery into a timeline trims it back to
// timeline_max (trim_schedule.hpp): trimming costs a walk of the timeline's
// index entries, so it is amortized over deliveries.
constexpr int kTrimEvery = 32;

}  // namespace casebook::feed
