// georoute: a libpq connection from a backend to another database (the
// publisher of a subscription, the router of proxy()), as the server's OS
// user: its password file, no password in any catalog. connect_timeout is
// 10 s unless the connection string says otherwise.
#pragma once

#include <string>

#include "error.hpp"

extern "C" {
#include <postgresql/libpq-fe.h>
}

namespace casebook::georoute::remote {

// An open connection, or an Error(state, message, "Connecting failed: ...",
// hint).
PGconn* connect(const std::string& conninfo, const char* application, SqlState state, const std::string& message,
                const std::string& hint);

// PQerrorMessage or PQresultErrorMessage without its trailing newlines.
std::string trimmed(const char* message);

}  // namespace casebook::georoute::remote
