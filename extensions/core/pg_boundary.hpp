// casebook core: the C++/PostgreSQL error boundary.
//
// PostgreSQL reports errors with longjmp, C++ with exceptions; the two never
// meet (docs/architecture.md has the whole story):
//  * entry(fn) runs the C++ code of one entry from PostgreSQL: an SQL
//    function (CASEBOOK_FUNCTION), a hook, _PG_init, a transaction or cache
//    callback, a background worker's main. An exception leaving fn becomes
//    ereport(ERROR) (or a lower level, for callbacks that must not raise)
//    only after every C++ frame of fn has unwound and the exception object is
//    gone. entry_point<&f> is the same as a function pointer with f's own
//    signature, for hook variables.
//  * guard(fn) runs PostgreSQL calls that may raise. A PostgreSQL ERROR
//    inside it is caught in a frame with no C++ objects, copied (every field
//    the client can see), flushed, the memory context restored, and rethrown
//    as a C++ PgError. A C++ exception leaving fn (a nested guard's PgError,
//    a bad_alloc, a domain error) is caught before it reaches the PG_TRY
//    frame, PostgreSQL's error stacks and the memory context are restored,
//    and it is rethrown unchanged after the PG_TRY block ended.
//
// No object with a destructor may be alive in fn's own frames across a
// direct PostgreSQL call that can raise: a longjmp would skip it. Calls made
// through a nested guard are safe (the nested guard turns the longjmp into
// an exception).
//
// After a guarded call failed with a PostgreSQL error, the transaction is
// doomed: the body must unwind and let the error reach the entry point (it
// may not swallow a PgError and go on issuing SQL). SPI connections left
// open by the unwinding are cleaned up by the transaction abort.
#pragma once

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include "error.hpp"
#include "pg.hpp"

extern "C" {
#include "access/xact.h"
}

namespace casebook::pg {

// ---- guarded calls ----------------------------------------------------------

// The code run under PG_TRY: returns false when a C++ exception left the
// callable (the caller keeps it and rethrows it after the PG_TRY block).
using GuardedCall = bool (*)(void*) noexcept;

// Runs call(arg) under PG_TRY. Returns the copied ErrorData (in the caller's
// memory context, after flushing the error state) when PostgreSQL raised,
// nullptr otherwise. When PostgreSQL raised or call returned false, the
// caller's memory context is current again on return.
ErrorData* run_guarded(GuardedCall call, void* arg) noexcept;

// Converts a copied ErrorData into a PgError and throws it (frees edata).
[[noreturn]] void throw_pg_error(ErrorData* edata);

template <typename F>
auto guard(F&& fn) -> std::invoke_result_t<F&> {
    using Fn = std::remove_reference_t<F>;
    using R = std::invoke_result_t<F&>;
    if constexpr (std::is_void_v<R>) {
        struct Frame {
            Fn* fn;
            std::exception_ptr escaped;
        } frame{std::addressof(fn), nullptr};
        GuardedCall trampoline = [](void* p) noexcept -> bool {
            auto* f = static_cast<Frame*>(p);
            try {
                (*f->fn)();
                return true;
            } catch (...) {
                f->escaped = std::current_exception();
                return false;
            }
        };
        if (ErrorData* e = run_guarded(trampoline, &frame)) throw_pg_error(e);
        if (frame.escaped) std::rethrow_exception(frame.escaped);
    } else {
        static_assert(std::is_trivially_copyable_v<R> && std::is_trivially_destructible_v<R>,
                      "guarded calls return plain values (Datum, pointers, integers)");
        struct Frame {
            Fn* fn;
            R result;
            std::exception_ptr escaped;
        } frame{std::addressof(fn), R{}, nullptr};
        GuardedCall trampoline = [](void* p) noexcept -> bool {
            auto* f = static_cast<Frame*>(p);
            try {
                f->result = (*f->fn)();
                return true;
            } catch (...) {
                f->escaped = std::current_exception();
                return false;
            }
        };
        if (ErrorData* e = run_guarded(trampoline, &frame)) throw_pg_error(e);
        if (frame.escaped) std::rethrow_exception(frame.escaped);
        return frame.result;
    }
}

// CHECK_FOR_INTERRUPTS through the guard: a cancel or statement_timeout in a
// long native loop unwinds the C++ frames and reaches the client as 57014.
void check_interrupts();

// A palloc'd text copy in the current memory context, for values handed to
// PostgreSQL.
text* make_text(std::string_view s);

// ---- entry points -----------------------------------------------------------

// PostgreSQL's state when an entry began, put back before an escaped
// exception is reported. A C++ exception that left a hand-written PG_TRY
// block below leaves PG_exception_stack pointing into a dead frame; the
// memory context may be whatever the body switched to.
struct EntryState {
    sigjmp_buf* exception_stack;
    ErrorContextCallback* context_stack;
    MemoryContext memory_context;
};
inline EntryState entry_state() { return {PG_exception_stack, error_context_stack, CurrentMemoryContext}; }

// Builds the report of the exception being handled, at level elevel. Call
// only inside a catch handler. Never raises: the report lives in
// ErrorContext (allocated without erroring), or is a static out-of-memory
// report when that allocation fails.
ErrorData* capture_exception(int elevel) noexcept;

// Restores the entry's state and reports: at ERROR (or above) this does not
// return; at a lower level the report is emitted, freed, and it returns.
void raise_report(ErrorData* report, const EntryState& state);

// Runs fn() as one entry from PostgreSQL. An exception leaving fn is
// reported at elevel once fn's frames have unwound and the exception object
// is destroyed: ERROR aborts the (sub)transaction, as any PostgreSQL error;
// WARNING or LOG report it and return a value-initialized result, for
// callbacks where PostgreSQL does not allow ERROR (error_level() below, and
// docs/architecture.md). The success path costs the try block and three
// pointer reads; the report is built only on the error path.
//
// fn is a lambda (or function object) whose destructor does nothing: it
// lives in the caller's frame, which the ERROR's longjmp leaves. Capture by
// reference. The caller's frame holds nothing else with a destructor.
template <typename F>
auto entry(F&& fn, int elevel = ERROR) -> std::invoke_result_t<F&> {
    static_assert(std::is_trivially_destructible_v<std::remove_reference_t<F>>,
                  "the callable of an entry must be trivially destructible (capture by reference)");
    using R = std::invoke_result_t<F&>;
    const EntryState state = entry_state();
    ErrorData* report;
    try {
        return fn();
    } catch (...) {
        report = capture_exception(elevel);
    }
    // Every C++ frame of fn has unwound and the exception object is
    // destroyed: only plain pointers are alive in this frame.
    raise_report(report, state);
    if constexpr (!std::is_void_v<R>) return R{};
}

// entry_point<&f> is a plain function with f's signature that runs f through
// entry(), for hook variables and callbacks:
//     ExecutorStart_hook = pg::entry_point<&my_executor_start>;
//     CacheRegisterRelcacheCallback(pg::entry_point<&my_relcache_cb, WARNING>, 0);
template <auto Fn, int Level = ERROR>
struct EntryPoint;
template <typename R, typename... Args, R (*Fn)(Args...), int Level>
struct EntryPoint<Fn, Level> {
    static R call(Args... args) {
        return entry([&]() -> R { return Fn(args...); }, Level);
    }
};
template <auto Fn, int Level = ERROR>
inline constexpr auto entry_point = &EntryPoint<Fn, Level>::call;

// The level at which a transaction callback may report: ERROR before the
// point of no return (PRE_COMMIT, PRE_PREPARE: the transaction aborts
// instead), WARNING after it (COMMIT, PREPARE: an ERROR there is a PANIC)
// and while aborting (ABORT: an ERROR there recurses into the abort).
constexpr int error_level(XactEvent event) {
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
        case XACT_EVENT_PARALLEL_PRE_COMMIT:
        case XACT_EVENT_PRE_PREPARE:
            return ERROR;
        default:
            return WARNING;
    }
}
constexpr int error_level(SubXactEvent event) {
    return event == SUBXACT_EVENT_PRE_COMMIT_SUB ? ERROR : WARNING;
}

// Calls body(fcinfo) as an entry (CASEBOOK_FUNCTION's expansion, kept for
// callers that pass a function pointer).
using Body = Datum (*)(FunctionCallInfo);
Datum invoke(Body body, FunctionCallInfo fcinfo);

}  // namespace casebook::pg

// Defines the SQL-callable function `name` (declared LANGUAGE C in the
// extension's script) with a C++ body that runs through pg::entry:
//     CASEBOOK_FUNCTION(commerce_reserve) { ... return Int64GetDatum(id); }
#define CASEBOOK_FUNCTION(name)                                                   \
    extern "C" {                                                                  \
    PG_FUNCTION_INFO_V1(name);                                                    \
    }                                                                             \
    static Datum name##_body(FunctionCallInfo fcinfo);                            \
    extern "C" Datum name(PG_FUNCTION_ARGS) {                                     \
        return ::casebook::pg::entry([fcinfo]() -> Datum { return name##_body(fcinfo); }); \
    }                                                                             \
    static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo)
