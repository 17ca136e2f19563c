// commerce: SQL entry points (declared in commerce--0.1.0.sql). Each one
// reads its arguments, opens one SPI connection and calls the C++ core.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "args.hpp"
#include "errcodes.hpp"
#include "pg_boundary.hpp"
#include "spi.hpp"
#include "stock.hpp"
#include "stock_plan.hpp"

extern "C" {
#include "commands/trigger.h"
#include "utils/datetime.h"

PG_MODULE_MAGIC;
}

using casebook::Error;
namespace errcodes = casebook::errcodes;
namespace args = casebook::args;
namespace spi = casebook::spi;
using namespace casebook::commerce;

namespace {

int32_t positive_quantity(FunctionCallInfo fcinfo, int n) {
    int32_t qty = args::int4(fcinfo, n, "qty");
    if (qty <= 0)
        throw Error(errcodes::invalid_parameter_value,
                    "quantity must be positive, got " + std::to_string(qty));
    return qty;
}

constexpr int kMaxHoldDays = 366;

Datum positive_hold(FunctionCallInfo fcinfo, int n) {
    Datum d = args::datum(fcinfo, n, "hold");
    const Interval* iv = DatumGetIntervalP(d);
    // The same 30-day month the interval comparison operators use.
    long double usecs = static_cast<long double>(iv->time) +
                        static_cast<long double>(iv->day) * USECS_PER_DAY +
                        static_cast<long double>(iv->month) * DAYS_PER_MONTH * USECS_PER_DAY;
    if (usecs <= 0)
        throw Error(errcodes::invalid_parameter_value, "hold must be a positive interval",
                    "", "Pass for example interval '15 minutes'.");
    // A hold is minutes to days; beyond a year it is a mistake (and far
    // enough, now() + hold overflows timestamptz: 22008 from deep inside).
    if (usecs > static_cast<long double>(kMaxHoldDays) * USECS_PER_DAY)
        throw Error(errcodes::invalid_parameter_value,
                    "hold must be at most " + std::to_string(kMaxHoldDays) + " days", "",
                    "Pass for example interval '15 minutes'.");
    return d;
}

std::optional<std::string> idempotency_key(FunctionCallInfo fcinfo, int n) {
    auto key = args::optional_string(fcinfo, n);
    if (key && (key->empty() || key->size() > 200))
        throw Error(errcodes::invalid_parameter_value,
                    "idempotency_key must be 1 to 200 characters, got " + std::to_string(key->size()));
    return key;
}

// Runs one Stock operation on its own SPI connection.
template <typename F>
auto with_stock(F&& op) {
    spi::Connection conn;
    Stock stock(conn);
    auto result = op(stock);
    conn.finish();
    return result;
}

}  // namespace

CASEBOOK_FUNCTION(commerce_restock) {
    int64_t variant = args::int8(fcinfo, 0, "variant");
    int32_t qty = args::int4(fcinfo, 1, "qty");
    return Int64GetDatum(with_stock([&](Stock& s) { return s.restock(variant, qty); }));
}

CASEBOOK_FUNCTION(commerce_available) {
    int64_t variant = args::int8(fcinfo, 0, "variant");
    return Int64GetDatum(with_stock([&](Stock& s) { return s.available(variant); }));
}

CASEBOOK_FUNCTION(commerce_reserve) {
    HoldRequest req;
    req.variant = args::int8(fcinfo, 0, "variant");
    req.quantity = positive_quantity(fcinfo, 1);
    req.hold = positive_hold(fcinfo, 2);
    req.idempotency_key = idempotency_key(fcinfo, 3);
    return Int64GetDatum(with_stock([&](Stock& s) { return s.hold(req); }));
}

namespace {

spi::Statement kInsertCart{
    "INSERT INTO commerce.carts (user_id, idempotency_key) VALUES ($1, $2)"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    {INT8OID, TEXTOID}};
spi::Statement kCartByKey{"SELECT id FROM commerce.carts WHERE idempotency_key = $1", {TEXTOID}};
// The cart's user, locked as the foreign key would (FOR KEY SHARE): it
// exists until this transaction ends.
spi::Statement kLockCustomer{"SELECT 1 FROM commerce.users WHERE id = $1 FOR KEY SHARE", {INT8OID}};
spi::Statement kCartLines{
    "SELECT variant_id, sum(quantity)::int8 FROM commerce.reservations WHERE cart_id = $1"
    " GROUP BY variant_id ORDER BY variant_id",
    {INT8OID}};

}  // namespace

CASEBOOK_FUNCTION(commerce_reserve_cart) {
    // Read in argument order, so the first bad argument is the one reported.
    auto variants = args::int8_array(fcinfo, 0, "variants");
    auto quantities = args::int4_array(fcinfo, 1, "quantities");
    auto lines = normalize_cart(variants, quantities);
    Datum hold = positive_hold(fcinfo, 2);
    auto key = idempotency_key(fcinfo, 3);
    auto user = args::optional_int8(fcinfo, 4);

    spi::Connection conn;
    if (user && conn.execute(kLockCustomer, {spi::int8_param(*user)}).empty())
        throw Error(errcodes::unknown_customer, "user " + std::to_string(*user) + " does not exist", "",
                    "Create the user in commerce.users first, or pass no user_id.");
    // The cart row comes first: with a key it is the idempotency lock (a
    // concurrent twin waits here, then finds the committed cart).
    auto inserted = conn.execute(kInsertCart, {user ? spi::int8_param(*user) : spi::null_param(),
                                               spi::optional_text_param(key)});
    if (inserted.empty()) {
        int64_t existing = conn.execute(kCartByKey, {spi::text_param(*key)}).int8_at(0, 1);
        auto held = conn.execute(kCartLines, {spi::int8_param(existing)});
        std::vector<CartLine> stored;
        for (uint64_t i = 0; i < held.size(); ++i) stored.push_back({held.int8_at(i, 1), held.int8_at(i, 2)});
        if (stored != lines)
            throw Error(errcodes::idempotency_key_reused,
                        "idempotency key \"" + *key + "\" was already used for another cart",
                        "Cart " + std::to_string(existing) + " holds different lines.",
                        "Use a new key for a different cart.");
        conn.finish();
        return Int64GetDatum(existing);
    }
    int64_t cart = inserted.int8_at(0, 1);
    Stock stock(conn);
    // Lines are sorted by variant: every cart locks stock in the same order,
    // so two carts never wait for each other in a cycle.
    for (const auto& line : lines) {
        HoldRequest req;
        req.variant = line.variant;
        req.quantity = line.quantity;
        req.hold = hold;
        req.cart = cart;
        stock.hold(req);
    }
    conn.finish();
    return Int64GetDatum(cart);
}

CASEBOOK_FUNCTION(commerce_confirm) {
    int64_t id = args::int8(fcinfo, 0, "reservation");
    with_stock([&](Stock& s) { s.confirm(id); return 0; });
    PG_RETURN_VOID();
}

CASEBOOK_FUNCTION(commerce_release) {
    int64_t id = args::int8(fcinfo, 0, "reservation");
    with_stock([&](Stock& s) { s.release(id); return 0; });
    PG_RETURN_VOID();
}

CASEBOOK_FUNCTION(commerce_expire) {
    int32_t max_holds = args::int4(fcinfo, 0, "max_holds");
    return Int32GetDatum(with_stock([&](Stock& s) { return s.expire(max_holds); }));
}

CASEBOOK_FUNCTION(commerce_set_buckets) {
    int64_t variant = args::int8(fcinfo, 0, "variant");
    int32_t n = args::int4(fcinfo, 1, "n");
    return Int32GetDatum(with_stock([&](Stock& s) { return s.set_buckets(variant, n); }));
}

//-----------------------------------------------------------------------------
// Checkout and orders
//-----------------------------------------------------------------------------
namespace {

spi::Statement kOrderByKey{"SELECT id, cart_id FROM commerce.orders WHERE idempotency_key = $1",
                           {TEXTOID}};
spi::Statement kLockCart{
    "SELECT status, order_id, user_id FROM commerce.carts WHERE id = $1 FOR UPDATE", {INT8OID}};
spi::Statement kAddressOwner{"SELECT user_id FROM commerce.addresses WHERE id = $1", {INT8OID}};
spi::Statement kLockCartHolds{
    "SELECT id, variant_id, bucket, quantity, status::text, expires_at <= statement_timestamp()"
    "  FROM commerce.reservations WHERE cart_id = $1 ORDER BY id FOR UPDATE",
    {INT8OID}};
spi::Statement kConfirmCartHolds{
    "UPDATE commerce.reservations SET status = 'confirmed', closed_at = statement_timestamp()"
    " WHERE cart_id = $1 AND status = 'held'",
    {INT8OID}};
// Prices are read once, in one statement, for both the items and the total.
spi::Statement kCreateOrder{
    "WITH lines AS ("
    "  SELECT r.id, r.variant_id, r.quantity, (p.base_price + v.price_modifier)::numeric(12,2) AS unit_price"
    "    FROM commerce.reservations r"
    "    JOIN commerce.product_variants v ON v.id = r.variant_id"
    "    JOIN commerce.products p ON p.id = v.product_id"
    "   WHERE r.cart_id = $1),"
    " o AS ("
    "  INSERT INTO commerce.orders (user_id, cart_id, status, total, shipping_address_id, idempotency_key)"
    "  SELECT $2, $1, 'pending', coalesce(sum(quantity * unit_price), 0), $3, $4 FROM lines"
    "  ON CONFLICT (idempotency_key) DO NOTHING"
    "  RETURNING id),"
    " items AS ("
    "  INSERT INTO commerce.order_items (order_id, variant_id, reservation_id, quantity, unit_price)"
    "  SELECT o.id, l.variant_id, l.id, l.quantity, l.unit_price FROM o, lines l)"
    " SELECT id FROM o",
    {INT8OID, INT8OID, INT8OID, TEXTOID}};
spi::Statement kCloseCart{
    "UPDATE commerce.carts SET status = 'checked_out', order_id = $2, updated_at = statement_timestamp()"
    " WHERE id = $1",
    {INT8OID, INT8OID}};

}  // namespace

CASEBOOK_FUNCTION(commerce_checkout) {
    int64_t cart = args::int8(fcinfo, 0, "cart");
    auto address = args::optional_int8(fcinfo, 1);
    auto key = idempotency_key(fcinfo, 2);
    spi::Connection conn;

    if (key) {
        auto found = conn.execute(kOrderByKey, {spi::text_param(*key)});
        if (!found.empty()) {
            if (found.int8(0, 2) != cart)
                throw Error(errcodes::idempotency_key_reused,
                            "idempotency key \"" + *key + "\" was already used for another checkout",
                            "Order " + std::to_string(found.int8_at(0, 1)) + " was placed with it.",
                            "Use a new key for a different cart.");
            int64_t order = found.int8_at(0, 1);
            conn.finish();
            return Int64GetDatum(order);
        }
    }

    auto cart_row = conn.execute(kLockCart, {spi::int8_param(cart)});
    if (cart_row.empty())
        throw Error(errcodes::unknown_cart, "cart " + std::to_string(cart) + " does not exist");
    std::string status = cart_row.text(0, 1).value_or("");
    auto user = cart_row.int8(0, 3);
    if (status == "checked_out") {
        // The same cart checked out again (a retry without key): same order.
        int64_t order = cart_row.int8_at(0, 2);
        conn.finish();
        return Int64GetDatum(order);
    }
    if (status != "open")
        throw Error(errcodes::cart_not_open, "cart " + std::to_string(cart) + " is " + status,
                    "Its holds ran out before checkout.", "Reserve the items again.");

    if (address) {
        auto owner = conn.execute(kAddressOwner, {spi::int8_param(*address)});
        if (owner.empty())
            throw Error(errcodes::invalid_parameter_value,
                        "shipping address " + std::to_string(*address) + " does not exist");
        if (!user || owner.int8(0, 1) != user)
            throw Error(errcodes::invalid_parameter_value,
                        "shipping address " + std::to_string(*address) +
                            " does not belong to the cart's user");
    }

    struct Line {
        int64_t variant;
        int32_t bucket;
        int64_t quantity;
    };
    std::vector<Line> lines;
    auto holds = conn.execute(kLockCartHolds, {spi::int8_param(cart)});
    if (holds.empty())
        throw Error(errcodes::cart_not_open, "cart " + std::to_string(cart) + " has no reservations");
    for (uint64_t i = 0; i < holds.size(); ++i) {
        int64_t id = holds.int8_at(i, 1);
        std::string st = holds.text(i, 5).value_or("");
        if (st != "held")
            throw Error(errcodes::reservation_not_held,
                        "reservation " + std::to_string(id) + " of cart " + std::to_string(cart) +
                            " is " + st + ", not held");
        if (holds.boolean(i, 6).value_or(false))
            throw Error(errcodes::reservation_expired,
                        "reservation " + std::to_string(id) + " of cart " + std::to_string(cart) +
                            " has expired",
                        "Nothing was ordered.", "Reserve the items again.");
        lines.push_back({holds.int8_at(i, 2), holds.int4_at(i, 3), holds.int4_at(i, 4)});
    }
    std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
        return a.variant != b.variant ? a.variant < b.variant : a.bucket < b.bucket;
    });
    Stock stock(conn);
    for (const auto& l : lines) stock.sell_units(l.variant, l.bucket, l.quantity);

    auto created = conn.execute(kCreateOrder, {spi::int8_param(cart),
                                               user ? spi::int8_param(*user) : spi::null_param(),
                                               address ? spi::int8_param(*address) : spi::null_param(),
                                               spi::optional_text_param(key)});
    if (created.empty())
        throw Error(errcodes::idempotency_key_reused,
                    "idempotency key \"" + key.value_or("") + "\" was just used by a concurrent checkout",
                    "", "Use a new key for a different cart.");
    int64_t order = created.int8_at(0, 1);
    conn.execute(kConfirmCartHolds, {spi::int8_param(cart)});
    conn.execute(kCloseCart, {spi::int8_param(cart), spi::int8_param(order)});
    conn.finish();
    return Int64GetDatum(order);
}

namespace {

spi::Statement kLockOrder{"SELECT status::text FROM commerce.orders WHERE id = $1 FOR UPDATE",
                          {INT8OID}};
spi::Statement kSetStatus{
    "UPDATE commerce.orders SET status = $2::commerce.order_status WHERE id = $1 RETURNING status",
    {INT8OID, TEXTOID}};
spi::Statement kOrderItems{
    "SELECT variant_id, sum(quantity)::int8 FROM commerce.order_items WHERE order_id = $1"
    " GROUP BY variant_id ORDER BY variant_id",
    {INT8OID}};

std::string allowed_next(OrderStatus from) {
    std::string out;
    for (auto to : {OrderStatus::pending, OrderStatus::paid, OrderStatus::shipped,
                    OrderStatus::delivered, OrderStatus::cancelled})
        if (transition_allowed(from, to)) out += (out.empty() ? "" : ", ") + std::string(order_status_name(to));
    return out.empty() ? "none (final state)" : out;
}

OrderStatus parse_status_or_throw(const std::string& name) {
    auto s = parse_order_status(name);
    if (!s)
        throw Error(errcodes::unknown_order_status, "unknown order status \"" + name + "\"", "",
                    "Use one of: pending, paid, shipped, delivered, cancelled.");
    return *s;
}

void check_transition(int64_t order, OrderStatus from, OrderStatus to) {
    if (!transition_allowed(from, to))
        throw Error(errcodes::invalid_status_transition,
                    "order " + std::to_string(order) + " cannot go from " +
                        std::string(order_status_name(from)) + " to " + std::string(order_status_name(to)),
                    "Allowed next: " + allowed_next(from) + ".");
}

}  // namespace

CASEBOOK_FUNCTION(commerce_set_order_status) {
    int64_t order = args::int8(fcinfo, 0, "order_id");
    std::string wanted = args::string(fcinfo, 1, "status");
    OrderStatus to = parse_status_or_throw(wanted);
    spi::Connection conn;
    auto row = conn.execute(kLockOrder, {spi::int8_param(order)});
    if (row.empty())
        throw Error(errcodes::unknown_order, "order " + std::to_string(order) + " does not exist");
    OrderStatus from = parse_status_or_throw(row.text(0, 1).value_or(""));
    check_transition(order, from, to);
    // The orders trigger applies the change's effects (stock, updated_at).
    auto updated = conn.execute(kSetStatus, {spi::int8_param(order), spi::text_param(wanted)});
    Datum status = conn.copy_out(updated.datum(0, 1).value(), updated.desc()->attrs[0].atttypid);
    conn.finish();
    return status;
}

// BEFORE UPDATE trigger on commerce.orders: refuses status changes that are
// not allowed edges (whoever writes the row), returns the stock of a
// cancelled order, and keeps updated_at.
CASEBOOK_FUNCTION(commerce_orders_guard) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw Error(errcodes::casebook_error, "orders_guard must be called as a trigger");
    auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
        !TRIGGER_FIRED_BY_UPDATE(td->tg_event))
        throw Error(errcodes::casebook_error, "orders_guard must fire BEFORE UPDATE FOR EACH ROW");
    HeapTuple old_row = td->tg_trigtuple;
    HeapTuple new_row = td->tg_newtuple;
    TupleDesc desc = td->tg_relation->rd_att;

    int status_col = casebook::pg::guard([&] { return SPI_fnumber(desc, "status"); });
    int updated_col = casebook::pg::guard([&] { return SPI_fnumber(desc, "updated_at"); });
    int id_col = casebook::pg::guard([&] { return SPI_fnumber(desc, "id"); });
    if (status_col <= 0 || updated_col <= 0 || id_col <= 0)
        throw Error(errcodes::extension_not_ready, "commerce.orders lacks id, status or updated_at");

    auto value_of = [&](HeapTuple row, int col) -> std::string {
        char* s = casebook::pg::guard([&] { return SPI_getvalue(row, desc, col); });
        return s ? std::string(s) : std::string();
    };
    OrderStatus from = parse_status_or_throw(value_of(old_row, status_col));
    OrderStatus to = parse_status_or_throw(value_of(new_row, status_col));
    int64_t order = std::stoll(value_of(old_row, id_col));
    if (from != to) {
        check_transition(order, from, to);
        if (to == OrderStatus::cancelled) {
            spi::Connection conn;
            auto items = conn.execute(kOrderItems, {spi::int8_param(order)});
            std::vector<std::pair<int64_t, int64_t>> back;
            for (uint64_t i = 0; i < items.size(); ++i) back.emplace_back(items.int8_at(i, 1), items.int8_at(i, 2));
            Stock stock(conn);
            for (const auto& [variant, qty] : back) stock.give_back(variant, qty);
            conn.finish();
        }
    }
    Datum now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
    bool isnull = false;
    int col = updated_col;
    HeapTuple changed = casebook::pg::guard(
        [&] { return heap_modify_tuple_by_cols(new_row, desc, 1, &col, &now, &isnull); });
    return PointerGetDatum(changed);
}
