// eventstore: SQL entry points (declared in eventstore--0.1.0.sql) and the
// library's start-up (shared memory for the global order).
#include <string>

#include "args.hpp"
#include "background.hpp"
#include "errcodes.hpp"
#include "event_batch.hpp"
#include "catalog_cache.hpp"
#include "event_record.hpp"
#include "global_order.hpp"
#include "personal.hpp"
#include "projections.hpp"
#include "pg_boundary.hpp"
#include "reads.hpp"
#include "spi.hpp"
#include "store.hpp"
#include "subscriptions.hpp"

extern "C" {
#include "utils/guc.h"
#include "commands/trigger.h"
#include "utils/array.h"
#include "utils/inval.h"

#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/wait_event.h"

PG_MODULE_MAGIC;

void _PG_init(void);
PGDLLEXPORT void eventstore_resume_main(Datum arg);
}

using casebook::Error;
namespace errcodes = casebook::errcodes;
namespace args = casebook::args;
namespace spi = casebook::spi;
namespace es = casebook::eventstore;

namespace {
int g_partition_positions = 0;  // read by the install script only
}  // namespace

// Through the boundary's entry: an exception from the installers (a guarded
// call that failed) is reported as an ERROR, never std::terminate.
void _PG_init(void) {
    casebook::pg::entry([] {
        es::global_order::install();
        es::catalog::install();
        casebook::pg::guard([] {
            DefineCustomIntVariable(
                "eventstore.partition_positions",
                "Positions per range partition of eventstore.events; 0 = one table. Read at CREATE EXTENSION only.",
                "Set it before CREATE EXTENSION eventstore, then run eventstore.manage_partitions() (pg_partman).",
                &g_partition_positions, 0, 0, INT_MAX, PGC_SUSET, 0, nullptr, nullptr, nullptr);
            MarkGUCPrefixReserved("eventstore");
        });
        // After every start (a crash restart included): async projections
        // resume at once instead of at the next pg_cron minute.
        if (process_shared_preload_libraries_in_progress)
            casebook::pg::background::register_startup("eventstore", "eventstore_resume_main", "eventstore startup");
    });
}

namespace {

void resume_projections() {
    if (casebook::pg::background::run_int8("SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = 'eventstore' AND extversion <> '0.1.0'") == 0)
        return;
    if (casebook::pg::background::run_int8("SELECT count(*) FROM eventstore.projections WHERE mode = 'async'") == 0) return;
    // With the pg_cron job, its loop takes over at the next minute: fold
    // every 200 ms until a little past it. Without, catch up once and stop
    // (whoever runs run_projections() takes it from there).
    bool cron = casebook::pg::background::run_int8("SELECT count(*) FROM eventstore.cron_jobs WHERE jobname = 'eventstore-projections'") > 0;
    int64 until = casebook::pg::background::run_int8(
        "SELECT ((extract(epoch FROM date_trunc('minute', pg_catalog.clock_timestamp())) + 63) * 1000)::bigint");
    for (;;) {
        int64 folded = casebook::pg::background::run_int8("SELECT eventstore.run_projections()");
        if (!cron && folded == 0) break;
        if (cron && casebook::pg::background::run_int8("SELECT (extract(epoch FROM pg_catalog.clock_timestamp()) * 1000)::bigint") >= until)
            break;
        if (folded == 0) {
            (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 200, PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
        }
        CHECK_FOR_INTERRUPTS();
    }
}

}  // namespace

// The per-database worker the startup launcher runs (background.hpp).
void eventstore_resume_main(Datum arg) {
    casebook::pg::background::connect_worker(arg, "eventstore resume");
    casebook::pg::entry([] { resume_projections(); });
    proc_exit(0);
}

namespace {

std::optional<int32_t> optional_int4(FunctionCallInfo fcinfo, int n) {
    if (args::is_null(fcinfo, n)) return std::nullopt;
    return args::int4(fcinfo, n, "member");
}

}  // namespace

// Install-time check: CREATE EXTENSION fails clearly without the preload,
// and a re-created extension reloads its counter from the (new) table.
CASEBOOK_FUNCTION(eventstore_prepare_install) {
    es::global_order::require_preloaded();
    if (!es::global_order::forget_database())
        throw Error(errcodes::extension_not_ready,
                    "eventstore: appends are in flight in this database; retry CREATE EXTENSION");
    PG_RETURN_VOID();
}

CASEBOOK_FUNCTION(eventstore_append) {
    es::AppendRequest req;
    req.stream = args::string(fcinfo, 0, "stream");
    es::check_name(req.stream, "stream");
    Datum events = args::datum(fcinfo, 1, "events");
    req.expected_version = args::optional_int8(fcinfo, 2);
    if (req.expected_version && *req.expected_version < 0)
        throw Error(errcodes::invalid_parameter_value,
                    "expected_version must be NULL (any), 0 (new stream) or a version, got " +
                        std::to_string(*req.expected_version));
    req.category = args::optional_string(fcinfo, 3);
    if (req.category) es::check_name(*req.category, "category");
    es::global_order::require_preloaded();
    req.events = es::parse_batch(events);

    spi::Connection conn;
    int64_t version = es::append(conn, req);
    conn.finish();
    return Int64GetDatum(version);
}

CASEBOOK_FUNCTION(eventstore_read_stream) {
    std::string stream = args::string(fcinfo, 0, "stream");
    auto from = args::optional_int8(fcinfo, 1);
    int32_t max = args::int4(fcinfo, 2, "max");
    bool backward = DatumGetBool(args::datum(fcinfo, 3, "backward"));
    es::ResultSink sink(fcinfo);
    spi::Connection conn;
    es::read_stream(conn, sink, stream, from, max, backward);
    conn.finish();
    return (Datum)0;
}

CASEBOOK_FUNCTION(eventstore_read_category) {
    std::string category = args::string(fcinfo, 0, "category");
    int64_t after = args::int8(fcinfo, 1, "after_position");
    int32_t max = args::int4(fcinfo, 2, "max");
    es::ResultSink sink(fcinfo);
    spi::Connection conn;
    es::read_global(conn, sink, category, after, max);
    conn.finish();
    return (Datum)0;
}

CASEBOOK_FUNCTION(eventstore_read_all) {
    int64_t after = args::int8(fcinfo, 0, "after_position");
    int32_t max = args::int4(fcinfo, 1, "max");
    es::ResultSink sink(fcinfo);
    spi::Connection conn;
    es::read_global(conn, sink, std::nullopt, after, max);
    conn.finish();
    return (Datum)0;
}

CASEBOOK_FUNCTION(eventstore_head) {
    spi::Connection conn;
    int64_t head = es::head_position(conn);
    conn.finish();
    return Int64GetDatum(head);
}

CASEBOOK_FUNCTION(eventstore_next_position) {
    spi::Connection conn;
    int64_t p = es::global_order::allocate(conn, 1);
    conn.finish();
    return Int64GetDatum(p);
}

CASEBOOK_FUNCTION(eventstore_subscribe) {
    std::string name = args::string(fcinfo, 0, "name");
    auto category = args::optional_string(fcinfo, 1);
    int32_t members = args::int4(fcinfo, 2, "members");
    int64_t start_after = args::int8(fcinfo, 3, "start_after");
    spi::Connection conn;
    es::subscriptions::subscribe(conn, name, category, members, start_after);
    conn.finish();
    PG_RETURN_VOID();
}

CASEBOOK_FUNCTION(eventstore_unsubscribe) {
    std::string name = args::string(fcinfo, 0, "name");
    spi::Connection conn;
    bool dropped = es::subscriptions::unsubscribe(conn, name);
    conn.finish();
    PG_RETURN_BOOL(dropped);
}

CASEBOOK_FUNCTION(eventstore_poll) {
    std::string name = args::string(fcinfo, 0, "name");
    int32_t max = args::int4(fcinfo, 1, "max");
    auto member = optional_int4(fcinfo, 2);
    es::ResultSink sink(fcinfo);
    spi::Connection conn;
    es::subscriptions::poll(conn, sink, name, max, member);
    conn.finish();
    return (Datum)0;
}

CASEBOOK_FUNCTION(eventstore_ack) {
    std::string name = args::string(fcinfo, 0, "name");
    int64_t position = args::int8(fcinfo, 1, "position");
    auto member = optional_int4(fcinfo, 2);
    spi::Connection conn;
    int64_t checkpoint = es::subscriptions::ack(conn, name, position, member);
    conn.finish();
    return Int64GetDatum(checkpoint);
}

// Statement-level trigger on eventstore.events: the store is append-only.
CASEBOOK_FUNCTION(eventstore_append_only) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw Error(errcodes::casebook_error, "eventstore._append_only() is a trigger function");
    auto* trig = reinterpret_cast<TriggerData*>(fcinfo->context);
    const char* op = TRIGGER_FIRED_BY_UPDATE(trig->tg_event)   ? "UPDATE"
                     : TRIGGER_FIRED_BY_DELETE(trig->tg_event) ? "DELETE"
                                                              : "TRUNCATE";
    throw Error(errcodes::events_append_only, std::string(op) + " on eventstore.events is not allowed",
                "Events are immutable facts; the store only grows.",
                "Append a correcting event instead.");
}

// Statement-level trigger on the definition tables: invalidates every
// backend's cached definitions when the writing transaction commits.
CASEBOOK_FUNCTION(eventstore_invalidate) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw Error(errcodes::casebook_error, "eventstore._invalidate() is a trigger function");
    auto* trig = reinterpret_cast<TriggerData*>(fcinfo->context);
    Oid rel = RelationGetRelid(trig->tg_relation);
    casebook::pg::guard([&] { CacheInvalidateRelcacheByRelid(rel); });
    return PointerGetDatum(nullptr);
}

namespace {
std::optional<Oid> optional_oid(FunctionCallInfo fcinfo, int n) {
    if (args::is_null(fcinfo, n)) return std::nullopt;
    return DatumGetObjectId(PG_GETARG_DATUM(n));
}
std::optional<Datum> optional_datum(FunctionCallInfo fcinfo, int n) {
    if (args::is_null(fcinfo, n)) return std::nullopt;
    return PG_GETARG_DATUM(n);
}
}  // namespace

CASEBOOK_FUNCTION(eventstore_create_projection) {
    es::projections::CreateRequest req;
    req.name = args::string(fcinfo, 0, "name");
    req.category = args::optional_string(fcinfo, 1);
    req.reducer = optional_datum(fcinfo, 2);
    req.apply_function = optional_oid(fcinfo, 3);
    req.mode = args::string(fcinfo, 4, "mode");
    auto every = args::is_null(fcinfo, 5) ? std::optional<int32_t>() : args::int4(fcinfo, 5, "snapshot_every");
    if (every && *every <= 0)
        throw Error(errcodes::invalid_parameter_value,
                    "snapshot_every must be positive (or NULL for none), got " + std::to_string(*every));
    req.snapshot_every = every.value_or(0);
    req.initial_state = args::datum(fcinfo, 6, "initial_state");
    spi::Connection conn;
    int64_t n = es::projections::create(conn, req);
    conn.finish();
    return Int64GetDatum(n);
}

CASEBOOK_FUNCTION(eventstore_drop_projection) {
    std::string name = args::string(fcinfo, 0, "name");
    spi::Connection conn;
    bool dropped = es::projections::drop(conn, name);
    conn.finish();
    PG_RETURN_BOOL(dropped);
}

CASEBOOK_FUNCTION(eventstore_rebuild) {
    std::string name = args::string(fcinfo, 0, "projection");
    auto stream = args::optional_string(fcinfo, 1);
    spi::Connection conn;
    int64_t n = es::projections::rebuild(conn, name, stream);
    conn.finish();
    return Int64GetDatum(n);
}

CASEBOOK_FUNCTION(eventstore_run_projection) {
    std::string name = args::string(fcinfo, 0, "name");
    int32_t max = args::int4(fcinfo, 1, "max");
    spi::Connection conn;
    int64_t n = es::projections::run(conn, name, max);
    conn.finish();
    return Int64GetDatum(n);
}

CASEBOOK_FUNCTION(eventstore_run_projections) {
    int32_t max = args::int4(fcinfo, 0, "max");
    spi::Connection conn;
    int64_t n = es::projections::run_all(conn, max);
    conn.finish();
    return Int64GetDatum(n);
}

CASEBOOK_FUNCTION(eventstore_state_at_version) {
    std::string stream = args::string(fcinfo, 0, "stream");
    int64_t version = args::int8(fcinfo, 1, "version");
    auto projection = args::optional_string(fcinfo, 2);
    spi::Connection conn;
    Datum d = es::projections::state_at(conn, stream, version, projection);
    conn.finish();
    return d;
}

CASEBOOK_FUNCTION(eventstore_state_at_time) {
    std::string stream = args::string(fcinfo, 0, "stream");
    TimestampTz at = DatumGetTimestampTz(args::datum(fcinfo, 1, "at"));
    auto projection = args::optional_string(fcinfo, 2);
    spi::Connection conn;
    int64_t version = es::projections::version_at(conn, stream, at);
    Datum d = es::projections::state_at(conn, stream, version, projection);
    conn.finish();
    return d;
}

CASEBOOK_FUNCTION(eventstore_register_upcaster) {
    std::string type = args::string(fcinfo, 0, "event_type");
    int32_t from_version = args::int4(fcinfo, 1, "from_version");
    auto spec = optional_datum(fcinfo, 2);
    auto function = optional_oid(fcinfo, 3);
    spi::Connection conn;
    es::register_upcaster(conn, type, from_version, spec, function);
    conn.finish();
    PG_RETURN_VOID();
}

CASEBOOK_FUNCTION(eventstore_set_personal_fields) {
    std::string type = args::string(fcinfo, 0, "event_type");
    auto subject_path = args::optional_string(fcinfo, 1);
    std::vector<std::string> fields;
    if (subject_path) {
        Datum arr = args::datum(fcinfo, 2, "fields");
        Datum* elems = nullptr;
        bool* nulls = nullptr;
        int n = 0;
        casebook::pg::guard([&] {
            ArrayType* a = DatumGetArrayTypeP(arr);
            if (ARR_NDIM(a) > 1)
                ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("fields must be a one-dimensional array")));
            deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
        });
        for (int i = 0; i < n; ++i) {
            if (nulls[i]) throw Error(errcodes::null_value_not_allowed, "fields must not contain NULL");
            char* s = casebook::pg::guard([&] { return text_to_cstring(DatumGetTextPP(elems[i])); });
            fields.emplace_back(s);
        }
    }
    spi::Connection conn;
    es::personal::set_fields(conn, type, subject_path, fields);
    conn.finish();
    PG_RETURN_VOID();
}

CASEBOOK_FUNCTION(eventstore_forget) {
    std::string subject = args::string(fcinfo, 0, "subject");
    spi::Connection conn;
    bool had = es::personal::forget(conn, subject);
    conn.finish();
    PG_RETURN_BOOL(had);
}
