// eventstore: subscriptions (see subscriptions.hpp).
//
// Each event belongs to exactly one member of a subscription: member =
// hash(stream) mod members, so all events of a stream go to the same member
// and in version order. Each member has its own checkpoint. poll returns the
// events after the checkpoint and below the horizon; ack moves the
// checkpoint forward (never back). Delivery is at least once: events polled
// but not acked come again.
#include "subscriptions.hpp"

#include "errcodes.hpp"
#include "global_order.hpp"
#include "store.hpp"

namespace casebook::eventstore::subscriptions {
namespace {

constexpr int32_t kMaxMembers = 1024;

#define ES_MEMBER_FILTER " AND ((hashtextextended(stream_id, 0) % $5) + $5) % $5 = $6"

spi::Statement kFind{
    "SELECT category, members FROM eventstore.subscriptions WHERE name = $1", {TEXTOID}};

spi::Statement kCreate{
    "INSERT INTO eventstore.subscriptions (name, category, members) VALUES ($1, $2, $3) "
    "ON CONFLICT (name) DO NOTHING RETURNING name",
    {TEXTOID, TEXTOID, INT4OID}};

spi::Statement kCreateMembers{
    "INSERT INTO eventstore.subscription_checkpoints (subscription, member, position) "
    "SELECT $1, m, $3 FROM generate_series(0, $2 - 1) m",
    {TEXTOID, INT4OID, INT8OID}};

spi::Statement kDrop{"DELETE FROM eventstore.subscriptions WHERE name = $1", {TEXTOID}};

spi::Statement kClaimGiven{
    "SELECT member, position FROM eventstore.subscription_checkpoints "
    "WHERE subscription = $1 AND member = $2 FOR UPDATE",
    {TEXTOID, INT4OID}};

// Any member no other transaction holds, least recently served first.
spi::Statement kClaimAny{
    "SELECT member, position FROM eventstore.subscription_checkpoints "
    "WHERE subscription = $1 ORDER BY updated_at, member FOR UPDATE SKIP LOCKED LIMIT 1",
    {TEXTOID}};

spi::Statement kTouch{
    "UPDATE eventstore.subscription_checkpoints SET updated_at = clock_timestamp() "
    "WHERE subscription = $1 AND member = $2",
    {TEXTOID, INT4OID}};

spi::Statement kEventsAll{
    "SELECT " ES_EVENT_COLUMNS " FROM eventstore.events "
    "WHERE position > $1 AND position < $2" ES_MEMBER_FILTER " ORDER BY position LIMIT $3",
    {INT8OID, INT8OID, INT4OID, TEXTOID, INT8OID, INT8OID}};

spi::Statement kEventsCategory{
    "SELECT " ES_EVENT_COLUMNS " FROM eventstore.events "
    "WHERE category = $4 AND position > $1 AND position < $2" ES_MEMBER_FILTER
    " ORDER BY position LIMIT $3",
    {INT8OID, INT8OID, INT4OID, TEXTOID, INT8OID, INT8OID}};

spi::Statement kAck{
    "UPDATE eventstore.subscription_checkpoints SET position = greatest(position, $3), "
    "updated_at = clock_timestamp() WHERE subscription = $1 AND member = $2 RETURNING position",
    {TEXTOID, INT4OID, INT8OID}};

struct Subscription {
    std::optional<std::string> category;
    int32_t members;
};

Subscription find(spi::Connection& conn, const std::string& name) {
    check_name(name, "subscription name");
    spi::Rows rows = conn.execute(kFind, {spi::text_param(name)}, true);
    if (rows.empty())
        throw Error(errcodes::unknown_subscription, "subscription \"" + name + "\" does not exist", "",
                    "Create it with eventstore.subscribe(name).");
    return Subscription{rows.text(0, 1), rows.int4_at(0, 2)};
}

void check_not_reserved(const std::string& name, bool internal) {
    if (!internal && name.rfind("projection:", 0) == 0)
        throw Error(errcodes::invalid_parameter_value,
                    "subscription names starting with \"projection:\" belong to async projections", "",
                    "Use create_projection/drop_projection, or another name.");
}

void check_member(int32_t member, int32_t members) {
    if (member < 0 || member >= members)
        throw Error(errcodes::invalid_member,
                    "member must be between 0 and " + std::to_string(members - 1) + ", got " +
                        std::to_string(member));
}

}  // namespace

void subscribe(spi::Connection& conn, const std::string& name, const std::optional<std::string>& category,
               int32_t members, int64_t start_after, bool internal) {
    check_name(name, "subscription name");
    check_not_reserved(name, internal);
    if (category) check_name(*category, "category");
    if (members < 1 || members > kMaxMembers)
        throw Error(errcodes::invalid_parameter_value,
                    "members must be between 1 and " + std::to_string(kMaxMembers) + ", got " +
                        std::to_string(members));
    if (start_after < 0)
        throw Error(errcodes::invalid_parameter_value,
                    "start_after must not be negative, got " + std::to_string(start_after));
    int64_t head = head_position(conn);
    if (start_after > head)
        throw Error(errcodes::invalid_parameter_value,
                    "start_after " + std::to_string(start_after) + " is beyond the last readable position " +
                        std::to_string(head));
    spi::Rows created = conn.execute(kCreate, {spi::text_param(name), spi::optional_text_param(category),
                                               spi::int4_param(members)});
    if (created.empty()) {
        // Exists: the same settings make subscribe idempotent.
        Subscription existing = find(conn, name);
        if (existing.category != category || existing.members != members)
            throw Error(errcodes::subscription_conflict,
                        "subscription \"" + name + "\" exists with category " +
                            (existing.category ? "\"" + *existing.category + "\"" : std::string("(all)")) +
                            " and " + std::to_string(existing.members) + " member(s)",
                        "", "Drop it with eventstore.unsubscribe(name) first, or use another name.");
        return;
    }
    conn.execute(kCreateMembers,
                 {spi::text_param(name), spi::int4_param(members), spi::int8_param(start_after)});
}

bool unsubscribe(spi::Connection& conn, const std::string& name, bool internal) {
    check_name(name, "subscription name");
    check_not_reserved(name, internal);
    return conn.execute(kDrop, {spi::text_param(name)}).size() > 0;
}

void poll(spi::Connection& conn, ResultSink& sink, const std::string& name, int32_t max,
          std::optional<int32_t> member) {
    check_max(max);
    // An async projection's checkpoint is its runner's: a consumer role that
    // polled (claimed) or acked it would move it past unfolded events.
    check_not_reserved(name, false);
    Subscription sub = find(conn, name);
    if (member) check_member(*member, sub.members);
    spi::Rows claim = member ? conn.execute(kClaimGiven, {spi::text_param(name), spi::int4_param(*member)})
                             : conn.execute(kClaimAny, {spi::text_param(name)});
    if (claim.empty()) return;  // every member is held by another transaction
    int32_t m = claim.int4_at(0, 1);
    int64_t after = claim.int8_at(0, 2);
    conn.execute(kTouch, {spi::text_param(name), spi::int4_param(m)});

    int64_t horizon = global_order::horizon(conn);
    std::vector<spi::Param> params{spi::int8_param(after), spi::int8_param(horizon), spi::int4_param(max),
                                   spi::optional_text_param(sub.category), spi::int8_param(sub.members),
                                   spi::int8_param(m)};
    spi::Rows rows = conn.execute_latest(sub.category ? kEventsCategory : kEventsAll, params);
    sink.put_events(conn, rows, m);
}

int64_t ack(spi::Connection& conn, const std::string& name, int64_t position, std::optional<int32_t> member) {
    check_not_reserved(name, false);
    Subscription sub = find(conn, name);
    if (!member) {
        if (sub.members != 1)
            throw Error(errcodes::invalid_member,
                        "subscription \"" + name + "\" has " + std::to_string(sub.members) +
                            " members: ack needs the member the events came from",
                        "", "Pass the member column that poll returned.");
        member = 0;
    }
    check_member(*member, sub.members);
    if (position < 0)
        throw Error(errcodes::invalid_parameter_value,
                    "position must not be negative, got " + std::to_string(position));
    int64_t head = head_position(conn);
    if (position > head)
        throw Error(errcodes::invalid_parameter_value,
                    "position " + std::to_string(position) + " is beyond the last readable position " +
                        std::to_string(head),
                    "", "Acknowledge a position that poll returned.");
    spi::Rows rows = conn.execute(kAck, {spi::text_param(name), spi::int4_param(*member), spi::int8_param(position)});
    return rows.int8_at(0, 1);
}

}  // namespace casebook::eventstore::subscriptions
