// casebook core: the C++/PostgreSQL error boundary (see pg_boundary.hpp).
#include "pg_boundary.hpp"

#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "errcodes.hpp"

namespace casebook::pg {
namespace {

// What the entry point reports once the C++ frames are gone. Fixed buffers:
// filling them cannot fail, and the struct has no destructor, so ereport()
// may longjmp out of the frame that holds it.
struct ErrorReport {
    int sqlstate = 0;
    bool has_detail = false;
    bool has_hint = false;
    bool has_context = false;
    char message[2048] = {};
    char detail[2048] = {};
    char hint[1024] = {};
    char context[2048] = {};

    static void put(char* dst, std::size_t cap, const std::string& src) {
        std::size_t n = src.size() < cap - 1 ? src.size() : cap - 1;
        std::memcpy(dst, src.data(), n);
        dst[n] = '\0';
    }
    static void put(char* dst, std::size_t cap, const char* src) {
        std::size_t n = std::strlen(src);
        if (n > cap - 1) n = cap - 1;
        std::memcpy(dst, src, n);
        dst[n] = '\0';
    }

    void fill(const Error& e) noexcept {
        sqlstate = e.state().packed();
        put(message, sizeof message, e.message());
        has_detail = !e.detail().empty();
        if (has_detail) put(detail, sizeof detail, e.detail());
        has_hint = !e.hint().empty();
        if (has_hint) put(hint, sizeof hint, e.hint());
        if (const auto* pe = dynamic_cast<const PgError*>(&e); pe && !pe->context().empty()) {
            has_context = true;
            put(context, sizeof context, pe->context());
        }
    }
    void fill(SqlState state, const char* msg) noexcept {
        sqlstate = state.packed();
        put(message, sizeof message, msg);
    }

    [[noreturn]] void raise() const {
        ereport(ERROR, (errcode(sqlstate), errmsg_internal("%s", message),
                        has_detail ? errdetail_internal("%s", detail) : 0,
                        has_hint ? errhint("%s", hint) : 0,
                        has_context ? errcontext_msg("%s", context) : 0));
        pg_unreachable();
    }
};

std::string copy_or_empty(const char* s) { return s ? std::string(s) : std::string(); }

}  // namespace

Datum invoke(Body body, FunctionCallInfo fcinfo) {
    ErrorReport report;
    try {
        return body(fcinfo);
    } catch (const Error& e) {
        report.fill(e);
    } catch (const std::bad_alloc&) {
        report.fill(errcodes::out_of_memory, "out of memory in casebook native code");
    } catch (const std::exception& e) {
        report.fill(errcodes::internal_error, e.what());
    } catch (...) {
        report.fill(errcodes::internal_error, "unknown C++ exception in casebook native code");
    }
    // Every C++ frame of the body has unwound and the exception object is
    // destroyed: only the plain report is alive here.
    report.raise();
}

ErrorData* run_guarded(void (*fn)(void*), void* arg) noexcept {
    MemoryContext volatile caller_context = CurrentMemoryContext;
    ErrorData* volatile copied = nullptr;
    PG_TRY();
    {
        // Our callers' error context callbacks run when the entry point
        // re-raises; hiding them here keeps them from being reported twice.
        // PG_END_TRY / PG_CATCH restore the chain.
        error_context_stack = nullptr;
        fn(arg);
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        copied = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    return copied;
}

void throw_pg_error(ErrorData* edata) {
    SqlState state = SqlState::from_packed(edata->sqlerrcode);
    std::string message = copy_or_empty(edata->message);
    std::string detail = copy_or_empty(edata->detail);
    std::string hint = copy_or_empty(edata->hint);
    std::string context = copy_or_empty(edata->context);
    FreeErrorData(edata);
    throw PgError(state, std::move(message), std::move(detail), std::move(hint), std::move(context));
}

void check_interrupts() {
    // Cheap test first: the guard costs a sigsetjmp, so only pay it when an
    // interrupt is actually pending.
    if (INTERRUPTS_PENDING_CONDITION()) guard([] { CHECK_FOR_INTERRUPTS(); });
}

text* make_text(std::string_view s) {
    const char* data = s.data();
    int len = static_cast<int>(s.size());
    return guard([&] { return cstring_to_text_with_len(data, len); });
}

}  // namespace casebook::pg
