#include "georoute/ids.hpp"

namespace casebook::georoute::ids {

namespace {
constexpr int kMinterShift = kSequenceBits;                // 49
constexpr int kHomeShift = kSequenceBits + kRegionBits;    // 56
constexpr std::int64_t kRegionMask = kMaxRegion;

bool region_ok(int r) { return r >= 1 && r <= kMaxRegion; }
}  // namespace

std::optional<std::int64_t> make(const Parts& p) {
    if (!region_ok(p.home) || !region_ok(p.minter) || p.sequence < 0 || p.sequence > kMaxSequence)
        return std::nullopt;
    return (static_cast<std::int64_t>(p.home) << kHomeShift) | (static_cast<std::int64_t>(p.minter) << kMinterShift) |
           p.sequence;
}

std::optional<Parts> split(std::int64_t id) {
    if (id <= 0) return std::nullopt;
    Parts p{static_cast<int>((id >> kHomeShift) & kRegionMask), static_cast<int>((id >> kMinterShift) & kRegionMask),
            id & kMaxSequence};
    if (!region_ok(p.home) || !region_ok(p.minter)) return std::nullopt;
    return p;
}

}  // namespace casebook::georoute::ids
