// commerce: stock rows and holds (see stock.hpp and docs/commerce.md).
//
// Lock order, everywhere: a variant's product_variants row (set_buckets only),
// then reservation rows, then stock rows in (variant_id, bucket) order. Holds
// on different buckets never wait for each other: the fast path takes any
// bucket with enough stock that nobody else has locked (SKIP LOCKED).
#include "stock.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <string>

#include "direct_hold.hpp"
#include "errcodes.hpp"

extern "C" {
#include "utils/array.h"
}

namespace casebook::commerce {
namespace {

using spi::Statement;

// Single-bucket variants (the common case): the row is bucket 0. The
// nbuckets = 1 test makes this a no-op for a bucketed variant, which then
// takes the bucket-picking path below.
#define CB_SINGLE_BUCKET                                                            \
    "WITH upd AS ("                                                                 \
    "  UPDATE commerce.stock SET reserved = reserved + $2"                          \
    "   WHERE variant_id = $1 AND bucket = 0 AND nbuckets = 1"                      \
    "     AND quantity - reserved >= $2"                                            \
    "  RETURNING variant_id, bucket)"

// Bucketed variants: one statement picks an unlocked bucket with enough
// stock (SKIP LOCKED: concurrent holds on a hot item take different rows),
// raises its reserved count and writes the hold. The UPDATE matches the
// picked key, not its ctid, so its own concurrent-update recheck applies.
#define CB_PICK_BUCKET                                                              \
    "WITH upd AS ("                                                                 \
    "  UPDATE commerce.stock SET reserved = reserved + $2"                          \
    "   WHERE (variant_id, bucket) = (SELECT variant_id, bucket FROM commerce.stock"\
    "                  WHERE variant_id = $1 AND quantity - reserved >= $2"         \
    "                  ORDER BY (bucket + $3) % nbuckets, bucket"                   \
    "                  LIMIT 1 FOR UPDATE SKIP LOCKED)"                             \
    "     AND quantity - reserved >= $2"                                            \
    "  RETURNING variant_id, bucket)"

// The same at a given bucket ($3), after the slow path locked every bucket.
#define CB_AT_BUCKET                                                                \
    "WITH upd AS ("                                                                 \
    "  UPDATE commerce.stock SET reserved = reserved + $2"                          \
    "   WHERE variant_id = $1 AND bucket = $3 AND quantity - reserved >= $2"        \
    "  RETURNING variant_id, bucket)"

#define CB_INSERT_HOLD                                                              \
    " INSERT INTO commerce.reservations"                                            \
    "   (variant_id, bucket, quantity, expires_at, cart_id, idempotency_key)"       \
    " SELECT variant_id, bucket, $2, statement_timestamp() + $4, $5, $6 FROM upd"

// Without a key: returns (bucket, id). With a key a concurrent twin may have
// won: the row comes back with id NULL and the caller undoes its reserved
// units.
#define CB_KEYED_HOLD                                                               \
    ", ins AS (" CB_INSERT_HOLD                                                     \
    "   ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING" \
    "   RETURNING id)"                                                              \
    " SELECT upd.bucket, (SELECT id FROM ins) FROM upd"

Statement kHoldSingle{CB_SINGLE_BUCKET CB_INSERT_HOLD " RETURNING bucket, id",
                      {INT8OID, INT4OID, INT4OID, INTERVALOID, INT8OID, TEXTOID}};
Statement kHoldSingleKeyed{CB_SINGLE_BUCKET CB_KEYED_HOLD,
                           {INT8OID, INT4OID, INT4OID, INTERVALOID, INT8OID, TEXTOID}};
Statement kHoldFast{CB_PICK_BUCKET CB_INSERT_HOLD " RETURNING bucket, id",
                    {INT8OID, INT4OID, INT4OID, INTERVALOID, INT8OID, TEXTOID}};
Statement kHoldFastKeyed{CB_PICK_BUCKET CB_KEYED_HOLD,
                         {INT8OID, INT4OID, INT4OID, INTERVALOID, INT8OID, TEXTOID}};
Statement kHoldAt{CB_AT_BUCKET CB_INSERT_HOLD " RETURNING bucket, id",
                  {INT8OID, INT4OID, INT4OID, INTERVALOID, INT8OID, TEXTOID}};
Statement kHoldAtKeyed{CB_AT_BUCKET CB_KEYED_HOLD,
                       {INT8OID, INT4OID, INT4OID, INTERVALOID, INT8OID, TEXTOID}};

Statement kFindKey{
    "SELECT id, variant_id, quantity, cart_id FROM commerce.reservations"
    " WHERE idempotency_key = $1",
    {TEXTOID}};
Statement kLockAll{
    "SELECT bucket, quantity, reserved, nbuckets FROM commerce.stock"
    " WHERE variant_id = $1 ORDER BY bucket FOR UPDATE",
    {INT8OID}};
Statement kMoveQuantity{
    "UPDATE commerce.stock SET quantity = quantity + $3 WHERE variant_id = $1 AND bucket = $2",
    {INT8OID, INT4OID, INT8OID}};
Statement kUnreserve{
    "UPDATE commerce.stock SET reserved = reserved - $3 WHERE variant_id = $1 AND bucket = $2",
    {INT8OID, INT4OID, INT8OID}};
Statement kSell{
    "UPDATE commerce.stock SET quantity = quantity - $3, reserved = reserved - $3"
    " WHERE variant_id = $1 AND bucket = $2",
    {INT8OID, INT4OID, INT8OID}};
Statement kAvailable{
    "SELECT sum(quantity - reserved)::int8, count(*) FROM commerce.stock WHERE variant_id = $1",
    {INT8OID}};
Statement kLockVariant{
    "SELECT 1 FROM commerce.product_variants WHERE id = $1 FOR NO KEY UPDATE", {INT8OID}};
Statement kSetBucket{
    "UPDATE commerce.stock SET quantity = $3, nbuckets = $4 WHERE variant_id = $1 AND bucket = $2",
    {INT8OID, INT4OID, INT8OID, INT4OID}};
Statement kAddBucket{
    "INSERT INTO commerce.stock (variant_id, bucket, nbuckets, quantity, reserved)"
    " VALUES ($1, $2, $4, $3, 0)",
    {INT8OID, INT4OID, INT8OID, INT4OID}};
Statement kDropBucket{
    "DELETE FROM commerce.stock WHERE variant_id = $1 AND bucket = $2 AND reserved = 0",
    {INT8OID, INT4OID}};
Statement kLockReservation{
    "SELECT variant_id, bucket, quantity, status::text, expires_at <= statement_timestamp()"
    "  FROM commerce.reservations WHERE id = $1 FOR UPDATE",
    {INT8OID}};
Statement kCloseReservation{
    "UPDATE commerce.reservations SET status = $2::commerce.hold_status, closed_at = statement_timestamp()"
    " WHERE id = $1",
    {INT8OID, TEXTOID}};
Statement kExpireDue{
    "WITH due AS ("
    "  SELECT id FROM commerce.reservations"
    "   WHERE status = 'held' AND expires_at <= statement_timestamp()"
    "   ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " UPDATE commerce.reservations r SET status = 'expired', closed_at = statement_timestamp()"
    "   FROM due WHERE r.id = due.id"
    " RETURNING r.variant_id, r.bucket, r.quantity, r.cart_id",
    {INT4OID}};
Statement kAbandonCarts{
    "UPDATE commerce.carts c SET status = 'abandoned', updated_at = statement_timestamp()"
    " WHERE c.id = ANY ($1) AND c.status = 'open'"
    "   AND NOT EXISTS (SELECT 1 FROM commerce.reservations r"
    "                    WHERE r.cart_id = c.id AND r.status = 'held')",
    {INT8ARRAYOID}};

[[noreturn]] void unknown_variant(int64_t variant) {
    throw Error(errcodes::unknown_variant,
                "variant " + std::to_string(variant) + " does not exist",
                "No stock row belongs to this variant id.",
                "Create the variant in commerce.product_variants first; its stock row comes with it.");
}

[[noreturn]] void unknown_reservation(int64_t id) {
    throw Error(errcodes::unknown_reservation, "reservation " + std::to_string(id) + " does not exist");
}

std::string q(const std::string& s) { return "\"" + s + "\""; }

Datum int8_array_datum(const std::vector<int64_t>& values) {
    // Plain array for the guarded region.
    std::vector<Datum> datums(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) datums[i] = Int64GetDatum(values[i]);
    Datum* data = datums.data();
    int n = static_cast<int>(datums.size());
    ArrayType* arr = pg::guard([&] {
        return construct_array(data, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
    });
    return PointerGetDatum(arr);
}

}  // namespace

int32_t BucketHints::nbuckets(int64_t variant) const {
    auto it = hints_.find(variant);
    return it == hints_.end() ? 0 : it->second;
}

void BucketHints::remember(int64_t variant, int32_t nbuckets) {
    if (nbuckets <= 0) return;
    if (hints_.size() >= kMaxEntries) hints_.clear();  // bounded memory per backend
    hints_[variant] = nbuckets;
}

Stock::Direct Stock::take_direct(const HoldRequest& req) {
    const int64_t variant = req.variant;
    const auto qty = static_cast<int32_t>(req.quantity);
    const Datum hold = req.hold;
    int32_t nb = bucket_hints_.nbuckets(variant);
    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool bucketed = nb > 1;
        const int32_t home = bucketed ? static_cast<int32_t>(MyProcPid % nb) : 0;
        direct::HoldResult r = pg::guard([&] { return direct::take_hold(variant, qty, hold, bucketed, home); });
        if (r.status == direct::HoldStatus::unsupported) return {false, std::nullopt};
        bucket_hints_.remember(variant, r.nbuckets);
        if (r.status == direct::HoldStatus::taken) return {true, r.id};
        // A variant thought to have one bucket that has several: once more,
        // among its buckets.
        if (bucketed || r.nbuckets <= 1) break;
        nb = r.nbuckets;
    }
    return {true, std::nullopt};
}

BucketHints Stock::bucket_hints_;

std::optional<int64_t> Stock::existing_for_key(const HoldRequest& req) {
    auto rows = spi_.execute(kFindKey, {spi::text_param(*req.idempotency_key)}, false, 1);
    if (rows.empty()) return std::nullopt;
    int64_t id = rows.int8_at(0, 1);
    int64_t variant = rows.int8_at(0, 2);
    int64_t quantity = rows.int4_at(0, 3);
    auto cart = rows.int8(0, 4);
    if (variant != req.variant || quantity != req.quantity || cart != req.cart)
        throw Error(errcodes::idempotency_key_reused,
                    "idempotency key " + q(*req.idempotency_key) + " was already used for another hold",
                    "Reservation " + std::to_string(id) + " holds " + std::to_string(quantity) +
                        " of variant " + std::to_string(variant) + "; this call asks for " +
                        std::to_string(req.quantity) + " of variant " + std::to_string(req.variant) + ".",
                    "Use a new key for a different request.");
    return id;
}

Stock::Taken Stock::take_fast(const HoldRequest& req, bool single) {
    Statement& stmt = single ? (req.idempotency_key ? kHoldSingleKeyed : kHoldSingle)
                             : (req.idempotency_key ? kHoldFastKeyed : kHoldFast);
    auto rows = spi_.execute(stmt,
                             {spi::int8_param(req.variant), spi::int4_param(static_cast<int32_t>(req.quantity)),
                              spi::int4_param(MyProcPid), spi::datum_param(req.hold),
                              req.cart ? spi::int8_param(*req.cart) : spi::null_param(),
                              spi::optional_text_param(req.idempotency_key)});
    if (rows.empty()) return {};
    return {true, rows.int4_at(0, 1), rows.int8(0, 2)};
}

Stock::Taken Stock::take_at(const HoldRequest& req, int32_t bucket) {
    Statement& stmt = req.idempotency_key ? kHoldAtKeyed : kHoldAt;
    auto rows = spi_.execute(stmt,
                             {spi::int8_param(req.variant), spi::int4_param(static_cast<int32_t>(req.quantity)),
                              spi::int4_param(bucket), spi::datum_param(req.hold),
                              req.cart ? spi::int8_param(*req.cart) : spi::null_param(),
                              spi::optional_text_param(req.idempotency_key)});
    if (rows.empty()) return {};
    return {true, rows.int4_at(0, 1), rows.int8(0, 2)};
}

int64_t Stock::finish_taken(const HoldRequest& req, const Taken& t) {
    if (t.id) return *t.id;
    // A concurrent call with the same key committed first: give our units
    // back and answer with its reservation.
    unreserve_units(req.variant, t.bucket, req.quantity);
    auto existing = existing_for_key(req);
    if (!existing)
        throw Error(errcodes::internal_error, "idempotency key conflict without a stored reservation");
    return *existing;
}

Stock::Locked Stock::lock_all(int64_t variant) {
    auto rows = spi_.execute(kLockAll, {spi::int8_param(variant)});
    Locked locked;
    for (uint64_t i = 0; i < rows.size(); ++i) {
        locked.buckets.push_back({rows.int4_at(i, 1), rows.int4_at(i, 2), rows.int4_at(i, 3)});
        locked.nbuckets = std::max(locked.nbuckets, rows.int4_at(i, 4));
    }
    return locked;
}

void Stock::apply_moves(int64_t variant, const std::vector<Move>& moves) {
    // Donors (negative deltas) first, so no row ever holds more than before.
    std::vector<Move> ordered = moves;
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const Move& a, const Move& b) { return a.delta < b.delta; });
    for (const auto& m : ordered)
        if (m.delta != 0)
            spi_.execute(kMoveQuantity, {spi::int8_param(variant), spi::int4_param(m.bucket),
                                         spi::int8_param(m.delta)});
}

int64_t Stock::hold(const HoldRequest& req) {
    if (req.idempotency_key)
        if (auto existing = existing_for_key(req)) return *existing;

    // Plain holds (no key, no cart) take the direct path first; it leaves
    // nothing behind when it cannot take the hold. When it ran and found no
    // lockable bucket with enough stock, the SQL fast path would find none
    // either: go to the slow path.
    if (!req.idempotency_key && !req.cart) {
        Direct d = take_direct(req);
        if (d.id) return *d.id;
        if (d.ran) return hold_slow(req);
    }

    // Which statement to try first: a per-backend hint of whether the variant
    // is bucketed. A wrong or missing hint only costs one no-op statement.
    const bool bucketed = bucket_hints_.bucketed(req.variant);
    if (!bucketed) {
        if (Taken t = take_fast(req, true); t.taken) return finish_taken(req, t);
    }
    if (Taken t = take_fast(req, false); t.taken) {
        // The single-bucket statement changed nothing but this one found
        // stock: the variant is bucketed. (A variant set back to one bucket
        // is noticed by the slow path.)
        bucket_hints_.remember(req.variant, std::max(bucket_hints_.nbuckets(req.variant), 2));
        return finish_taken(req, t);
    }
    return hold_slow(req);
}

int64_t Stock::hold_slow(const HoldRequest& req) {
    // Slow path: no unlocked bucket has enough. Lock every bucket (waiting
    // for in-flight holds), move stock together if needed, take the hold.
    // The second round reads with a new snapshot, so buckets that a
    // concurrent set_buckets committed while we waited are counted too.
    int64_t total = 0;
    for (int round = 0; round < 2; ++round) {
        Locked locked = lock_all(req.variant);
        if (locked.buckets.empty()) unknown_variant(req.variant);
        bucket_hints_.remember(req.variant, locked.nbuckets);
        ReservationPlan plan = plan_reservation(locked.buckets, req.quantity, locked.nbuckets);
        total = plan.total_available;
        if (!plan.possible) continue;
        apply_moves(req.variant, plan.moves);
        Taken t = take_at(req, plan.bucket);
        if (!t.taken)
            throw Error(errcodes::internal_error, "stock changed under lock for variant " +
                                                      std::to_string(req.variant));
        return finish_taken(req, t);
    }
    throw Error(errcodes::insufficient_stock,
                "insufficient stock for variant " + std::to_string(req.variant) + ": " +
                    std::to_string(total) + " available, " + std::to_string(req.quantity) + " requested",
                "Nothing was reserved.", "Reserve fewer units or restock the variant.");
}

int64_t Stock::restock(int64_t variant, int64_t qty) {
    if (qty <= 0)
        throw Error(errcodes::invalid_parameter_value,
                    "restock quantity must be positive, got " + std::to_string(qty));
    Locked locked = lock_all(variant);
    if (locked.buckets.empty()) unknown_variant(variant);
    apply_moves(variant, plan_restock(locked.buckets, qty, locked.nbuckets));
    int64_t available = qty;
    for (const auto& b : locked.buckets) available += b.available();
    return available;
}

void Stock::give_back(int64_t variant, int64_t qty) {
    if (qty <= 0) return;
    Locked locked = lock_all(variant);
    if (locked.buckets.empty()) unknown_variant(variant);
    ReturnPlan plan = plan_return(locked.buckets, qty, locked.nbuckets);
    apply_moves(variant, plan.moves);
    // Every bucket full: new ones (numbers not in use), each as full as it
    // can be. They are outside 0..nbuckets-1, so they drain first.
    auto in_use = [&](int32_t n) {
        for (const auto& b : locked.buckets)
            if (b.bucket == n) return true;
        return false;
    };
    int32_t next = 0;
    while (plan.spill > 0) {
        while (next < kMaxBuckets && in_use(next)) ++next;
        if (next >= kMaxBuckets)
            throw Error(errcodes::numeric_value_out_of_range,
                        "no room for " + std::to_string(plan.spill) + " returned units of variant " +
                            std::to_string(variant),
                        "Every one of the " + std::to_string(kMaxBuckets) + " stock buckets is full.");
        int64_t add = std::min<int64_t>(plan.spill, std::numeric_limits<int32_t>::max());
        spi_.execute(kAddBucket, {spi::int8_param(variant), spi::int4_param(next), spi::int8_param(add),
                                  spi::int4_param(locked.nbuckets)});
        locked.buckets.push_back(Bucket{next, add, 0});
        plan.spill -= add;
    }
}

int64_t Stock::available(int64_t variant) {
    auto rows = spi_.execute(kAvailable, {spi::int8_param(variant)}, true);
    if (rows.int8_at(0, 2) == 0) unknown_variant(variant);
    return rows.int8_at(0, 1);
}

int32_t Stock::set_buckets(int64_t variant, int32_t n) {
    if (n < 1 || n > kMaxBuckets)
        throw Error(errcodes::invalid_parameter_value,
                    "bucket count must be between 1 and " + std::to_string(kMaxBuckets) + ", got " +
                        std::to_string(n));
    // Serializes set_buckets calls on one variant, so the rows we lock next
    // include every bucket a previous call created.
    if (spi_.execute(kLockVariant, {spi::int8_param(variant)}).empty()) unknown_variant(variant);
    Locked locked = lock_all(variant);
    if (locked.buckets.empty()) unknown_variant(variant);
    auto targets = plan_buckets(locked.buckets, n);
    // Shrinking rows first, then growing and new ones.
    std::stable_sort(targets.begin(), targets.end(), [&](const BucketTarget& a, const BucketTarget& b) {
        auto grow = [&](const BucketTarget& t) {
            for (const auto& old : locked.buckets)
                if (old.bucket == t.bucket) return t.quantity > old.quantity;
            return true;
        };
        return !grow(a) && grow(b);
    });
    for (const auto& t : targets) {
        if (!t.keep) {
            spi_.execute(kDropBucket, {spi::int8_param(variant), spi::int4_param(t.bucket)});
        } else if (t.exists) {
            spi_.execute(kSetBucket, {spi::int8_param(variant), spi::int4_param(t.bucket),
                                      spi::int8_param(t.quantity), spi::int4_param(n)});
        } else {
            spi_.execute(kAddBucket, {spi::int8_param(variant), spi::int4_param(t.bucket),
                                      spi::int8_param(t.quantity), spi::int4_param(n)});
        }
    }
    return n;
}

namespace {
HeldReservation lock_reservation(spi::Connection& spi, int64_t id) {
    auto rows = spi.execute(kLockReservation, {spi::int8_param(id)});
    if (rows.empty()) unknown_reservation(id);
    return {id, rows.int8_at(0, 1), rows.int4_at(0, 2), rows.int4_at(0, 3),
            rows.text(0, 4).value_or(""), rows.boolean(0, 5).value_or(false)};
}

[[noreturn]] void not_held(const HeldReservation& r) {
    throw Error(errcodes::reservation_not_held,
                "reservation " + std::to_string(r.id) + " is " + r.status + ", not held",
                "Only a held reservation can be confirmed or released.");
}
}  // namespace

void Stock::confirm(int64_t reservation) {
    HeldReservation r = lock_reservation(spi_, reservation);
    if (r.status != "held") not_held(r);
    if (r.expired)
        throw Error(errcodes::reservation_expired,
                    "reservation " + std::to_string(r.id) + " has expired",
                    "Its hold ran out before it was confirmed; the units go back to stock.",
                    "Reserve again.");
    sell_units(r.variant, r.bucket, r.quantity);
    spi_.execute(kCloseReservation, {spi::int8_param(r.id), spi::text_param("confirmed")});
}

void Stock::release(int64_t reservation) {
    HeldReservation r = lock_reservation(spi_, reservation);
    if (r.status != "held") not_held(r);
    unreserve_units(r.variant, r.bucket, r.quantity);
    spi_.execute(kCloseReservation, {spi::int8_param(r.id), spi::text_param("released")});
}

int32_t Stock::expire(int32_t max_holds) {
    if (max_holds < 1)
        throw Error(errcodes::invalid_parameter_value,
                    "max_holds must be positive, got " + std::to_string(max_holds));
    auto rows = spi_.execute(kExpireDue, {spi::int4_param(max_holds)});
    // Sum per stock row, then touch the rows in lock order.
    std::map<std::pair<int64_t, int32_t>, int64_t> units;
    std::vector<int64_t> carts;
    const auto expired = static_cast<int32_t>(rows.size());
    for (uint64_t i = 0; i < rows.size(); ++i) {
        units[{rows.int8_at(i, 1), rows.int4_at(i, 2)}] += rows.int4_at(i, 3);
        if (auto cart = rows.int8(i, 4)) carts.push_back(*cart);
    }
    for (const auto& [key, qty] : units) unreserve_units(key.first, key.second, qty);
    if (!carts.empty()) {
        std::sort(carts.begin(), carts.end());
        carts.erase(std::unique(carts.begin(), carts.end()), carts.end());
        spi_.execute(kAbandonCarts, {spi::datum_param(int8_array_datum(carts))});
    }
    return expired;
}

void Stock::sell_units(int64_t variant, int32_t bucket, int64_t qty) {
    spi_.execute(kSell, {spi::int8_param(variant), spi::int4_param(bucket), spi::int8_param(qty)});
}

void Stock::unreserve_units(int64_t variant, int32_t bucket, int64_t qty) {
    spi_.execute(kUnreserve, {spi::int8_param(variant), spi::int4_param(bucket), spi::int8_param(qty)});
}

}  // namespace casebook::commerce
