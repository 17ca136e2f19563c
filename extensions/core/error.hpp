// casebook core: the C++ side of an SQL error.
//
// Pure C++ (no PostgreSQL headers) so that the unit tests can use it. The
// boundary (pg_boundary.hpp) turns an Error into ereport(ERROR) at the SQL
// entry point, and turns a PostgreSQL ERROR raised inside a guarded call into
// a PgError.
#pragma once

#include <array>
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

// A PostgreSQL ERROR caught by the guard and carried through C++ frames.
// It keeps the error context lines too, so the client sees where it came from.
class PgError : public Error {
public:
    PgError(SqlState state, std::string message, std::string detail, std::string hint,
            std::string context)
        : Error(state, std::move(message), std::move(detail), std::move(hint)),
          context_(std::move(context)) {}
    const std::string& context() const { return context_; }

private:
    std::string context_;
};

}  // namespace casebook
