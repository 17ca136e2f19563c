// georoute: 64-bit ids that carry their home region, so that any id is
// routed by arithmetic, without a lookup.
//
// Layout of a (positive) bigint id, most significant bit first:
//   bit  63      0 (ids are positive)
//   bits 62..56  home region number, 1..127: where the row lives
//   bits 55..49  minting region number, 1..127: the cluster that made the id
//   bits 48..0   sequence number of the minting cluster, 0 .. 2^49 - 1
// Every cluster mints from a sequence of its own, so two clusters never
// make the same id, for any home region, without talking to each other;
// 2^49 (5.6e14) ids per cluster. Ids of one cluster for one region grow with
// its sequence. Region numbers are the registry's (georoute.regions), the
// same in every cluster.
#pragma once

#include <cstdint>
#include <optional>

namespace casebook::georoute::ids {

inline constexpr int kRegionBits = 7;
inline constexpr int kSequenceBits = 49;
inline constexpr int kMaxRegion = (1 << kRegionBits) - 1;            // 127
inline constexpr std::int64_t kMaxSequence = (std::int64_t{1} << kSequenceBits) - 1;

struct Parts {
    int home;              // 1..127
    int minter;            // 1..127
    std::int64_t sequence; // 0..kMaxSequence
};

// The id of these parts; std::nullopt when a part is out of range.
std::optional<std::int64_t> make(const Parts& parts);

// The parts of an id; std::nullopt for a value no make() returns
// (zero or negative, or a region number 0).
std::optional<Parts> split(std::int64_t id);

}  // namespace casebook::georoute::ids
