// eventstore: one event as the native engine sees it (a row of
// eventstore.events, or an event being appended), and the read pipeline
// that every read and replay passes it through (upcasting).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "json_program.hpp"
#include "spi.hpp"

namespace casebook::eventstore {

namespace personal {
class KeyRing;
}

struct EventRecord {
    int64_t position = 0;
    std::string stream;
    int64_t version = 0;
    Datum event_id = 0;  // uuid
    std::string type;
    int32_t schema_version = 1;
    Datum data = 0;      // jsonb
    Datum metadata = 0;  // jsonb
    TimestampTz created_at = 0;
    std::string category;
    Datum personal = 0;  // jsonb {"subject", "fields"} when fields are sealed, else 0

    // From a row with the columns of ES_EVENT_COLUMNS.
    static EventRecord from_row(const spi::Rows& rows, uint64_t row);
    // The composite eventstore.event (for apply functions).
    Datum to_composite(Oid event_type) const;
    std::string created_at_text() const;
};

// Upcasters registered per (event type, schema version): each rewrites the
// data to the next version; applied in a chain on every read and replay.
// Stored events never change.
class Pipeline {
public:
    // The backend's pipeline, reloaded when the definitions changed. Hold
    // the pointer while using it: a reload never frees it under a caller.
    static std::shared_ptr<const Pipeline> current(spi::Connection& conn);

    bool empty() const { return steps_.empty(); }
    // The event as readers see it: sealed personal fields opened (NULL once
    // forgotten), then upcast to the latest schema version. Rewrites data
    // and schema_version in place; returns whether anything changed.
    bool present(EventRecord& ev, personal::KeyRing& keys) const;
    bool upcast(EventRecord& ev) const;

private:
    struct Step {
        std::vector<Operation> ops;
        Oid function = InvalidOid;
        Oid owner = InvalidOid;
    };
    std::map<std::pair<std::string, int32_t>, Step, std::less<>> steps_;
    std::set<std::string, std::less<>> types_;  // types with any upcaster
    static void check_upcaster_function(const Step& step, const EventRecord& ev);
    uint64_t generation_ = 0;
};

// Registers (or replaces) the upcaster of (type, from_version): exactly one
// of spec (jsonb list of operations) and function ((jsonb) -> jsonb).
void register_upcaster(spi::Connection& conn, const std::string& type, int32_t from_version,
                       std::optional<Datum> spec, std::optional<Oid> function);

// What is wrong with calling fn as owner now: the function or the role is
// gone, or owner may no longer execute fn. Apply and upcaster functions are
// checked at each use, since they run with their registrant's rights.
enum class CallProblem { none, function_gone, role_gone, no_execute };
CallProblem check_callable(Oid fn, Oid owner);

// Calls fn(args...) as `owner` in a security-restricted operation (a
// projection's or upcaster's function never runs with the extension's
// rights). Returns the result; NULL results are reported by the caller.
Datum call_as(Oid owner, Oid fn, Datum a, bool* isnull);
Datum call_as(Oid owner, Oid fn, Datum a, Datum b, bool* isnull);

}  // namespace casebook::eventstore
