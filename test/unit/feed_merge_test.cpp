// feed: the home feed's k-way merge (extensions/feed/merge.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "merge.hpp"

using namespace casebook::feed;

namespace {

Source from(std::vector<Entry> entries, int* reads = nullptr) {
    auto data = std::make_shared<std::vector<Entry>>(std::move(entries));
    auto pos = std::make_shared<std::size_t>(0);
    return [data, pos, reads]() -> std::optional<Entry> {
        if (*pos == data->size()) return std::nullopt;
        if (reads) ++*reads;
        return (*data)[(*pos)++];
    };
}

// At most `limit` entries newest first; `keep` may drop one (not counted),
// as feed.home takes them from the merger.
std::vector<Entry> merge_newest(std::vector<Source> sources, std::size_t limit,
                                const std::function<bool(const Entry&)>& keep) {
    Merger m(std::move(sources));
    std::vector<Entry> out;
    while (out.size() < limit) {
        auto e = m.next();
        if (!e) break;
        if (keep(*e)) out.push_back(*e);
    }
    return out;
}

std::vector<int64_t> ids(const std::vector<Entry>& es) {
    std::vector<int64_t> out;
    for (const auto& e : es) out.push_back(e.post_id);
    return out;
}

}  // namespace

TEST(FeedMerge, NewestFirstAcrossSourcesWithTiesBrokenByPostId) {
    std::vector<Source> s;
    s.push_back(from({{50, 5, 1, true}, {30, 3, 1, true}, {10, 1, 1, true}}));
    s.push_back(from({{40, 4, 2, false}, {30, 7, 2, false}, {20, 2, 2, false}}));
    auto out = merge_newest(std::move(s), 10, [](const Entry&) { return true; });
    EXPECT_EQ(ids(out), (std::vector<int64_t>{5, 4, 7, 3, 2, 1}));
}

TEST(FeedMerge, APostInTwoSourcesComesOnce) {
    // An author crossed the threshold: the post was fanned out and is pulled too.
    std::vector<Source> s;
    s.push_back(from({{30, 3, 9, true}, {20, 2, 9, true}}));
    s.push_back(from({{30, 3, 9, false}, {25, 8, 9, false}, {20, 2, 9, false}}));
    auto out = merge_newest(std::move(s), 10, [](const Entry&) { return true; });
    EXPECT_EQ(ids(out), (std::vector<int64_t>{3, 8, 2}));
}

TEST(FeedMerge, DroppedEntriesDoNotCountAndSourcesAreReadLazily) {
    int reads = 0;
    std::vector<Entry> many;
    for (int i = 100; i > 0; --i) many.push_back({i, i, 1, true});
    std::vector<Source> s;
    s.push_back(from(many, &reads));
    auto out = merge_newest(std::move(s), 3, [](const Entry& e) { return e.post_id % 2 == 0; });
    EXPECT_EQ(ids(out), (std::vector<int64_t>{100, 98, 96}));
    EXPECT_LE(reads, 7);  // 100..95 looked at, plus one ahead
}

// Randomized: the merge equals sorting the union (deduplicated) and cutting.
TEST(FeedMerge, MatchesSortedUnionOnRandomInputs) {
    std::mt19937_64 rng(42);
    for (int round = 0; round < 500; ++round) {
        int nsources = 1 + static_cast<int>(rng() % 6);
        std::set<std::pair<int64_t, int64_t>> all;
        std::vector<std::vector<Entry>> lists(nsources);
        for (int s = 0; s < nsources; ++s) {
            int n = static_cast<int>(rng() % 20);
            std::set<std::pair<int64_t, int64_t>> mine;
            for (int i = 0; i < n; ++i) {
                int64_t id = static_cast<int64_t>(rng() % 40);
                mine.insert({id * 3 % 17, id});  // created_at derived from id: one post, one time
            }
            for (auto it = mine.rbegin(); it != mine.rend(); ++it) lists[s].push_back({it->first, it->second, 0, true});
            all.insert(mine.begin(), mine.end());
        }
        std::size_t limit = 1 + rng() % 30;
        std::vector<Source> sources;
        for (auto& l : lists) sources.push_back(from(l));
        auto out = merge_newest(std::move(sources), limit, [](const Entry&) { return true; });
        std::vector<int64_t> expected;
        for (auto it = all.rbegin(); it != all.rend() && expected.size() < limit; ++it) expected.push_back(it->second);
        ASSERT_EQ(ids(out), expected) << "round " << round;
    }
}
