// eventstore: parsing the events argument of append() (see event_batch.hpp).
#include "event_batch.hpp"

#include <set>
#include <string_view>

#include "errcodes.hpp"

extern "C" {
#include "utils/jsonb.h"
}

namespace casebook::eventstore {
namespace {

[[noreturn]] void bad(std::size_t index, const std::string& what, const std::string& hint = {}) {
    throw Error(errcodes::invalid_event, "event " + std::to_string(index) + ": " + what, "",
                hint.empty() ? "Each event is an object {\"type\": text, \"data\": object, "
                               "\"metadata\": object?, \"id\": uuid?, \"schema_version\": int?}."
                             : hint);
}

// The value of key in an object container, or nullptr (palloc'd copy).
JsonbValue* field(JsonbContainer* obj, const char* key) {
    return pg::guard([&] {
        return getKeyJsonValueFromContainer(obj, key, static_cast<int>(strlen(key)), nullptr);
    });
}

bool is_object(const JsonbValue* v) {
    return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

std::string string_of(const JsonbValue* v) {
    return std::string(v->val.string.val, static_cast<std::size_t>(v->val.string.len));
}

Datum to_jsonb(JsonbValue* v) {
    return pg::guard([&] { return PointerGetDatum(JsonbValueToJsonb(v)); });
}

}  // namespace

std::vector<EventInput> parse_batch(Datum events) {
    Jsonb* jb = pg::guard([&] { return DatumGetJsonbP(events); });
    if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
        throw Error(errcodes::invalid_event, "events must be a JSON array of event objects", "",
                    "Pass for example '[{\"type\": \"OrderCreated\", \"data\": {}}]'.");
    uint32_t count = JB_ROOT_COUNT(jb);
    if (count == 0) throw Error(errcodes::invalid_event, "events must not be empty");
    if (count > kMaxBatch)
        throw Error(errcodes::invalid_event,
                    "at most " + std::to_string(kMaxBatch) + " events per append, got " + std::to_string(count));
    Datum empty_object = pg::guard([] {
        return DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
    });

    std::vector<EventInput> out;
    out.reserve(count);
    std::set<Uuid> seen;
    for (uint32_t i = 0; i < count; ++i) {
        JsonbContainer* root = &jb->root;
        JsonbValue* elem = pg::guard([&] { return getIthJsonbValueFromContainer(root, i); });
        if (elem == nullptr || !is_object(elem)) bad(i, "is not a JSON object");
        JsonbContainer* obj = elem->val.binary.data;
        EventInput ev;

        JsonbValue* type = field(obj, "type");
        if (type == nullptr || type->type != jbvString) bad(i, "\"type\" must be a string");
        ev.type = string_of(type);
        if (ev.type.empty() || ev.type.size() > kMaxNameBytes)
            bad(i, "\"type\" must be 1 to " + std::to_string(kMaxNameBytes) + " bytes");

        JsonbValue* data = field(obj, "data");
        if (data == nullptr || !is_object(data)) bad(i, "\"data\" must be a JSON object");
        ev.data = to_jsonb(data);

        JsonbValue* meta = field(obj, "metadata");
        if (meta == nullptr || meta->type == jbvNull) {
            ev.metadata = empty_object;
        } else {
            if (!is_object(meta)) bad(i, "\"metadata\" must be a JSON object");
            ev.metadata = to_jsonb(meta);
        }

        JsonbValue* sv = field(obj, "schema_version");
        if (sv != nullptr && sv->type != jbvNull) {
            if (sv->type != jbvNumeric) bad(i, "\"schema_version\" must be an integer");
            Numeric num = sv->val.numeric;
            int32_t v = pg::guard([&] {
                bool have_error = false;
                int32 r = numeric_int4_opt_error(num, &have_error);
                return have_error ? int32{-1} : r;
            });
            std::string text = pg::guard([&] {
                return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
            });
            // numeric_int4 rounds: compare the text to refuse 1.5 and 1.0.
            if (v < 1 || std::to_string(v) != text) bad(i, "\"schema_version\" must be a positive integer, got " + text);
            ev.schema_version = v;
        }

        JsonbValue* id = field(obj, "id");
        if (id != nullptr && id->type != jbvNull) {
            if (id->type != jbvString) bad(i, "\"id\" must be a UUID string");
            auto parsed = parse_uuid(string_of(id));
            if (!parsed) bad(i, "\"id\" is not a UUID: " + string_of(id));
            if (!seen.insert(*parsed).second)
                throw Error(errcodes::event_id_conflict,
                            "event " + std::to_string(i) + ": id " + format_uuid(*parsed) +
                                " appears twice in this append");
            ev.id = *parsed;
            ev.id_given = true;
        }
        out.push_back(std::move(ev));
    }
    return out;
}

}  // namespace casebook::eventstore
