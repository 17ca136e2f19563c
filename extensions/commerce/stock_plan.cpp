// commerce: pure bucket, cart and status decisions (see stock_plan.hpp).
#include "stock_plan.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <string>

#include "errcodes.hpp"

namespace casebook::commerce {
namespace {

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

bool active(const Bucket& b, int32_t nbuckets) { return b.bucket < nbuckets; }

}  // namespace

ReservationPlan plan_reservation(const std::vector<Bucket>& buckets, int64_t qty, int32_t nbuckets) {
    ReservationPlan plan;
    for (const auto& b : buckets) plan.total_available += std::max<int64_t>(b.available(), 0);
    if (qty <= 0 || buckets.empty() || plan.total_available < qty) return plan;

    // A single bucket that suffices: prefer active ones, then the most available.
    const Bucket* best_single = nullptr;
    for (const auto& b : buckets) {
        if (b.available() < qty) continue;
        if (!best_single || (active(b, nbuckets) && !active(*best_single, nbuckets)) ||
            (active(b, nbuckets) == active(*best_single, nbuckets) &&
             b.available() > best_single->available()))
            best_single = &b;
    }
    if (best_single) {
        plan.possible = true;
        plan.bucket = best_single->bucket;
        return plan;
    }

    // Consolidate into the active bucket with the most available.
    const Bucket* target = nullptr;
    for (const auto& b : buckets)
        if (active(b, nbuckets) && (!target || b.available() > target->available())) target = &b;
    if (!target) target = &buckets.front();

    std::vector<const Bucket*> donors;
    for (const auto& b : buckets)
        if (&b != target && b.available() > 0) donors.push_back(&b);
    std::sort(donors.begin(), donors.end(), [](const Bucket* a, const Bucket* b) {
        return a->available() != b->available() ? a->available() > b->available()
                                                : a->bucket < b->bucket;
    });
    int64_t need = qty - std::max<int64_t>(target->available(), 0);
    int64_t gathered = 0;
    for (const Bucket* d : donors) {
        if (need <= 0) break;
        int64_t take = std::min(need, d->available());
        plan.moves.push_back({d->bucket, -take});
        gathered += take;
        need -= take;
    }
    plan.moves.push_back({target->bucket, gathered});
    plan.possible = true;
    plan.bucket = target->bucket;
    return plan;
}

std::vector<Move> plan_restock(const std::vector<Bucket>& buckets, int64_t qty, int32_t nbuckets) {
    std::vector<const Bucket*> targets;
    for (const auto& b : buckets)
        if (active(b, nbuckets)) targets.push_back(&b);
    if (targets.empty())
        for (const auto& b : buckets) targets.push_back(&b);
    std::vector<Move> moves;
    if (targets.empty() || qty <= 0) return moves;
    std::sort(targets.begin(), targets.end(),
              [](const Bucket* a, const Bucket* b) { return a->bucket < b->bucket; });
    const auto k = static_cast<int64_t>(targets.size());
    for (int64_t i = 0; i < k; ++i) {
        int64_t add = qty / k + (i < qty % k ? 1 : 0);
        if (add == 0) continue;
        if (targets[i]->quantity + add > kInt32Max)
            throw Error(errcodes::numeric_value_out_of_range,
                        "restock would put " + std::to_string(targets[i]->quantity + add) +
                            " units into one stock bucket",
                        "A bucket holds at most 2147483647 units.",
                        "Spread the stock with commerce.set_buckets() or restock less.");
        moves.push_back({targets[i]->bucket, add});
    }
    return moves;
}

ReturnPlan plan_return(const std::vector<Bucket>& buckets, int64_t qty, int32_t nbuckets) {
    ReturnPlan plan;
    if (qty <= 0) return plan;
    // An even spread over the active buckets where it fits (as a restock)...
    try {
        plan.moves = plan_restock(buckets, qty, nbuckets);
        if (!plan.moves.empty()) return plan;
    } catch (const Error&) {
        plan.moves.clear();
    }
    // ...else room wherever it is: active buckets first, then draining ones.
    std::vector<const Bucket*> order;
    for (const auto& b : buckets) order.push_back(&b);
    std::stable_sort(order.begin(), order.end(), [&](const Bucket* a, const Bucket* b) {
        if (active(*a, nbuckets) != active(*b, nbuckets)) return active(*a, nbuckets);
        return a->bucket < b->bucket;
    });
    int64_t left = qty;
    for (const Bucket* b : order) {
        if (left == 0) break;
        int64_t room = kInt32Max - b->quantity;
        if (room <= 0) continue;
        int64_t add = std::min(room, left);
        plan.moves.push_back({b->bucket, add});
        left -= add;
    }
    plan.spill = left;
    return plan;
}

std::vector<BucketTarget> plan_buckets(const std::vector<Bucket>& buckets, int32_t n) {
    std::map<int32_t, BucketTarget> out;
    int64_t total_available = 0;
    for (const auto& b : buckets) {
        total_available += std::max<int64_t>(b.available(), 0);
        out[b.bucket] = {b.bucket, b.reserved, b.reserved, true, true};
    }
    for (int32_t i = 0; i < n; ++i)
        if (!out.count(i)) out[i] = {i, 0, 0, false, true};
    for (int32_t i = 0; i < n; ++i) {
        int64_t share = total_available / n + (i < total_available % n ? 1 : 0);
        out[i].quantity += share;
        if (out[i].quantity > kInt32Max)
            throw Error(errcodes::numeric_value_out_of_range,
                        "set_buckets would put " + std::to_string(out[i].quantity) +
                            " units into one stock bucket",
                        "", "Use more buckets.");
    }
    std::vector<BucketTarget> result;
    for (auto& [bucket, t] : out) {
        if (bucket >= n && t.reserved == 0) t.keep = false;
        if (!t.keep && !t.exists) continue;
        result.push_back(t);
    }
    return result;
}

std::vector<CartLine> normalize_cart(const std::vector<int64_t>& variants,
                                     const std::vector<int64_t>& quantities) {
    if (variants.empty())
        throw Error(errcodes::invalid_parameter_value, "a cart needs at least one line");
    if (variants.size() != quantities.size())
        throw Error(errcodes::invalid_parameter_value,
                    "variants and quantities differ in length (" + std::to_string(variants.size()) +
                        " and " + std::to_string(quantities.size()) + ")",
                    "", "Pass one quantity per variant.");
    if (variants.size() > kMaxCartLines)
        throw Error(errcodes::invalid_parameter_value,
                    "a cart has at most " + std::to_string(kMaxCartLines) + " lines, got " +
                        std::to_string(variants.size()));
    std::map<int64_t, int64_t> merged;
    for (std::size_t i = 0; i < variants.size(); ++i) {
        if (quantities[i] <= 0)
            throw Error(errcodes::invalid_parameter_value,
                        "quantity must be positive, got " + std::to_string(quantities[i]) +
                            " for variant " + std::to_string(variants[i]));
        merged[variants[i]] += quantities[i];
        if (merged[variants[i]] > kInt32Max)
            throw Error(errcodes::numeric_value_out_of_range,
                        "cart quantity for variant " + std::to_string(variants[i]) +
                            " exceeds 2147483647");
    }
    std::vector<CartLine> lines;
    lines.reserve(merged.size());
    for (const auto& [v, q] : merged) lines.push_back({v, q});
    return lines;
}

namespace {
constexpr std::pair<OrderStatus, std::string_view> kStatusNames[] = {
    {OrderStatus::pending, "pending"},     {OrderStatus::paid, "paid"},
    {OrderStatus::shipped, "shipped"},     {OrderStatus::delivered, "delivered"},
    {OrderStatus::cancelled, "cancelled"},
};
}

std::optional<OrderStatus> parse_order_status(std::string_view name) {
    for (const auto& [s, n] : kStatusNames)
        if (n == name) return s;
    return std::nullopt;
}

std::string_view order_status_name(OrderStatus s) {
    for (const auto& [st, n] : kStatusNames)
        if (st == s) return n;
    return "unknown";
}

bool transition_allowed(OrderStatus from, OrderStatus to) {
    using S = OrderStatus;
    switch (from) {
        case S::pending: return to == S::paid || to == S::cancelled;
        case S::paid: return to == S::shipped || to == S::cancelled;
        case S::shipped: return to == S::delivered;
        case S::delivered: return false;
        case S::cancelled: return false;
    }
    return false;
}

}  // namespace casebook::commerce
