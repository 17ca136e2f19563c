// commerce: the pure decisions behind stock buckets, carts and order status.
// No PostgreSQL headers: unit-tested in test/unit/.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace casebook::commerce {

inline constexpr int32_t kMaxBuckets = 1024;
inline constexpr std::size_t kMaxCartLines = 1000;

// One stock row of a variant as read under lock.
struct Bucket {
    int32_t bucket = 0;
    int64_t quantity = 0;
    int64_t reserved = 0;
    int64_t available() const { return quantity - reserved; }
};

// Change a bucket's physical quantity by delta (stock moving between buckets).
struct Move {
    int32_t bucket = 0;
    int64_t delta = 0;
    bool operator==(const Move&) const = default;
};

// How to take `qty` units from a variant whose buckets are all locked.
struct ReservationPlan {
    bool possible = false;
    int32_t bucket = -1;          // the bucket the hold is taken from
    std::vector<Move> moves;      // applied first; they sum to zero
    int64_t total_available = 0;  // over all buckets
};

// Chooses the bucket for a hold of qty (> 0). If no single bucket has qty
// available but all buckets together do, stock moves into the active bucket
// (number < nbuckets) with the most available, taking from the fullest
// donors first. possible = false only when the total is short.
ReservationPlan plan_reservation(const std::vector<Bucket>& buckets, int64_t qty, int32_t nbuckets);

// Spreads qty (> 0) new units over the active buckets, evenly, lowest bucket
// numbers taking the remainder. Throws casebook::Error (22003) when a bucket
// would exceed the int32 range.
std::vector<Move> plan_restock(const std::vector<Bucket>& buckets, int64_t qty, int32_t nbuckets);

// Units coming back (a cancelled order): they must always find room. Fills
// the active buckets with room first, then the draining ones, each up to
// 2,147,483,647 units; what fits nowhere is `spill`, for new buckets the
// caller adds. Never throws.
struct ReturnPlan {
    std::vector<Move> moves;
    int64_t spill = 0;
};
ReturnPlan plan_return(const std::vector<Bucket>& buckets, int64_t qty, int32_t nbuckets);

// New layout for set_buckets(n): every bucket keeps its reserved units; the
// total available is spread evenly over buckets 0..n-1; buckets >= n keep
// only their reserved units (draining) and disappear when they hold none.
struct BucketTarget {
    int32_t bucket = 0;
    int64_t quantity = 0;
    int64_t reserved = 0;
    bool exists = false;   // a row is there now
    bool keep = true;      // false: delete the row
    bool operator==(const BucketTarget&) const = default;
};
std::vector<BucketTarget> plan_buckets(const std::vector<Bucket>& buckets, int32_t n);

// A cart line after normalization.
struct CartLine {
    int64_t variant = 0;
    int64_t quantity = 0;
    bool operator==(const CartLine&) const = default;
};
// Sorts by variant (the global lock order) and merges repeated variants.
// Throws casebook::Error 22023 for empty input, length mismatch, too many
// lines, non-positive quantities, or merged totals beyond int32.
std::vector<CartLine> normalize_cart(const std::vector<int64_t>& variants,
                                     const std::vector<int64_t>& quantities);

enum class OrderStatus { pending, paid, shipped, delivered, cancelled };
std::optional<OrderStatus> parse_order_status(std::string_view name);
std::string_view order_status_name(OrderStatus s);
// pending -> paid -> shipped -> delivered; pending|paid -> cancelled.
bool transition_allowed(OrderStatus from, OrderStatus to);

}  // namespace casebook::commerce
