// casebook core: the C++ side of an SQL error.
//
// Pure C++ (no PostgreSQL headers) so that the unit tests can use it. The
// boundary (pg_boundary.hpp) turns an Error into ereport(ERROR) at the entry
// point (an SQL function, hook or callback), and turns a PostgreSQL ERROR
// raised inside a guarded call into a PgError.
#pragma once

#include <array>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

namespace casebook {

// A five-character SQLSTATE such as "22023" or "KB101".
class SqlState {
public:
    constexpr SqlState() : code_{'X', 'X', '0', '0', '0', '\0'} {}
    // Accepts exactly five characters from [0-9A-Z]; anything else is a
    // programming error and becomes XX000 (internal_error).
    constexpr explicit SqlState(std::string_view code) : SqlState() {
        if (code.size() != 5) return;
        for (char c : code)
            if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return;
        for (std::size_t i = 0; i < 5; ++i) code_[i] = code[i];
    }
    constexpr std::string_view str() const { return {code_.data(), 5}; }
    constexpr const char* c_str() const { return code_.data(); }
    constexpr std::string_view error_class() const { return str().substr(0, 2); }
    constexpr bool operator==(const SqlState& other) const { return str() == other.str(); }

    // PostgreSQL's packed integer form (MAKE_SQLSTATE): six bits per char.
    constexpr int packed() const {
        int v = 0;
        for (int i = 0; i < 5; ++i) v += ((code_[i] - '0') & 0x3F) << (6 * i);
        return v;
    }
    static constexpr SqlState from_packed(int packed) {
        char buf[5] = {};
        for (int i = 0; i < 5; ++i) {
            buf[i] = static_cast<char>(((packed >> (6 * i)) & 0x3F) + '0');
        }
        return SqlState(std::string_view(buf, 5));
    }

private:
    std::array<char, 6> code_;
};

// An error that reaches the client as ERROR with this SQLSTATE, message,
// detail and hint. Domain code throws it; the entry point reports it.
class Error : public std::runtime_error {
public:
    Error(SqlState state, std::string message, std::string detail = {}, std::string hint = {})
        : std::runtime_error(message),
          state_(state),
          message_(std::move(message)),
          detail_(std::move(detail)),
          hint_(std::move(hint)) {}

    const SqlState& state() const { return state_; }
    const std::string& message() const { return message_; }
    const std::string& detail() const { return detail_; }
    const std::string& hint() const { return hint_; }

private:
    SqlState state_;
    std::string message_;
    std::string detail_;
    std::string hint_;
};

// The fields of a PostgreSQL ErrorData beyond SQLSTATE, message, detail and
// hint, as the guard copied them. Empty strings (and 0) mean absent.
struct PgErrorFields {
    std::string context;          // context lines from inside the guarded call
    std::string detail_log;       // detail for the server log only
    std::string schema_name;      // the object the error is about ...
    std::string table_name;
    std::string column_name;
    std::string datatype_name;
    std::string constraint_name;  // ... e.g. the index of a 23505
    std::string internal_query;   // an internally generated query (SPI) ...
    int internal_pos = 0;         // ... and the 1-based position in it
    int cursor_pos = 0;           // 1-based position in the statement being run
};

// A PostgreSQL ERROR caught by the guard and carried through C++ frames. It
// keeps every field the client can see, so the entry point re-raises the
// error as PostgreSQL reported it.
class PgError : public Error {
public:
    PgError(SqlState state, std::string message, std::string detail, std::string hint,
            std::string context)
        : Error(state, std::move(message), std::move(detail), std::move(hint)) {
        fields_.context = std::move(context);
    }
    PgError(SqlState state, std::string message, std::string detail, std::string hint,
            PgErrorFields fields)
        : Error(state, std::move(message), std::move(detail), std::move(hint)),
          fields_(std::move(fields)) {}
    const std::string& context() const { return fields_.context; }
    const PgErrorFields& fields() const { return fields_; }

private:
    PgErrorFields fields_;
};

// What an exception that reached an entry point is reported as. The views
// point into the exception object (or static strings): valid only inside
// the sink that receives the report.
struct ExceptionReport {
    SqlState state;
    std::string_view message;
    std::string_view detail;
    std::string_view hint;
    const PgErrorFields* pg = nullptr;  // set for a PgError
};

// Calls sink(report) for the exception being handled. Only valid inside a
// catch handler (it rethrows the current exception to inspect it; with no
// exception being handled, std::terminate is called). The mapping:
//   PgError                  its SQLSTATE and every field it carries
//   Error                    its SQLSTATE, message, detail, hint
//   std::bad_alloc           53200 out_of_memory
//   other std::exception     XX000 internal_error with what()
//   anything else            XX000 internal_error
template <typename Sink>
void describe_current_exception(Sink&& sink) noexcept {
    try {
        throw;
    } catch (const PgError& e) {
        sink(ExceptionReport{e.state(), e.message(), e.detail(), e.hint(), &e.fields()});
    } catch (const Error& e) {
        sink(ExceptionReport{e.state(), e.message(), e.detail(), e.hint(), nullptr});
    } catch (const std::bad_alloc&) {
        sink(ExceptionReport{SqlState("53200"), "out of memory in casebook native code", {}, {}, nullptr});
    } catch (const std::exception& e) {
        sink(ExceptionReport{SqlState("XX000"), e.what(), {}, {}, nullptr});
    } catch (...) {
        sink(ExceptionReport{SqlState("XX000"), "unknown C++ exception in casebook native code", {}, {},
                             nullptr});
    }
}

}  // namespace casebook
