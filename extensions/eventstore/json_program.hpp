// eventstore: declarative JSON programs, executed natively.
//
// Two uses, one engine:
//  * Reducer: a projection's spec, per event type a list of operations that
//    fold an event into the stream's state (set, increment, append, remove,
//    merge, default) reading values from the event. "*" applies to every
//    type, after the type's own list.
//  * Upcaster: a list of operations that rewrite an event's data from one
//    schema version to the next (move/rename, default, set, remove).
// Pure C++; errors in a spec raise KB210 (invalid_projection_spec) with the
// offending operation named.
#pragma once

#include <map>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "jvalue.hpp"

namespace casebook::eventstore {

// What an operation may read from the event being applied. A reducer
// replay fills `slots` with just the data paths its operations read (see
// Reducer::Compiled::needs); otherwise paths are looked up in `data`.
struct EventView {
    std::string_view type;
    const JValue* data;
    const std::vector<std::optional<JValue>>* slots = nullptr;
    int64_t version = 0;
    int64_t position = 0;
    std::string_view stream;
    std::string_view created_at;  // ISO text
};

struct Operation {
    enum class Kind { set, increment, append, remove, merge, default_, move };
    enum class Source { none, constant, data_path, data, version, position, type, stream, created_at };
    Kind kind = Kind::set;
    Path target;
    Source source = Source::none;
    JValue constant;
    Path source_path;
    std::vector<std::pair<std::string, Path>> where;  // remove from array: element key -> data path
    int slot = -1;                                    // source_path's index in EventView::slots
    std::vector<int> where_slots;                     // the where paths' indexes
};

// One list of operations. `context` names it in error messages.
std::vector<Operation> parse_operations(const JValue& list, const std::string& context, bool upcaster);

// Applies operations to `doc`. For a reducer, doc is the state and "from"
// paths read the event's data; for an upcaster (sources_from_doc), doc is
// the event data itself and "from" paths read it as it is being rewritten.
void run_operations(const std::vector<Operation>& ops, JValue& doc, const EventView& event,
                    bool sources_from_doc = false);

class Reducer {
public:
    Reducer() = default;
    Reducer(const Reducer&) = delete;
    Reducer& operator=(const Reducer&) = delete;
    // Moving keeps the compiled operations but not for_type's cache (it may
    // point into the moved-from object).
    Reducer(Reducer&& other) noexcept
        : uses_created_at_(other.uses_created_at_),
          compiled_(std::move(other.compiled_)),
          any_compiled_(std::move(other.any_compiled_)) {}
    Reducer& operator=(Reducer&& other) noexcept {
        uses_created_at_ = other.uses_created_at_;
        compiled_ = std::move(other.compiled_);
        any_compiled_ = std::move(other.any_compiled_);
        last_type_valid_ = false;
        last_compiled_ = nullptr;
        return *this;
    }

    // spec: {"EventType": [op, ...], "*": [op, ...]}
    static Reducer parse(const JValue& spec);
    void apply(JValue& state, const EventView& event) const;
    bool uses_created_at() const { return uses_created_at_; }

    // What the operations of a type read from the event data: the whole
    // document, or only these paths, in slot order (EventView::slots).
    struct DataNeeds {
        bool whole = false;
        std::vector<Path> paths;
    };

    // The operations of one type (the type's own, then "*"), or nullptr
    // when the reducer ignores it: one lookup per event for a replay.
    struct Compiled {
        std::vector<Operation> ops;
        DataNeeds needs;
    };
    const Compiled* for_type(std::string_view type) const;

private:
    static Compiled compile(std::vector<Operation> ops);
    bool uses_created_at_ = false;
    std::map<std::string, Compiled, std::less<>> compiled_;
    Compiled any_compiled_;
    // for_type's one-entry cache (a backend is single-threaded).
    mutable std::string last_type_;
    mutable const Compiled* last_compiled_ = nullptr;
    mutable bool last_type_valid_ = false;
    std::map<std::string, std::vector<Operation>, std::less<>> rules_;
    std::vector<Operation> any_;
};

}  // namespace casebook::eventstore
