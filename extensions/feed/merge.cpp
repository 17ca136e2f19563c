// feed: the home feed's k-way merge (see merge.hpp).
#include "merge.hpp"

namespace casebook::feed {

Merger::Merger(std::vector<Source> sources) : sources_(std::move(sources)) {
    for (std::size_t s = 0; s < sources_.size(); ++s)
        if (auto e = sources_[s]()) heap_.push(Head{*e, s});
}

std::optional<Entry> Merger::next() {
    while (!heap_.empty()) {
        Head h = heap_.top();
        heap_.pop();
        if (auto e = sources_[h.source]()) heap_.push(Head{*e, h.source});
        // One post from two sources: equal keys come out one after the other.
        if (last_ && last_->post_id == h.entry.post_id && last_->created_at == h.entry.created_at) continue;
        last_ = h.entry;
        return h.entry;
    }
    return std::nullopt;
}

}  // namespace casebook::feed
