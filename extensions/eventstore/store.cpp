// eventstore: append (see store.hpp).
#include "store.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>

#include "errcodes.hpp"
#include "event_scan.hpp"
#include "event_writer.hpp"
#include "global_order.hpp"
#include "notifier.hpp"
#include "personal.hpp"
#include "projections.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/timestamp.h"
#include "commands/async.h"
#include "common/hashfn.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/uuid.h"
}

namespace casebook::eventstore {
namespace {

// advisory lock tag field 4 for stream locks (pg_locks.objsubid), distinct
// from pg_advisory_lock's 1 and 2.
constexpr uint16_t kStreamLockSpace = 0x4553;

// One writer per stream at a time, until the end of the transaction. The
// key is a 64-bit hash of the name: a collision only makes two streams
// share a lock, it never merges them.
void lock_stream(const std::string& stream) {
    const char* data = stream.data();
    int len = static_cast<int>(stream.size());
    pg::guard([&] {
        uint64 h = hash_bytes_extended(reinterpret_cast<const unsigned char*>(data), len, 0x45564E54);
        LOCKTAG tag;
        SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(h >> 32), static_cast<uint32>(h),
                             kStreamLockSpace);
        (void)LockAcquire(&tag, ExclusiveLock, false, false);
    });
}

// Serializes appends of the same client-supplied event id (field 4 of the
// tag: another space than the stream locks).
void lock_event_id(const Uuid& u) {
    const unsigned char* data = u.data();
    pg::guard([&] {
        uint64 h = hash_bytes_extended(data, 16, 0x45564944);
        LOCKTAG tag;
        SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(h >> 32), static_cast<uint32>(h),
                             kStreamLockSpace + 1);
        (void)LockAcquire(&tag, ExclusiveLock, false, false);
    });
}

Uuid7Generator& uuid_generator() {
    static Uuid7Generator gen;
    return gen;
}

// n new ids: the random bits of all of them from one pg_strong_random call
// (one system call per append, not per event), one clock reading; the
// generator keeps them increasing.
std::vector<Uuid> new_event_ids(std::size_t n) {
    std::vector<uint8_t> random(8 * n);
    uint8_t* rp = random.data();
    std::size_t len = random.size();
    bool ok = pg::guard([&] { return pg_strong_random(rp, len); });
    if (!ok) throw Error(errcodes::internal_error, "eventstore: could not generate random bytes");
    TimestampTz now = pg::guard([] { return GetCurrentTimestamp(); });
    // TimestampTz counts microseconds since 2000-01-01.
    uint64_t unix_ms = static_cast<uint64_t>(now / 1000) +
                       static_cast<uint64_t>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * 86400000ULL;
    std::vector<Uuid> ids;
    ids.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::array<uint8_t, 8> r;
        std::memcpy(r.data(), rp + 8 * i, 8);
        ids.push_back(uuid_generator().next(unix_ms, r));
    }
    return ids;
}

Datum uuid_datum(const Uuid& u) {
    auto* p = static_cast<pg_uuid_t*>(pg::guard([] { return palloc(sizeof(pg_uuid_t)); }));
    std::memcpy(p->data, u.data(), 16);
    return UUIDPGetDatum(p);
}

spi::Statement kKnownIds{
    "SELECT event_id, stream_id, version, event_type, event_data, personal FROM eventstore.events "
    "WHERE event_id = ANY ($1)",
    {UUIDARRAYOID}};

spi::Statement kInsert{
    "INSERT INTO eventstore.events (position, stream_id, version, event_id, event_type, "
    "schema_version, event_data, personal, metadata, category) "
    "SELECT $1 + u.i - 1, $2, $3 + u.i, u.id, u.t, u.sv, u.d, u.p, u.m, $4 "
    "FROM unnest($5::uuid[], $6::text[], $7::int4[], $8::jsonb[], $10::jsonb[], $9::jsonb[]) "
    "WITH ORDINALITY AS u(id, t, sv, d, p, m, i)",
    {INT8OID, TEXTOID, INT8OID, TEXTOID, UUIDARRAYOID, TEXTARRAYOID, INT4ARRAYOID, JSONBARRAYOID,
     JSONBARRAYOID, JSONBARRAYOID}};

struct Head {
    int64_t version = 0;
    std::optional<std::string> category;
};

// The head through SQL, for a table an owner changed (a retyped column).
spi::Statement kHead{
    "SELECT version::int8, category::text FROM eventstore.events WHERE stream_id = $1 "
    "ORDER BY version DESC LIMIT 1",
    {TEXTOID}};

Head read_head(spi::Connection& conn, const std::string& stream, bool latest) {
    // A fresh snapshot in READ COMMITTED (the transaction snapshot is
    // re-taken per call there), taken after the stream lock was granted:
    // it sees the previous writer's commit.
    StreamHead sh = read_stream_head(stream, latest);
    Head h;
    if (!sh.readable) {
        spi::Rows rows = latest ? conn.execute_latest(kHead, {spi::text_param(stream)})
                                : conn.execute(kHead, {spi::text_param(stream)});
        if (!rows.empty()) {
            h.version = rows.int8_at(0, 1);
            h.category = rows.text(0, 2);
        }
        return h;
    }
    if (sh.found) {
        h.version = sh.version;
        h.category = sh.category;
    }
    return h;
}

}  // namespace

std::string category_of(const std::string& stream) {
    auto dash = stream.find('-');
    return dash == std::string::npos ? stream : stream.substr(0, dash);
}

void check_name(const std::string& value, const char* what) {
    if (value.empty() || value.size() > kMaxNameBytes)
        throw Error(errcodes::invalid_parameter_value,
                    std::string(what) + " must be 1 to " + std::to_string(kMaxNameBytes) +
                        " bytes, got " + std::to_string(value.size()));
}

int64_t append(spi::Connection& conn, AppendRequest& req) {
    lock_stream(req.stream);

    // The stream's head, read after the lock: in READ COMMITTED every
    // statement takes a new snapshot, so it sees the previous writer's commit.
    Head head = read_head(conn, req.stream, false);
    if (pg::guard([] { return IsolationUsesXactSnapshot(); })) {
        // A transaction snapshot can predate the last append: appending on
        // top of what it sees would collide; report it as the serialization
        // failure it is.
        Head latest = read_head(conn, req.stream, true);
        if (latest.version != head.version)
            throw Error(errcodes::serialization_failure,
                        "could not serialize access: stream \"" + req.stream +
                            "\" was appended to after this transaction's snapshot",
                        "Snapshot sees version " + std::to_string(head.version) + ", the stream is at " +
                            std::to_string(latest.version) + ".",
                        "Retry the transaction.");
    }

    std::string category = req.category ? *req.category : category_of(req.stream);
    if (head.category) {
        if (req.category && *head.category != *req.category)
            throw Error(errcodes::stream_category_mismatch,
                        "stream \"" + req.stream + "\" is in category \"" + *head.category +
                            "\", not \"" + *req.category + "\"",
                        "", "Omit category, or pass the stream's own.");
        category = *head.category;  // an existing stream keeps the category it was created with
    }
    if (category.empty())
        throw Error(errcodes::invalid_parameter_value,
                    "stream \"" + req.stream + "\" starts with '-': its category would be empty", "",
                    "Pass category explicitly, or name the stream category-id.");

    // Idempotent retries: ids already stored in this stream are skipped.
    // Given ids are locked first (in id order, so two appends cannot
    // deadlock on them): a concurrent append of the same id to another
    // stream is then seen committed, and reported as KB203.
    std::vector<Datum> given;
    std::vector<Uuid> given_ids;
    std::map<Uuid, const EventInput*> by_id;
    for (auto& ev : req.events) {
        if (!ev.id_given) continue;
        given.push_back(uuid_datum(ev.id));
        given_ids.push_back(ev.id);
        by_id[ev.id] = &ev;
    }
    std::sort(given_ids.begin(), given_ids.end());
    personal::KeyRing keys(conn, true);
    for (const Uuid& u : given_ids) lock_event_id(u);
    std::map<Uuid, int64_t> stored;
    if (!given.empty()) {
        Datum ids = spi::array_of(given, UUIDOID);
        // A snapshot taken now, after the id locks: it sees every committed
        // holder of these ids, also in REPEATABLE READ. Under partitioning
        // nothing else keeps event ids unique (docs/eventstore.md, Storage).
        spi::Rows rows = conn.execute_latest(kKnownIds, {spi::datum_param(ids)});
        for (uint64_t r = 0; r < rows.size(); ++r) {
            Uuid u{};
            auto* p = DatumGetUUIDP(*rows.datum(r, 1));
            std::memcpy(u.data(), p->data, 16);
            std::string owner = rows.text(r, 2).value_or("");
            if (owner != req.stream)
                throw Error(errcodes::event_id_conflict,
                            "event id " + format_uuid(u) + " is already stored in stream \"" + owner + "\"",
                            "", "Event ids are unique across the store; generate a new id for a new event.");
            // A retry carries the same event; the same id on a different
            // event is a client bug, not a retry.
            const EventInput* mine = by_id[u];
            Datum stored_data = *rows.datum(r, 5);
            if (auto sealed = rows.datum(r, 6))  // compare what was appended, not the ciphertext
                stored_data = personal::reveal(keys, stored_data, *sealed, *rows.datum(r, 1));
            Datum my_data = mine->data;
            bool same = rows.text(r, 4).value_or("") == mine->type &&
                        pg::guard([&] {
                            return DatumGetBool(DirectFunctionCall2(jsonb_eq, stored_data, my_data));
                        });
            if (!same)
                throw Error(errcodes::event_id_conflict,
                            "event id " + format_uuid(u) + " is already stored in stream \"" + owner +
                                "\" with a different type or data",
                            "", "A retry must resend the same event; a new event needs a new id.");
            stored[u] = rows.int8_at(r, 3);
        }
    }
    std::vector<EventInput*> fresh;
    int64_t retried_version = 0;
    for (auto& ev : req.events) {
        auto it = ev.id_given ? stored.find(ev.id) : stored.end();
        if (it != stored.end()) {
            retried_version = std::max(retried_version, it->second);
        } else {
            fresh.push_back(&ev);
        }
    }
    if (fresh.empty()) return retried_version;  // the whole call was a retry

    if (req.expected_version && *req.expected_version != head.version)
        throw Error(errcodes::wrong_expected_version,
                    "stream \"" + req.stream + "\" is at version " + std::to_string(head.version) +
                        ", expected " + std::to_string(*req.expected_version),
                    "stream: " + req.stream + ", expected version: " + std::to_string(*req.expected_version) +
                        ", actual version: " + std::to_string(head.version),
                    "Reload the stream, re-apply the command and append again.");

    std::size_t need_ids = 0;
    for (EventInput* ev : fresh) need_ids += ev->id_given ? 0 : 1;
    std::vector<Uuid> generated = need_ids ? new_event_ids(need_ids) : std::vector<Uuid>();
    std::size_t next_generated = 0;
    std::vector<Datum> ids, types, versions, data, metadata, sealed;
    std::vector<bool> sealed_null;
    for (EventInput* ev : fresh) {
        if (!ev->id_given) ev->id = generated[next_generated++];
        ids.push_back(uuid_datum(ev->id));
        types.push_back(PointerGetDatum(pg::make_text(ev->type)));
        versions.push_back(Int32GetDatum(ev->schema_version));
        Datum personal_meta = 0;
        data.push_back(personal::protect(conn, keys, req.stream, *ev, ids.back(), &personal_meta));
        sealed.push_back(personal_meta);
        sealed_null.push_back(personal_meta == 0);
        metadata.push_back(ev->metadata);
    }
    int64_t first = global_order::allocate(conn, static_cast<int64_t>(fresh.size()));
    TimestampTz now = pg::guard([] { return GetCurrentTransactionStartTimestamp(); });
    EventRows rows{static_cast<int>(fresh.size()), first, head.version + 1,
                   PointerGetDatum(pg::make_text(req.stream)), PointerGetDatum(pg::make_text(category)),
                   ids.data(), types.data(), versions.data(), data.data(), sealed.data(), metadata.data(), now};
    if (!write_events(rows)) {
        // The owner put INSERT triggers, rules or row security on the table:
        // insert through SQL so that they run.
        Datum id_array = spi::array_of(ids, UUIDOID);
        Datum type_array = spi::array_of(types, TEXTOID);
        Datum sv_array = spi::array_of(versions, INT4OID);
        Datum data_array = spi::array_of(data, JSONBOID);
        Datum meta_array = spi::array_of(metadata, JSONBOID);
        Datum sealed_array = spi::array_with_nulls(sealed, sealed_null, JSONBOID);
        conn.execute(kInsert, {spi::int8_param(first), spi::text_param(req.stream), spi::int8_param(head.version),
                               spi::text_param(category), spi::datum_param(id_array), spi::datum_param(type_array),
                               spi::datum_param(sv_array), spi::datum_param(data_array),
                               spi::datum_param(meta_array), spi::datum_param(sealed_array)});
    }

    projections::fold_inline(conn, projections::Appended{req.stream, category, fresh, first, head.version + 1, ids});

    // A wake-up for LISTENers, sent after commit by the database's notifier
    // worker (notifier.hpp). Readers never depend on it.
    notifier::request_wakeup();
    return head.version + static_cast<int64_t>(fresh.size());
}

}  // namespace casebook::eventstore
