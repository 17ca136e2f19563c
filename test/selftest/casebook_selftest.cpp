// casebook_selftest: probes of the C++/PostgreSQL boundary. Each probe keeps
// C++ objects that own heap memory alive in its frames while a PostgreSQL
// call fails, so a skipped destructor shows up as a non-zero live_objects()
// and as a leak under valgrind.
//
// Loading the module (LOAD, or the first call of one of its functions) runs
// _PG_init through the entry wrapper: it defines the GUCs
// casebook_selftest.fail_hook and casebook_selftest.fail_xact, installs two
// chained ExecutorStart hooks and a ProcessUtility hook, and registers a
// transaction callback. All of them do nothing unless a GUC asks them to fail.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "errcodes.hpp"
#include "pg_boundary.hpp"
#include "spi.hpp"

extern "C" {
#include "executor/executor.h"
#include "tcop/utility.h"
#include "utils/fmgrprotos.h"

PG_MODULE_MAGIC;

void _PG_init(void);
}

namespace pg = casebook::pg;
namespace errcodes = casebook::errcodes;

namespace {

int g_live = 0;

// Owns heap memory and counts itself.
class Tracked {
public:
    explicit Tracked(const char* label) : payload_(std::make_unique<std::string>(256, 'x')) {
        payload_->append(label);
        ++g_live;
    }
    ~Tracked() { --g_live; }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;

private:
    std::unique_ptr<std::string> payload_;
};

std::string arg_text(FunctionCallInfo fcinfo, int n) {
    text* t = PG_GETARG_TEXT_PP(n);
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

casebook::spi::Statement kDivide{"SELECT $1 / $2", {INT4OID, INT4OID}};

int32_t divide_deep(int32_t a, int32_t b, int depth) {
    Tracked here("divide frame");
    std::vector<std::string> noise(4, std::string(64, 'n'));
    if (depth > 0) return divide_deep(a, b, depth - 1);
    casebook::spi::Connection spi;
    auto rows = spi.execute(kDivide, {casebook::spi::int4_param(a), casebook::spi::int4_param(b)},
                            true, 1);
    int32_t result = rows.int4_at(0, 1);
    spi.finish();
    return result;
}

// ---- nested guards ------------------------------------------------------------

// Runs inside the innermost guard: a PostgreSQL call, or a C++ throw.
int32_t nested_leaf(const std::string& kind) {
    if (kind == "ok") return DatumGetInt32(DirectFunctionCall2(int4pl, Int32GetDatum(40), Int32GetDatum(2)));
    if (kind == "pg_error") return DatumGetInt32(DirectFunctionCall2(int4div, Int32GetDatum(1), Int32GetDatum(0)));
    if (kind == "domain")
        throw casebook::Error(errcodes::insufficient_stock, "variant 7 has 2 available, 5 requested (nested)",
                              "thrown inside the innermost guard", "a nested guard rethrows it unchanged");
    if (kind == "bad_alloc") throw std::bad_alloc();
    throw casebook::Error(errcodes::invalid_parameter_value, "unknown kind \"" + kind + "\"", "",
                          "use ok, pg_error, domain or bad_alloc");
}

// depth guards, each inside the previous one's callable. Every level keeps a
// C++ object alive in its frame, and inside the guarded callable.
int32_t nested(const std::string& kind, int depth) {
    Tracked here("nesting frame");
    if (depth <= 1) return pg::guard([&] { return nested_leaf(kind); });
    return pg::guard([&] {
        Tracked inside("inside a guarded callable");
        return nested(kind, depth - 1);
    });
}

// Throws a C++ exception from inside a hand-written PG_TRY block (what the
// house rules forbid): PG_exception_stack is left pointing into this dead
// frame. The guard and the entry wrapper put it back before anything uses it.
[[gnu::noinline]] void throw_inside_pg_try() {
    PG_TRY();
    {
        throw casebook::Error(errcodes::casebook_error, "thrown inside a hand-written PG_TRY block");
    }
    PG_CATCH();
    {
        PG_RE_THROW();
    }
    PG_END_TRY();
}

void context_marker(void*) { errcontext("casebook_selftest context marker"); }

// ---- hooks and callbacks ----------------------------------------------------

bool g_fail_hook = false;
enum FailXact { kFailOff, kFailPreCommit, kFailCommit, kFailAbort };
int g_fail_xact = kFailOff;
const struct config_enum_entry kFailXactOptions[] = {{"off", kFailOff, false},
                                                     {"pre_commit", kFailPreCommit, false},
                                                     {"commit", kFailCommit, false},
                                                     {"abort", kFailAbort, false},
                                                     {nullptr, 0, false}};

ExecutorStart_hook_type g_prev_executor_start = nullptr;  // before the stand-in
ExecutorStart_hook_type g_below_refusing = nullptr;       // the stand-in
ProcessUtility_hook_type g_prev_process_utility = nullptr;
int64 g_refusing_calls = 0;
int64 g_previous_calls = 0;
int64 g_utility_calls = 0;

// A stand-in for another module's hook, installed before ours: the
// refusing hook must call it exactly once per statement it lets through.
void previous_executor_start(QueryDesc* query, int eflags) {
    ++g_previous_calls;
    ExecutorStart_hook_type prev = g_prev_executor_start;
    pg::guard([&] {
        if (prev)
            prev(query, eflags);
        else
            standard_ExecutorStart(query, eflags);
    });
}

// Refuses every statement while casebook_selftest.fail_hook is on, with a
// C++ exception thrown while a C++ object is alive; otherwise calls the
// previous hook, whose PostgreSQL errors (42501 ...) come back as PgError.
void refusing_executor_start(QueryDesc* query, int eflags) {
    ++g_refusing_calls;
    Tracked here("hook frame");
    if (g_fail_hook)
        throw casebook::Error(errcodes::casebook_error,
                              "casebook_selftest.fail_hook is on: the executor start hook refuses the statement",
                              "The hook threw a C++ exception; the entry wrapper reported it.",
                              "RESET casebook_selftest.fail_hook");
    ExecutorStart_hook_type prev = g_below_refusing;
    pg::guard([&] { prev(query, eflags); });
}

// Counts utility statements and passes them on (eight arguments through
// entry_point).
void counting_process_utility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                              ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* query_env,
                              DestReceiver* dest, QueryCompletion* qc) {
    ++g_utility_calls;
    ProcessUtility_hook_type prev = g_prev_process_utility;
    pg::guard([&] {
        if (prev)
            prev(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
        else
            standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
    });
}

// Fails at the event casebook_selftest.fail_xact names. The entry wrapper
// reports at pg::error_level(event): ERROR at PRE_COMMIT (the commit
// becomes an abort), WARNING at COMMIT and ABORT.
void xact_body(XactEvent event) {
    const char* at = nullptr;
    if (g_fail_xact == kFailPreCommit && event == XACT_EVENT_PRE_COMMIT) at = "PRE_COMMIT";
    if (g_fail_xact == kFailCommit && event == XACT_EVENT_COMMIT) at = "COMMIT";
    if (g_fail_xact == kFailAbort && event == XACT_EVENT_ABORT) at = "ABORT";
    if (at == nullptr) return;
    Tracked here("transaction callback frame");
    throw casebook::Error(errcodes::casebook_error,
                          std::string("casebook_selftest.fail_xact: the transaction callback failed at ") + at);
}

void on_xact(XactEvent event, void*) {
    pg::entry([&] { xact_body(event); }, pg::error_level(event));
}

void init() {
    pg::guard([] {
        DefineCustomBoolVariable("casebook_selftest.fail_hook",
                                 "The selftest's ExecutorStart hook refuses every statement.", nullptr, &g_fail_hook,
                                 false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
        DefineCustomEnumVariable("casebook_selftest.fail_xact",
                                 "The selftest's transaction callback fails at this event.", nullptr, &g_fail_xact,
                                 kFailOff, kFailXactOptions, PGC_SUSET, 0, nullptr, nullptr, nullptr);
        MarkGUCPrefixReserved("casebook_selftest");
        RegisterXactCallback(on_xact, nullptr);
    });
    g_prev_executor_start = ExecutorStart_hook;
    ExecutorStart_hook = pg::entry_point<&previous_executor_start>;
    g_below_refusing = ExecutorStart_hook;
    ExecutorStart_hook = pg::entry_point<&refusing_executor_start>;
    g_prev_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = pg::entry_point<&counting_process_utility>;
}

char* g_probe_frame = nullptr;

}  // namespace

void _PG_init(void) {
    pg::entry([] { init(); });
}

CASEBOOK_FUNCTION(selftest_live_objects) { return Int32GetDatum(g_live); }

CASEBOOK_FUNCTION(selftest_divide) {
    Tracked outer("entry frame");
    return Int32GetDatum(divide_deep(PG_GETARG_INT32(0), PG_GETARG_INT32(1), 3));
}

CASEBOOK_FUNCTION(selftest_run_sql) {
    Tracked outer("entry frame");
    std::string query = arg_text(fcinfo, 0);
    std::vector<Tracked*> owned;
    auto keep = std::make_unique<Tracked>("heap object");
    casebook::spi::Connection spi;
    const char* q = query.c_str();
    int rc = pg::guard([&] { return SPI_execute(q, false, 0); });
    if (rc < 0) throw casebook::Error(errcodes::internal_error, "SPI_execute failed");
    uint64 processed = SPI_processed;
    spi.finish();
    return Int64GetDatum(static_cast<int64>(processed));
}

CASEBOOK_FUNCTION(selftest_throw) {
    Tracked outer("entry frame");
    std::string kind = arg_text(fcinfo, 0);
    if (kind == "domain")
        throw casebook::Error(errcodes::insufficient_stock, "variant 7 has 2 available, 5 requested",
                              "detail for the caller", "hint for the caller");
    if (kind == "standard") throw std::runtime_error("a standard exception");
    if (kind == "bad_alloc") throw std::bad_alloc();
    if (kind == "foreign") throw 42;
    throw casebook::Error(errcodes::invalid_parameter_value, "unknown kind \"" + kind + "\"", "",
                          "use domain, standard, bad_alloc or foreign");
}

CASEBOOK_FUNCTION(selftest_nested) {
    Tracked outer("entry frame");
    std::string kind = arg_text(fcinfo, 0);
    int32 depth = PG_GETARG_INT32(1);
    return Int32GetDatum(nested(kind, depth));
}

// Runs a guard whose callable switches the memory context and throws, with
// a context callback of ours pushed, catches the exception in C++ (legal: no
// PostgreSQL error happened) and says what the guard put back.
CASEBOOK_FUNCTION(selftest_guard_state) {
    std::string kind = arg_text(fcinfo, 0);
    sigjmp_buf* exception_stack = PG_exception_stack;
    MemoryContext memory = CurrentMemoryContext;
    ErrorContextCallback marker{error_context_stack, context_marker, nullptr};
    error_context_stack = &marker;
    std::string caught = "nothing";
    try {
        if (kind == "throw")
            pg::guard([] {
                MemoryContextSwitchTo(TopMemoryContext);
                throw casebook::Error(errcodes::casebook_error, "thrown inside a guard");
            });
        else if (kind == "pg_try")
            pg::guard([] {
                MemoryContextSwitchTo(TopMemoryContext);
                throw_inside_pg_try();
            });
        else
            throw casebook::Error(errcodes::invalid_parameter_value, "unknown kind \"" + kind + "\"", "",
                                  "use throw or pg_try");
    } catch (const casebook::PgError&) {
        caught = "PgError";
    } catch (const casebook::Error& e) {
        caught = std::string(e.state().str()) + " " + e.message();
    }
    bool context_ok = error_context_stack == &marker;
    error_context_stack = marker.previous;
    std::string out = "caught " + caught;
    out += PG_exception_stack == exception_stack ? "; exception stack restored" : "; EXCEPTION STACK NOT RESTORED";
    out += context_ok ? "; context stack restored" : "; CONTEXT STACK NOT RESTORED";
    out += CurrentMemoryContext == memory ? "; memory context restored" : "; MEMORY CONTEXT NOT RESTORED";
    MemoryContextSwitchTo(memory);
    return PointerGetDatum(pg::make_text(out));
}

// A C++ exception leaves a hand-written PG_TRY block, directly in the entry
// ("entry") or inside a guard ("guard").
CASEBOOK_FUNCTION(selftest_escape_pg_try) {
    Tracked outer("entry frame");
    std::string where = arg_text(fcinfo, 0);
    if (where == "entry") throw_inside_pg_try();
    if (where == "guard") pg::guard([] { throw_inside_pg_try(); });
    throw casebook::Error(errcodes::invalid_parameter_value, "unknown place \"" + where + "\"", "",
                          "use entry or guard");
}

CASEBOOK_FUNCTION(selftest_hook_calls) {
    std::string out = "executor start: refusing hook " + std::to_string(g_refusing_calls) + ", previous hook " +
                      std::to_string(g_previous_calls) + "; process utility " + std::to_string(g_utility_calls);
    return PointerGetDatum(pg::make_text(out));
}

// The stack an SQL function's entry takes between the caller's frame and
// the body's (the report of an error must not live there).
CASEBOOK_FUNCTION(selftest_frame_probe) {
    g_probe_frame = static_cast<char*>(__builtin_frame_address(0));
    return Int32GetDatum(0);
}

CASEBOOK_FUNCTION(selftest_entry_stack_bytes) {
    char* here = static_cast<char*>(__builtin_frame_address(0));
    selftest_frame_probe(fcinfo);
    return Int64GetDatum(static_cast<int64>(here - g_probe_frame));
}

CASEBOOK_FUNCTION(selftest_spin) {
    Tracked outer("entry frame");
    double seconds = PG_GETARG_FLOAT8(0);
    auto until = std::chrono::steady_clock::now() +
                 std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(seconds));
    std::vector<std::string> work;
    int64 iterations = 0;
    while (std::chrono::steady_clock::now() < until) {
        work.emplace_back(32, 'w');
        if (work.size() > 1000) work.clear();
        ++iterations;
        pg::check_interrupts();
    }
    return Int64GetDatum(iterations);
}

// Memory-check control: leaks one 4242-byte block on purpose, so the memory
// check can prove it sees leaks in this module (test/memcheck/run.sh).
CASEBOOK_FUNCTION(selftest_leak_control) {
    void* block = std::malloc(4242);
    if (block != nullptr) std::memset(block, 1, 4242);
    asm volatile("" : : "r"(block) : "memory");
    return Int32GetDatum(4242);
}
