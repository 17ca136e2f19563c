// casebook core: the C++/PostgreSQL error boundary (see pg_boundary.hpp).
#include "pg_boundary.hpp"

#include <cstring>
#include <string>

#include "errcodes.hpp"

namespace casebook::pg {
namespace {

// The report used when the real one cannot be allocated (ErrorContext out of
// memory): static strings only, so building it cannot fail.
ErrorData g_fallback_report;
char g_fallback_message[] = "out of memory in casebook native code (while reporting an error)";

ErrorData* fallback_report(int elevel) noexcept {
    std::memset(&g_fallback_report, 0, sizeof g_fallback_report);
    g_fallback_report.elevel = elevel;
    g_fallback_report.sqlerrcode = errcodes::out_of_memory.packed();
    g_fallback_report.message = g_fallback_message;
    g_fallback_report.filename = __FILE__;
    g_fallback_report.lineno = __LINE__;
    g_fallback_report.funcname = "casebook::pg::entry";
    return &g_fallback_report;
}

// Bytes a string needs in the report (0 when absent: empty means absent).
std::size_t need(std::string_view s) { return s.empty() ? 0 : s.size() + 1; }

// Copies s into the report's string area; nullptr when s is empty.
char* put(char*& cursor, std::string_view s) {
    if (s.empty()) return nullptr;
    char* out = cursor;
    std::memcpy(out, s.data(), s.size());
    out[s.size()] = '\0';
    cursor += s.size() + 1;
    return out;
}

// One allocation in ErrorContext holding the ErrorData and its strings.
// ErrorContext is where PostgreSQL builds its own error reports: it may be
// used in a critical section, and it is reset once the error is handled, so
// a report that is raised needs no freeing.
ErrorData* build_report(int elevel, const ExceptionReport& r) noexcept {
    static const PgErrorFields no_fields;
    const PgErrorFields& f = r.pg ? *r.pg : no_fields;
    std::string_view message = r.message.empty() ? std::string_view("(no message)") : r.message;
    std::size_t size = sizeof(ErrorData) + need(message) + need(r.detail) + need(r.hint) + need(f.context) +
                       need(f.detail_log) + need(f.schema_name) + need(f.table_name) + need(f.column_name) +
                       need(f.datatype_name) + need(f.constraint_name) + need(f.internal_query);
    if (size > MaxAllocSize) return fallback_report(elevel);
    void* chunk = MemoryContextAllocExtended(ErrorContext, size, MCXT_ALLOC_NO_OOM);
    if (chunk == nullptr) return fallback_report(elevel);

    auto* report = static_cast<ErrorData*>(chunk);
    std::memset(report, 0, sizeof(ErrorData));
    char* cursor = static_cast<char*>(chunk) + sizeof(ErrorData);
    report->elevel = elevel;
    report->sqlerrcode = r.state.packed();
    report->message = put(cursor, message);
    report->detail = put(cursor, r.detail);
    report->hint = put(cursor, r.hint);
    report->context = put(cursor, f.context);
    report->detail_log = put(cursor, f.detail_log);
    report->schema_name = put(cursor, f.schema_name);
    report->table_name = put(cursor, f.table_name);
    report->column_name = put(cursor, f.column_name);
    report->datatype_name = put(cursor, f.datatype_name);
    report->constraint_name = put(cursor, f.constraint_name);
    report->internalquery = put(cursor, f.internal_query);
    report->internalpos = report->internalquery ? f.internal_pos : 0;
    report->cursorpos = f.cursor_pos;
    // The location is the boundary's: the original one may point into memory
    // that is gone once the error state was flushed.
    report->filename = __FILE__;
    report->lineno = __LINE__;
    report->funcname = "casebook::pg::entry";
    report->assoc_context = ErrorContext;
    return report;
}

std::string copy_or_empty(const char* s) { return s ? std::string(s) : std::string(); }

}  // namespace

ErrorData* capture_exception(int elevel) noexcept {
    ErrorData* report = nullptr;
    describe_current_exception([&](const ExceptionReport& r) { report = build_report(elevel, r); });
    return report != nullptr ? report : fallback_report(elevel);
}

void raise_report(ErrorData* report, const EntryState& state) {
    PG_exception_stack = state.exception_stack;
    error_context_stack = state.context_stack;
    MemoryContextSwitchTo(state.memory_context);
    // ThrowErrorData copies every field into a fresh error, runs the error
    // context callbacks (the callers' context lines are appended to those
    // carried from inside the guard) and, at ERROR, longjmps to the
    // enclosing handler. Nothing is translated again.
    ThrowErrorData(report);
    // A level below ERROR: reported (or filtered out by the log settings).
    if (report != &g_fallback_report) pfree(report);
}

Datum invoke(Body body, FunctionCallInfo fcinfo) {
    return entry([&]() -> Datum { return body(fcinfo); });
}

ErrorData* run_guarded(GuardedCall call, void* arg) noexcept {
    MemoryContext volatile caller_context = CurrentMemoryContext;
    ErrorData* volatile copied = nullptr;
    volatile bool completed = false;
    PG_TRY();
    {
        // Our callers' error context callbacks run when the entry point
        // re-raises; hiding them here keeps them from being reported twice.
        // PG_END_TRY / PG_CATCH restore the chain.
        error_context_stack = nullptr;
        // call() never throws: a C++ exception is kept by the trampoline, so
        // it never crosses this frame, and PG_END_TRY below restores
        // PG_exception_stack and error_context_stack as on success.
        completed = call(arg);
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        copied = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    if (copied == nullptr && !completed) MemoryContextSwitchTo(caller_context);
    return copied;
}

void throw_pg_error(ErrorData* edata) {
    SqlState state = SqlState::from_packed(edata->sqlerrcode);
    std::string message = copy_or_empty(edata->message);
    std::string detail = copy_or_empty(edata->detail);
    std::string hint = copy_or_empty(edata->hint);
    PgErrorFields fields;
    fields.context = copy_or_empty(edata->context);
    fields.detail_log = copy_or_empty(edata->detail_log);
    fields.schema_name = copy_or_empty(edata->schema_name);
    fields.table_name = copy_or_empty(edata->table_name);
    fields.column_name = copy_or_empty(edata->column_name);
    fields.datatype_name = copy_or_empty(edata->datatype_name);
    fields.constraint_name = copy_or_empty(edata->constraint_name);
    fields.internal_query = copy_or_empty(edata->internalquery);
    fields.internal_pos = edata->internalquery ? edata->internalpos : 0;
    // A position no context callback inside the guard turned into an
    // internal one refers to the text the callers run: the callbacks outside
    // the guard see it again when the entry re-raises, as without the guard.
    fields.cursor_pos = edata->cursorpos;
    FreeErrorData(edata);
    throw PgError(state, std::move(message), std::move(detail), std::move(hint), std::move(fields));
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
