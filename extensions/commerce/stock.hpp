// commerce: stock rows and holds, through SPI with kept plans.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "spi.hpp"
#include "stock_plan.hpp"

namespace casebook::commerce {

// What a hold request asks for.
struct HoldRequest {
    int64_t variant = 0;
    int64_t quantity = 0;
    Datum hold = 0;                        // interval, > 0
    std::optional<int64_t> cart;           // the cart the hold belongs to
    std::optional<std::string> idempotency_key;
};

// Per backend: how many buckets each variant had when last seen. It only
// chooses which fast path to try first (and where a backend starts among the
// buckets); a stale entry costs one attempt that changes nothing, never a
// wrong result.
class BucketHints {
public:
    int32_t nbuckets(int64_t variant) const;  // 0 = not seen yet
    bool bucketed(int64_t variant) const { return nbuckets(variant) > 1; }
    void remember(int64_t variant, int32_t nbuckets);

private:
    static constexpr std::size_t kMaxEntries = 65536;
    std::unordered_map<int64_t, int32_t> hints_;
};

class Stock {
public:
    explicit Stock(spi::Connection& spi) : spi_(spi) {}

    // Takes a hold; returns the reservation id (an existing one for a
    // repeated idempotency key). Raises KB101/KB102/KB106.
    int64_t hold(const HoldRequest& req);

    // Adds units spread over the variant's buckets; returns new available.
    int64_t restock(int64_t variant, int64_t qty);
    // Units of a cancelled order back into stock: never fails for lack of
    // room (stock_plan.hpp, plan_return; new buckets take what fits nowhere).
    void give_back(int64_t variant, int64_t qty);
    int64_t available(int64_t variant);
    int32_t set_buckets(int64_t variant, int32_t n);

    // Reservation life cycle.
    void confirm(int64_t reservation);
    void release(int64_t reservation);
    int32_t expire(int32_t max_holds);

    // Lower-level steps shared with checkout.
    void sell_units(int64_t variant, int32_t bucket, int64_t qty);      // quantity and reserved drop
    void unreserve_units(int64_t variant, int32_t bucket, int64_t qty); // reserved drops

private:
    struct Locked {
        std::vector<Bucket> buckets;
        int32_t nbuckets = 1;
    };
    Locked lock_all(int64_t variant);
    // Runs a hold statement; returns {taken, reservation id (nullopt on key conflict)}.
    struct Taken {
        bool taken = false;
        int32_t bucket = -1;
        std::optional<int64_t> id;
    };
    Taken take_fast(const HoldRequest& req, bool single);
    struct Direct {
        bool ran = false;             // false: the direct path does not apply here
        std::optional<int64_t> id;    // the hold, when taken
    };
    Direct take_direct(const HoldRequest& req);
    int64_t hold_slow(const HoldRequest& req);
    Taken take_at(const HoldRequest& req, int32_t bucket);
    int64_t finish_taken(const HoldRequest& req, const Taken& t);
    std::optional<int64_t> existing_for_key(const HoldRequest& req);
    void apply_moves(int64_t variant, const std::vector<Move>& moves);

    spi::Connection& spi_;
    static BucketHints bucket_hints_;
};

// A hold's state as read under lock.
struct HeldReservation {
    int64_t id = 0;
    int64_t variant = 0;
    int32_t bucket = 0;
    int64_t quantity = 0;
    std::string status;
    bool expired = false;
};

}  // namespace casebook::commerce
