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
#include <string>
#include <string_view>
#include <vector>

#include "jvalue.hpp"

namespace casebook::eventstore {

// What an operation may read from the event being applied.
struct EventView {
    std::string_view type;
    const JValue* data;
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
    // spec: {"EventType": [op, ...], "*": [op, ...]}
    static Reducer parse(const JValue& spec);
    bool handles(std::string_view type) const;
    void apply(JValue& state, const EventView& event) const;
    bool uses_created_at() const { return uses_created_at_; }

private:
    bool uses_created_at_ = false;
    std::map<std::string, std::vector<Operation>, std::less<>> rules_;
    std::vector<Operation> any_;
};

}  // namespace casebook::eventstore
