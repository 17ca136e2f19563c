// eventstore: declarative JSON programs (see json_program.hpp).
#include "json_program.hpp"

#include <algorithm>

#include "errcodes.hpp"
#include "error.hpp"

namespace casebook::eventstore {
namespace {

[[noreturn]] void bad_spec(const std::string& context, const std::string& what) {
    throw Error(errcodes::invalid_projection_spec, context + ": " + what, "",
                "An operation is an object such as {\"set\": \"status\", \"value\": \"paid\"}, "
                "{\"increment\": \"total\", \"from\": \"amount\"}, {\"append\": \"items\", \"from\": \"$data\"}, "
                "{\"remove\": \"items\", \"where\": {\"sku\": \"sku\"}}, {\"merge\": \"address\", \"from\": \"address\"}, "
                "{\"default\": \"currency\", \"value\": \"USD\"} or {\"move\": \"price\", \"to\": \"money.amount\"}.");
}

Path path_of(const JValue& v, const std::string& context, const char* what) {
    auto bounded = [&](Path p) {
        if (p.size() > kMaxPathKeys)
            bad_spec(context, std::string(what) + " has " + std::to_string(p.size()) + " keys; a path has at most " +
                                  std::to_string(kMaxPathKeys));
        return p;
    };
    if (v.kind() == JValue::Kind::string) {
        if (v.text().empty()) bad_spec(context, std::string(what) + " must not be empty");
        // Counted before splitting: a path of a million dots is refused
        // without building a million keys.
        if (static_cast<std::size_t>(std::count(v.text().begin(), v.text().end(), '.')) >= kMaxPathKeys)
            bad_spec(context, std::string(what) + " has more than " + std::to_string(kMaxPathKeys) +
                                  " keys; a path has at most " + std::to_string(kMaxPathKeys));
        Path p = parse_path(v.text());
        for (const auto& k : p)
            if (k.empty()) bad_spec(context, std::string(what) + " \"" + v.text() + "\" has an empty key");
        return bounded(std::move(p));
    }
    if (v.kind() == JValue::Kind::array && !v.items().empty()) {
        if (v.items().size() > kMaxPathKeys) bounded(Path(v.items().size()));
        Path p;
        for (const auto& k : v.items()) {
            if (k.kind() != JValue::Kind::string) bad_spec(context, std::string(what) + " array must hold strings");
            p.push_back(k.text());
        }
        return bounded(std::move(p));
    }
    bad_spec(context, std::string(what) + " must be a path: \"a.b\" or [\"a\", \"b\"]");
}

void parse_source(const JValue& op, Operation& out, const std::string& context, bool required) {
    const JValue* value = op.find("value");
    const JValue* from = op.find("from");
    if (value && from) bad_spec(context, "give either \"value\" or \"from\", not both");
    if (value) {
        out.source = Operation::Source::constant;
        out.constant = *value;
        return;
    }
    if (from) {
        if (from->kind() != JValue::Kind::string && from->kind() != JValue::Kind::array)
            bad_spec(context, "\"from\" must be a path into the event data or one of $data, $version, "
                              "$position, $type, $stream, $created_at");
        if (from->kind() == JValue::Kind::string && !from->text().empty() && from->text()[0] == '$') {
            const std::string& s = from->text();
            if (s == "$data") out.source = Operation::Source::data;
            else if (s == "$version") out.source = Operation::Source::version;
            else if (s == "$position") out.source = Operation::Source::position;
            else if (s == "$type") out.source = Operation::Source::type;
            else if (s == "$stream") out.source = Operation::Source::stream;
            else if (s == "$created_at") out.source = Operation::Source::created_at;
            else bad_spec(context, "unknown source \"" + s + "\"");
            return;
        }
        out.source = Operation::Source::data_path;
        out.source_path = path_of(*from, context, "\"from\"");
        return;
    }
    if (required) bad_spec(context, "needs \"value\" or \"from\"");
}

// The value an operation reads, or nullptr when its data path is absent.
// The value an operation reads (nullptr when its data path is absent).
// Computed values (version, type, ...) are built in `temp`.
const JValue* source_value(const Operation& op, const JValue& doc, const EventView& ev, bool upcaster,
                           JValue& temp) {
    switch (op.source) {
        case Operation::Source::none:
            return nullptr;
        case Operation::Source::constant:
            return &op.constant;
        case Operation::Source::data_path: {
            if (!upcaster && ev.slots != nullptr && op.slot >= 0) {
                const auto& slot = (*ev.slots)[op.slot];
                return slot ? &*slot : nullptr;
            }
            return get_path(upcaster ? doc : *ev.data, op.source_path);
        }
        case Operation::Source::data:
            return ev.data;
        case Operation::Source::version:
            temp = JValue::integer(ev.version);
            return &temp;
        case Operation::Source::position:
            temp = JValue::integer(ev.position);
            return &temp;
        case Operation::Source::type:
            temp = JValue::string(std::string(ev.type));
            return &temp;
        case Operation::Source::stream:
            temp = JValue::string(std::string(ev.stream));
            return &temp;
        case Operation::Source::created_at:
            temp = JValue::string(std::string(ev.created_at));
            return &temp;
    }
    return nullptr;
}

[[noreturn]] void not_a_number(const Operation& op, const EventView& ev, const char* what) {
    throw Error(errcodes::projection_failed, "increment of \"" + op.target.back() + "\" " + what,
                "event type " + std::string(ev.type) + ", stream " + std::string(ev.stream) + ", version " +
                    std::to_string(ev.version));
}

}  // namespace

std::vector<Operation> parse_operations(const JValue& list, const std::string& context, bool upcaster) {
    if (list.kind() != JValue::Kind::array) bad_spec(context, "must be an array of operations");
    std::vector<Operation> ops;
    std::size_t index = 0;
    for (const JValue& op : list.items()) {
        std::string where = context + ", operation " + std::to_string(index++);
        if (op.kind() != JValue::Kind::object) bad_spec(where, "is not an object");
        static const std::pair<const char*, Operation::Kind> kinds[] = {
            {"set", Operation::Kind::set},         {"increment", Operation::Kind::increment},
            {"append", Operation::Kind::append},   {"remove", Operation::Kind::remove},
            {"merge", Operation::Kind::merge},     {"default", Operation::Kind::default_},
            {"move", Operation::Kind::move},       {"rename", Operation::Kind::move}};
        Operation out;
        int found = 0;
        for (const auto& [name, kind] : kinds) {
            if (const JValue* target = op.find(name)) {
                ++found;
                out.kind = kind;
                out.target = path_of(*target, where, name);
            }
        }
        if (found != 1) bad_spec(where, "needs exactly one of set, increment, append, remove, merge, default, move");
        for (const auto& m : op.members()) {
            static const char* allowed[] = {"set", "increment", "append", "remove", "merge", "default",
                                            "move", "rename", "value", "from", "where", "to", "by"};
            bool ok = false;
            for (const char* a : allowed) ok = ok || m.first == a;
            if (!ok) bad_spec(where, "unknown key \"" + m.first + "\"");
        }
        switch (out.kind) {
            case Operation::Kind::set:
            case Operation::Kind::append:
            case Operation::Kind::merge:
            case Operation::Kind::default_:
                parse_source(op, out, where, true);
                break;
            case Operation::Kind::increment: {
                const JValue* by = op.find("by");
                if (by) {
                    if (op.find("from") || op.find("value")) bad_spec(where, "give \"by\" or \"from\", not both");
                    if (by->kind() != JValue::Kind::number) bad_spec(where, "\"by\" must be a number");
                    out.source = Operation::Source::constant;
                    out.constant = *by;
                } else {
                    parse_source(op, out, where, true);
                    if (out.source == Operation::Source::constant && out.constant.kind() != JValue::Kind::number)
                        bad_spec(where, "\"increment\" by a \"value\" that is not a number");
                }
                break;
            }
            case Operation::Kind::remove: {
                if (const JValue* w = op.find("where")) {
                    if (w->kind() != JValue::Kind::object || w->members().empty())
                        bad_spec(where, "\"where\" must be an object {element key: event data path}");
                    for (const auto& m : w->members())
                        out.where.emplace_back(m.first, path_of(m.second, where, "\"where\" value"));
                }
                break;
            }
            case Operation::Kind::move: {
                const JValue* to = op.find("to");
                if (to == nullptr) bad_spec(where, "\"move\" needs \"to\"");
                out.source = Operation::Source::data_path;
                out.source_path = out.target;
                out.target = path_of(*to, where, "\"to\"");
                if (!upcaster) bad_spec(where, "\"move\" is for upcasters (it rewrites the event data)");
                break;
            }
        }
        if (upcaster && (out.kind == Operation::Kind::increment || out.kind == Operation::Kind::append ||
                         out.kind == Operation::Kind::merge))
            bad_spec(where, "upcasters support move, rename, set, default and remove");
        ops.push_back(std::move(out));
    }
    return ops;
}

void run_operations(const std::vector<Operation>& ops, JValue& doc, const EventView& ev, bool upcaster) {
    JValue temp;
    for (const Operation& op : ops) {
        switch (op.kind) {
            case Operation::Kind::set: {
                const JValue* v = source_value(op, doc, ev, upcaster, temp);
                if (v) set_path(doc, op.target, JValue(*v));
                break;
            }
            case Operation::Kind::default_: {
                if (get_path(doc, op.target) != nullptr) break;
                const JValue* v = source_value(op, doc, ev, upcaster, temp);
                if (v) set_path(doc, op.target, JValue(*v));
                break;
            }
            case Operation::Kind::increment: {
                const JValue* by = source_value(op, doc, ev, upcaster, temp);
                if (by == nullptr) break;
                if (by->kind() != JValue::Kind::number) not_a_number(op, ev, "by a value that is not a number");
                JValue* cur = const_cast<JValue*>(get_path(doc, op.target));
                if (cur == nullptr || cur->is_null()) {
                    set_path(doc, op.target, JValue(*by));
                } else if (cur->kind() != JValue::Kind::number) {
                    not_a_number(op, ev, "which is not a number");
                } else if (!cur->add_fixed_in_place(*by)) {
                    *cur = add_numbers(*cur, *by);
                }
                break;
            }
            case Operation::Kind::append: {
                const JValue* v = source_value(op, doc, ev, upcaster, temp);
                if (v == nullptr) break;
                const JValue* cur = get_path(doc, op.target);
                if (cur == nullptr || cur->kind() != JValue::Kind::array) set_path(doc, op.target, JValue::array());
                JValue* arr = const_cast<JValue*>(get_path(doc, op.target));
                arr->items().push_back(*v);
                break;
            }
            case Operation::Kind::remove: {
                if (op.where.empty()) {
                    remove_path(doc, op.target);
                    break;
                }
                JValue* arr = const_cast<JValue*>(get_path(doc, op.target));
                if (arr == nullptr || arr->kind() != JValue::Kind::array) break;
                auto& items = arr->items();
                std::vector<JValue> kept;
                for (auto& item : items) {
                    bool match = item.kind() == JValue::Kind::object;
                    for (std::size_t w = 0; w < op.where.size() && match; ++w) {
                        const auto& [key, path] = op.where[w];
                        const JValue* mine = item.find(key);
                        const JValue* theirs = nullptr;
                        if (ev.slots != nullptr && w < op.where_slots.size()) {
                            const auto& slot = (*ev.slots)[op.where_slots[w]];
                            theirs = slot ? &*slot : nullptr;
                        } else {
                            theirs = get_path(*ev.data, path);
                        }
                        match = mine && theirs && *mine == *theirs;
                    }
                    if (!match) kept.push_back(std::move(item));
                }
                items = std::move(kept);
                break;
            }
            case Operation::Kind::merge: {
                const JValue* v = source_value(op, doc, ev, upcaster, temp);
                if (v == nullptr || v->kind() != JValue::Kind::object) break;
                const JValue* cur = get_path(doc, op.target);
                if (cur == nullptr || cur->kind() != JValue::Kind::object) set_path(doc, op.target, JValue::object());
                JValue* obj = const_cast<JValue*>(get_path(doc, op.target));
                for (auto& m : v->members()) obj->put(m.first, m.second);
                break;
            }
            case Operation::Kind::move: {
                const JValue* v = get_path(doc, op.source_path);
                if (v == nullptr) break;
                JValue copy = *v;
                remove_path(doc, op.source_path);
                set_path(doc, op.target, std::move(copy));
                break;
            }
        }
    }
}

Reducer::Compiled Reducer::compile(std::vector<Operation> ops) {
    Compiled out;
    auto slot_of = [&](const Path& p) {
        for (std::size_t i = 0; i < out.needs.paths.size(); ++i)
            if (out.needs.paths[i] == p) return static_cast<int>(i);
        out.needs.paths.push_back(p);
        return static_cast<int>(out.needs.paths.size() - 1);
    };
    for (auto& op : ops) {
        if (op.source == Operation::Source::data) out.needs.whole = true;
        if (op.source == Operation::Source::data_path) op.slot = slot_of(op.source_path);
        for (const auto& w : op.where) op.where_slots.push_back(slot_of(w.second));
    }
    out.ops = std::move(ops);
    return out;
}

Reducer Reducer::parse(const JValue& spec) {
    if (spec.kind() != JValue::Kind::object || spec.members().empty())
        bad_spec("reducer", "must be an object {\"EventType\": [operations], ...}");
    Reducer r;
    std::vector<Operation> any;
    std::vector<std::pair<std::string, std::vector<Operation>>> typed;
    for (const auto& [type, list] : spec.members()) {
        auto ops = parse_operations(list, "reducer \"" + type + "\"", false);
        for (const auto& op : ops)
            if (op.source == Operation::Source::created_at) r.uses_created_at_ = true;
        if (type == "*") any = std::move(ops);
        else typed.emplace_back(type, std::move(ops));
    }
    for (auto& [type, ops] : typed) {
        ops.insert(ops.end(), any.begin(), any.end());  // "*" runs after the type's own
        r.compiled_.emplace(type, compile(std::move(ops)));
    }
    r.any_compiled_ = compile(std::move(any));
    return r;
}

const Reducer::Compiled* Reducer::for_type(std::string_view type) const {
    // Replays see long runs of a few types: remember the last answer.
    if (last_type_valid_ && type == last_type_) return last_compiled_;
    auto it = compiled_.find(type);
    const Compiled* found = it != compiled_.end() ? &it->second : (any_compiled_.ops.empty() ? nullptr : &any_compiled_);
    last_type_.assign(type);
    last_compiled_ = found;
    last_type_valid_ = true;
    return found;
}

void Reducer::apply(JValue& state, const EventView& ev) const {
    if (const Compiled* c = for_type(ev.type)) run_operations(c->ops, state, ev);
}

}  // namespace casebook::eventstore
