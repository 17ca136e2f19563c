// casebook core: the C++/PostgreSQL error boundary.
//
// PostgreSQL reports errors with longjmp, C++ with exceptions; the two never
// meet:
//  * CASEBOOK_FUNCTION defines an SQL-callable extern "C" entry point whose
//    body runs inside one try/catch (invoke). A caught exception becomes
//    ereport(ERROR) only after every C++ frame of the body has unwound.
//  * guard(fn) runs one PostgreSQL call that may raise. A PostgreSQL ERROR
//    inside it is caught in a frame with no C++ objects, copied (SQLSTATE,
//    message, detail, hint, context), flushed, the memory context restored,
//    and rethrown as a C++ PgError. The callable must only call PostgreSQL:
//    no object with a destructor may be alive inside it, and it must not
//    throw (run_guarded is noexcept, so a throw there terminates).
//
// After a guarded call failed, the current transaction is doomed: the body
// must unwind and let the error reach the entry point (it may not swallow a
// PgError and go on issuing SQL). SPI connections left open by the unwinding
// are cleaned up by the transaction abort.
#pragma once

#include <type_traits>
#include <utility>

#include "error.hpp"
#include "pg.hpp"

namespace casebook::pg {

using Body = Datum (*)(FunctionCallInfo);

// Calls body(fcinfo); any C++ exception leaving it is reported as
// ereport(ERROR) after the body's frames unwound.
Datum invoke(Body body, FunctionCallInfo fcinfo);

// Runs fn(arg) under PG_TRY. Returns nullptr on success, or the copied error
// (in the caller's memory context) after flushing the error state.
ErrorData* run_guarded(void (*fn)(void*), void* arg) noexcept;

// Converts a copied ErrorData into a PgError and throws it (frees edata).
[[noreturn]] void throw_pg_error(ErrorData* edata);

template <typename F>
auto guard(F&& fn) -> std::invoke_result_t<F&> {
    using Fn = std::remove_reference_t<F>;
    using R = std::invoke_result_t<F&>;
    if constexpr (std::is_void_v<R>) {
        auto trampoline = [](void* p) { (*static_cast<Fn*>(p))(); };
        if (ErrorData* e = run_guarded(trampoline, static_cast<void*>(std::addressof(fn))))
            throw_pg_error(e);
    } else {
        static_assert(std::is_trivially_copyable_v<R> && std::is_trivially_destructible_v<R>,
                      "guarded calls return plain values (Datum, pointers, integers)");
        struct Frame {
            Fn* fn;
            R result;
        } frame{std::addressof(fn), R{}};
        auto trampoline = [](void* p) {
            auto* f = static_cast<Frame*>(p);
            f->result = (*f->fn)();
        };
        if (ErrorData* e = run_guarded(trampoline, &frame)) throw_pg_error(e);
        return frame.result;
    }
}

// CHECK_FOR_INTERRUPTS through the guard: a cancel or statement_timeout in a
// long native loop unwinds the C++ frames and reaches the client as 57014.
void check_interrupts();

// A palloc'd text copy in the current memory context, for values handed to
// PostgreSQL.
text* make_text(std::string_view s);

}  // namespace casebook::pg

// Defines the SQL-callable function `name` (declared LANGUAGE C in the
// extension's script) with a C++ body:
//     CASEBOOK_FUNCTION(commerce_reserve) { ... return Int64GetDatum(id); }
#define CASEBOOK_FUNCTION(name)                                           \
    extern "C" {                                                          \
    PG_FUNCTION_INFO_V1(name);                                            \
    }                                                                     \
    static Datum name##_body(FunctionCallInfo fcinfo);                    \
    extern "C" Datum name(PG_FUNCTION_ARGS) {                             \
        return ::casebook::pg::invoke(name##_body, fcinfo);               \
    }                                                                     \
    static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo)
