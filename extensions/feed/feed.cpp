// feed: SQL entry points (declared in feed--0.1.0.sql), settings, and the
// background fan-out worker.
#include <climits>
#include <string>

#include "args.hpp"
#include "background.hpp"
#include "errcodes.hpp"
#include "follow_counts.hpp"
#include "graph_import.hpp"
#include "home.hpp"
#include "home_reader.hpp"
#include "pg_boundary.hpp"
#include "posting.hpp"
#include "settings.hpp"
#include "social.hpp"
#include "spi.hpp"
#include "trim_schedule.hpp"

extern "C" {
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

PG_MODULE_MAGIC;

void _PG_init(void);
PGDLLEXPORT void feed_fanout_main(Datum main_arg);
}

using casebook::Error;
namespace errcodes = casebook::errcodes;
namespace args = casebook::args;
namespace spi = casebook::spi;
namespace feed = casebook::feed;

namespace {
feed::Settings g_settings{10000, 800, 30 * 24 * 3600, 1000, 5000, 50, 24 * 3600, true};
}  // namespace

const feed::Settings& feed::settings() { return g_settings; }

// Through the boundary's entry: an exception from a guarded call is reported
// as an ERROR, never std::terminate.
void _PG_init(void) {
    casebook::pg::entry([] {
        feed::trim_schedule::install();
        feed::follow_counts::install();
        casebook::pg::guard([] {
            DefineCustomIntVariable("feed.celebrity_threshold",
                                    "Followers from which an author's posts are pulled at read time instead of fanned out.",
                                    nullptr, &g_settings.celebrity_threshold, 10000, 1, INT_MAX, PGC_SUSET, 0, nullptr,
                                    nullptr, nullptr);
            DefineCustomIntVariable("feed.timeline_max", "Entries a materialized timeline keeps.", nullptr,
                                    &g_settings.timeline_max, 800, 1, 100000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
            DefineCustomIntVariable("feed.inactive_after",
                                    "Fan-out skips users not seen for this long; their timeline is rebuilt on their next read.",
                                    nullptr, &g_settings.inactive_after_s, 30 * 24 * 3600, 60, INT_MAX, PGC_SUSET,
                                    GUC_UNIT_S, nullptr, nullptr, nullptr);
            DefineCustomIntVariable("feed.fanout_sync_max",
                                    "Fan-outs to at most this many followers run in the posting transaction; larger ones in background batches.",
                                    nullptr, &g_settings.fanout_sync_max, 1000, 0, INT_MAX, PGC_SUSET, 0, nullptr, nullptr,
                                    nullptr);
            DefineCustomIntVariable("feed.fanout_batch", "Followers per background fan-out batch (one transaction each).",
                                    nullptr, &g_settings.fanout_batch, 5000, 1, 1000000, PGC_SUSET, 0, nullptr, nullptr,
                                    nullptr);
            DefineCustomIntVariable("feed.follow_backfill",
                                    "Recent posts of the followee copied into a new follower's timeline.", nullptr,
                                    &g_settings.follow_backfill, 50, 0, 100000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
            DefineCustomIntVariable("feed.cursor_ttl", "How long a home() cursor stays valid.", nullptr,
                                    &g_settings.cursor_ttl_s, 24 * 3600, 1, INT_MAX, PGC_SUSET, GUC_UNIT_S, nullptr,
                                    nullptr, nullptr);
            DefineCustomBoolVariable("feed.fanout_worker",
                                     "Start the database's background fan-out worker after a commit that queued a job; off: "
                                     "jobs wait for run_fanout() (by hand or from pg_cron).",
                                     nullptr, &g_settings.fanout_worker, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
            MarkGUCPrefixReserved("feed");
        });
        feed::install_worker_callback();
        feed::install_reader_callback();
        // Preloaded: after every start (a crash restart included), each
        // database's queued fan-outs drain at once (docs/feed.md).
        if (process_shared_preload_libraries_in_progress)
            casebook::pg::background::register_startup("feed", "feed_fanout_main", "feed startup");
    });
}

CASEBOOK_FUNCTION(feed_new_key) {
    bytea* out = static_cast<bytea*>(casebook::pg::guard([] { return palloc(VARHDRSZ + 32); }));
    SET_VARSIZE(out, VARHDRSZ + 32);
    if (!pg_strong_random(VARDATA(out), 32))
        throw Error(errcodes::internal_error, "feed: could not generate random bytes for the cursor key");
    return PointerGetDatum(out);
}

CASEBOOK_FUNCTION(feed_forget_trim_counts) {
    feed::trim_schedule::forget_database();
    PG_RETURN_VOID();
}

CASEBOOK_FUNCTION(feed_create_user) {
    std::string username = args::string(fcinfo, 0, "username");
    spi::Connection conn;
    int64_t id = feed::create_user(conn, username);
    conn.finish();
    return Int64GetDatum(id);
}

CASEBOOK_FUNCTION(feed_follow) {
    int64_t follower = args::int8(fcinfo, 0, "follower");
    int64_t followee = args::int8(fcinfo, 1, "followee");
    spi::Connection conn;
    int64_t n = feed::follow(conn, follower, followee);
    conn.finish();
    return Int32GetDatum(static_cast<int32_t>(n));
}

CASEBOOK_FUNCTION(feed_unfollow) {
    int64_t follower = args::int8(fcinfo, 0, "follower");
    int64_t followee = args::int8(fcinfo, 1, "followee");
    spi::Connection conn;
    int64_t n = feed::unfollow(conn, follower, followee);
    conn.finish();
    return Int32GetDatum(static_cast<int32_t>(n));
}

CASEBOOK_FUNCTION(feed_post) {
    int64_t author = args::int8(fcinfo, 0, "author");
    std::string content = args::string(fcinfo, 1, "content");
    std::optional<Datum> media;
    if (!args::is_null(fcinfo, 2)) media = PG_GETARG_DATUM(2);
    spi::Connection conn;
    feed::note_session_start(conn);
    int64_t id = feed::post(conn, author, content, media);
    conn.finish();
    return Int64GetDatum(id);
}

CASEBOOK_FUNCTION(feed_delete_post) {
    int64_t post = args::int8(fcinfo, 0, "post");
    spi::Connection conn;
    bool deleted = feed::delete_post(conn, post);
    conn.finish();
    return BoolGetDatum(deleted);
}

CASEBOOK_FUNCTION(feed_home) {
    int64_t user = args::int8(fcinfo, 0, "user_id");
    int32_t limit = args::int4(fcinfo, 1, "limit");
    auto cursor = args::optional_string(fcinfo, 2);
    casebook::pg::guard([&] { InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC); });
    if (!feed::session_start_noted()) {
        spi::Connection conn;
        feed::note_session_start(conn);
        conn.finish();
    }
    feed::home(fcinfo, user, limit, cursor);
    return (Datum)0;
}

CASEBOOK_FUNCTION(feed_mark_dormant) {
    spi::Connection conn;
    int64_t n = feed::mark_dormant(conn);
    conn.finish();
    return Int64GetDatum(n);
}

CASEBOOK_FUNCTION(feed_run_fanout) {
    int32_t max_batches = args::int4(fcinfo, 0, "max_batches");
    spi::Connection conn;
    int64_t n = feed::run_fanout(conn, max_batches);
    conn.finish();
    return Int64GetDatum(n);
}

namespace {

// The elements of a one-dimensional array argument (22004 when NULL,
// 22023 when it has more dimensions).
int64_t array_length(FunctionCallInfo fcinfo, int n, const char* name) {
    Datum d = args::datum(fcinfo, n, name);
    int64_t count = -1;
    casebook::pg::guard([&] {
        ArrayType* a = DatumGetArrayTypeP(d);
        if (ARR_NDIM(a) <= 1) count = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
    });
    if (count < 0)
        throw Error(errcodes::invalid_parameter_value, std::string(name) + " must be a one-dimensional array");
    return count;
}

}  // namespace

CASEBOOK_FUNCTION(feed_import_users) {
    int64_t count = array_length(fcinfo, 0, "usernames");
    Datum names = args::datum(fcinfo, 0, "usernames");
    spi::Connection conn;
    std::vector<int64_t> ids = feed::import_users(conn, names, count);
    conn.finish();
    return spi::int8_array(ids);
}

CASEBOOK_FUNCTION(feed_import_follows) {
    std::vector<int64_t> followers = args::int8_array(fcinfo, 0, "followers");
    std::vector<int64_t> followees = args::int8_array(fcinfo, 1, "followees");
    spi::Connection conn;
    int64_t n = feed::import_follows(conn, followers, followees);
    conn.finish();
    return Int64GetDatum(n);
}

CASEBOOK_FUNCTION(feed_import_posts) {
    std::vector<int64_t> authors = args::int8_array(fcinfo, 0, "authors");
    int64_t contents = array_length(fcinfo, 1, "contents");
    Datum content_datum = args::datum(fcinfo, 1, "contents");
    std::optional<Datum> created;
    int64_t created_count = 0;
    if (!args::is_null(fcinfo, 2)) {
        created_count = array_length(fcinfo, 2, "created_at");
        created = args::datum(fcinfo, 2, "created_at");
    }
    spi::Connection conn;
    std::vector<int64_t> ids = feed::import_posts(conn, authors, content_datum, contents, created, created_count);
    conn.finish();
    return spi::int8_array(ids);
}

// The background fan-out worker of one database: started after a commit
// that queued a job, it runs one batch per transaction until the queue is
// empty, waits a little for more, and exits. A second worker for the same
// database exits at once (session advisory lock). Plain C style: no C++
// object is alive across PostgreSQL calls; errors end the worker (logged),
// and the next large post starts another.
void feed_fanout_main(Datum main_arg) {
    casebook::pg::background::connect_worker(main_arg, "feed fan-out worker");

    constexpr int64 kLockKey = 0x4645454446414E4FLL;  // one worker per database
    StartTransactionCommand();
    bool mine = DatumGetBool(DirectFunctionCall1(pg_try_advisory_lock_int8, Int64GetDatum(kLockKey)));
    bool installed = false;
    if (mine) {
        PushActiveSnapshot(GetTransactionSnapshot());
        SPI_connect();
        installed = SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'feed'", true, 1) ==
                        SPI_OK_SELECT &&
                    SPI_processed == 1;
        SPI_finish();
        PopActiveSnapshot();
    }
    CommitTransactionCommand();
    if (!mine || !installed) proc_exit(0);

    constexpr long kIdleExitMs = 3000;
    long idle_ms = 0;
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
        SPI_connect();
        pgstat_report_activity(STATE_RUNNING, "SELECT feed.run_fanout(1)");
        int64 processed = 0;
        if (SPI_execute("SELECT feed.run_fanout(1)", false, 1) == SPI_OK_SELECT && SPI_processed == 1) {
            bool isnull = true;
            Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
            processed = isnull ? 0 : DatumGetInt64(d);
        }
        SPI_finish();
        PopActiveSnapshot();
        CommitTransactionCommand();
        pgstat_report_activity(STATE_IDLE, nullptr);
        if (processed > 0) {
            idle_ms = 0;
            continue;
        }
        if (idle_ms >= kIdleExitMs) break;
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 250, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        idle_ms += 250;
    }
    proc_exit(0);
}
