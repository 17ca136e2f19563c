// eventstore: personal data and crypto-shredding (see personal.hpp).
#include "personal.hpp"

#include <array>
#include <cstring>
#include <memory>

#include "catalog_cache.hpp"
#include "errcodes.hpp"
#include "jsonb_bridge.hpp"
#include "projections.hpp"
#include "store.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"
}

namespace casebook::eventstore::personal {

struct Spec {
    Path subject;
    std::vector<Path> fields;
    std::vector<std::string> dotted;
};

namespace {

spi::Statement kFindKey{"SELECT key FROM eventstore.subject_keys WHERE subject = $1", {TEXTOID}};
spi::Statement kFindKeyLocked{"SELECT key FROM eventstore.subject_keys WHERE subject = $1 FOR SHARE", {TEXTOID}};
spi::Statement kCreateKey{
    "INSERT INTO eventstore.subject_keys (subject, key) VALUES ($1, $2) ON CONFLICT (subject) DO NOTHING",
    {TEXTOID, BYTEAOID}};
spi::Statement kRecordStream{
    "INSERT INTO eventstore.subject_streams (subject, stream_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    {TEXTOID, TEXTOID}};
spi::Statement kSpecs{"SELECT event_type, subject_path, fields FROM eventstore.personal_fields", {}};
spi::Statement kSetSpec{
    "INSERT INTO eventstore.personal_fields (event_type, subject_path, fields) VALUES ($1, $2, $3) "
    "ON CONFLICT (event_type) DO UPDATE SET subject_path = EXCLUDED.subject_path, fields = EXCLUDED.fields",
    {TEXTOID, TEXTOID, TEXTARRAYOID}};
spi::Statement kDropSpec{"DELETE FROM eventstore.personal_fields WHERE event_type = $1", {TEXTOID}};
spi::Statement kDeleteKey{"DELETE FROM eventstore.subject_keys WHERE subject = $1", {TEXTOID}};
spi::Statement kSubjectStreams{
    "DELETE FROM eventstore.subject_streams WHERE subject = $1 RETURNING stream_id", {TEXTOID}};


// The personal field definitions, cached per backend (held by the caller
// while used: a reload never frees them under it).
std::shared_ptr<const Specs> load_specs(spi::Connection& conn) {
    static std::shared_ptr<const Specs> cached;
    static uint64_t generation = 0;
    uint64_t gen = catalog::generation();
    if (cached && gen == generation) return cached;
    auto fresh_ptr = std::make_shared<Specs>();
    Specs& fresh = *fresh_ptr;
    spi::Rows rows = conn.execute(kSpecs, {}, false);
    for (uint64_t r = 0; r < rows.size(); ++r) {
        Spec s;
        s.subject = parse_path(rows.text(r, 2).value_or(""));
        Datum arr = *rows.datum(r, 3);
        Datum* elems = nullptr;
        bool* nulls = nullptr;
        int n = 0;
        pg::guard([&] {
            deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
        });
        for (int i = 0; i < n; ++i) {
            if (nulls[i]) continue;
            char* cs = pg::guard([&] { return text_to_cstring(DatumGetTextPP(elems[i])); });
            s.dotted.emplace_back(cs);
            s.fields.push_back(parse_path(cs));
        }
        fresh.emplace(rows.text(r, 1).value_or(""), std::move(s));
    }
    cached = std::move(fresh_ptr);
    generation = gen;
    return cached;
}

std::string aad_of(Datum event_id, const std::string& dotted) {
    auto* u = DatumGetUUIDP(event_id);
    std::string aad(reinterpret_cast<const char*>(u->data), UUID_LEN);
    aad += '/';
    aad += dotted;
    return aad;
}

std::string jsonb_text(const JValue& v) {
    Datum d = to_jsonb(v);
    char* s = pg::guard([&] { return JsonbToCString(nullptr, &DatumGetJsonbP(d)->root, VARSIZE(DatumGetPointer(d))); });
    return std::string(s);
}

JValue parse_json_text(const std::string& text) {
    const char* t = text.c_str();
    Datum d = pg::guard([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(t)); });
    return to_jvalue(d);
}

std::string subject_text(const JValue& v) {
    if (v.kind() == JValue::Kind::string || v.kind() == JValue::Kind::number) return v.text();
    return {};
}

}  // namespace

const Specs& KeyRing::specs() {
    if (!specs_) specs_ = load_specs(conn_);
    return *specs_;
}

std::optional<aead::Key> KeyRing::find(const std::string& subject) {
    auto it = cache_.find(subject);
    if (it != cache_.end()) return it->second;
    spi::Rows rows = conn_.execute(lock_ ? kFindKeyLocked : kFindKey, {spi::text_param(subject)}, false);
    std::optional<aead::Key> key;
    if (!rows.empty()) {
        Datum d = *rows.datum(0, 1);
        auto* b = reinterpret_cast<bytea*>(pg::guard([&] { return PointerGetDatum(DatumGetByteaPP(d)); }));
        if (VARSIZE_ANY_EXHDR(b) == 32) {
            aead::Key k;
            std::memcpy(k.data(), VARDATA_ANY(b), 32);
            key = k;
        }
    }
    cache_[subject] = key;
    return key;
}

aead::Key KeyRing::find_or_create(const std::string& subject) {
    if (auto k = find(subject)) return *k;
    aead::Key fresh;
    uint8_t* p = fresh.data();
    if (!pg::guard([&] { return pg_strong_random(p, 32); }))
        throw Error(errcodes::internal_error, "eventstore: could not generate a subject key");
    bytea* b = static_cast<bytea*>(pg::guard([] { return palloc(VARHDRSZ + 32); }));
    SET_VARSIZE(b, VARHDRSZ + 32);
    std::memcpy(VARDATA(b), fresh.data(), 32);
    conn_.execute(kCreateKey, {spi::text_param(subject), spi::datum_param(PointerGetDatum(b))});
    cache_.erase(subject);
    // Another transaction may have created it first: use whichever is stored.
    auto k = find(subject);
    if (!k) throw Error(errcodes::internal_error, "eventstore: subject key vanished");
    return *k;
}

Datum protect(spi::Connection& conn, KeyRing& keys, const std::string& stream, const EventInput& ev,
              Datum event_id, Datum* personal) {
    *personal = 0;
    const Specs& all = keys.specs();
    auto it = all.find(ev.type);
    if (it == all.end()) return ev.data;
    const Spec& spec = it->second;
    JValue doc = to_jvalue(ev.data);
    const JValue* subject_value = get_path(doc, spec.subject);
    std::string subject = subject_value ? subject_text(*subject_value) : std::string();
    if (subject.empty())
        throw Error(errcodes::personal_subject_missing,
                    "event type " + ev.type + " has personal fields but no subject in its data", "",
                    "Events of this type need a string or number at their subject path.");
    aead::Key key = keys.find_or_create(subject);
    JValue sealed_fields = JValue::array();
    for (std::size_t i = 0; i < spec.fields.size(); ++i) {
        const JValue* v = get_path(doc, spec.fields[i]);
        if (v == nullptr) continue;
        aead::Nonce nonce;
        uint8_t* np = nonce.data();
        if (!pg::guard([&] { return pg_strong_random(np, nonce.size()); }))
            throw Error(errcodes::internal_error, "eventstore: could not generate a nonce");
        std::string sealed = aead::seal(key, nonce, jsonb_text(*v), aad_of(event_id, spec.dotted[i]));
        set_path(doc, spec.fields[i], JValue::string(aead::base64_encode(sealed)));
        sealed_fields.items().push_back(JValue::string(spec.dotted[i]));
    }
    JValue meta = JValue::object();
    meta.put("subject", JValue::string(subject));
    meta.put("fields", std::move(sealed_fields));
    *personal = to_jsonb(meta);
    conn.execute(kRecordStream, {spi::text_param(subject), spi::text_param(stream)});
    return to_jsonb(doc);
}

Datum reveal(KeyRing& keys, Datum data, Datum personal, Datum event_id) {
    JValue meta = to_jvalue(personal);
    const JValue* subject = meta.find("subject");
    const JValue* fields = meta.find("fields");
    if (subject == nullptr || fields == nullptr || fields->kind() != JValue::Kind::array) return data;
    std::optional<aead::Key> key = keys.find(subject->text());
    JValue doc = to_jvalue(data);
    for (const JValue& f : fields->items()) {
        Path path = parse_path(f.text());
        const JValue* sealed = get_path(doc, path);
        if (sealed == nullptr) continue;
        JValue plain;  // JSON null: forgotten, or not ours to open
        if (key && sealed->kind() == JValue::Kind::string) {
            auto raw = aead::base64_decode(sealed->text());
            auto opened = raw ? aead::open(*key, *raw, aad_of(event_id, f.text())) : std::nullopt;
            if (opened) plain = parse_json_text(*opened);
        }
        set_path(doc, path, std::move(plain));
    }
    return to_jsonb(doc);
}

void set_fields(spi::Connection& conn, const std::string& type, const std::optional<std::string>& subject_path,
                const std::vector<std::string>& fields) {
    check_name(type, "event type");
    if (!subject_path) {  // NULL subject path: the type has no personal fields any more
        conn.execute(kDropSpec, {spi::text_param(type)});
        pg::guard([] { CommandCounterIncrement(); });
        return;
    }
    auto valid = [](const std::string& p) {
        if (p.empty()) return false;
        for (const auto& k : parse_path(p))
            if (k.empty()) return false;
        return true;
    };
    if (!valid(*subject_path))
        throw Error(errcodes::invalid_parameter_value, "subject_path \"" + *subject_path + "\" is not a path");
    if (fields.empty()) throw Error(errcodes::invalid_parameter_value, "fields must name at least one path");
    for (const auto& f : fields) {
        if (!valid(f)) throw Error(errcodes::invalid_parameter_value, "field \"" + f + "\" is not a path");
        if (f == *subject_path)
            throw Error(errcodes::invalid_parameter_value, "the subject path cannot itself be a personal field",
                        "", "Use an opaque subject id (a customer id), not the personal value.");
    }
    std::vector<Datum> elems;
    for (const auto& f : fields) elems.push_back(PointerGetDatum(pg::make_text(f)));
    Datum* ep = elems.data();
    int n = static_cast<int>(elems.size());
    Datum arr = pg::guard([&] { return PointerGetDatum(construct_array(ep, n, TEXTOID, -1, false, TYPALIGN_INT)); });
    conn.execute(kSetSpec, {spi::text_param(type), spi::text_param(*subject_path), spi::datum_param(arr)});
    pg::guard([] { CommandCounterIncrement(); });
}

bool forget(spi::Connection& conn, const std::string& subject) {
    if (subject.empty()) throw Error(errcodes::invalid_parameter_value, "subject must not be empty");
    bool had_key = conn.execute(kDeleteKey, {spi::text_param(subject)}).size() > 0;
    spi::Rows rows = conn.execute(kSubjectStreams, {spi::text_param(subject)});
    std::vector<std::string> streams;
    for (uint64_t r = 0; r < rows.size(); ++r) streams.push_back(rows.text(r, 1).value_or(""));
    // Projection states and snapshots were built from the opened fields:
    // rebuild those streams now that the fields read as NULL.
    for (const auto& s : streams) projections::refresh_stream(conn, s);
    return had_key;
}

}  // namespace casebook::eventstore::personal
