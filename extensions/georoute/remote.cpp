// georoute: libpq connections to other databases (remote.hpp).
#include "georoute/remote.hpp"

namespace casebook::georoute::remote {

std::string trimmed(const char* message) {
    std::string s = message ? message : "";
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

PGconn* connect(const std::string& conninfo, const char* application, SqlState state, const std::string& message,
                const std::string& hint) {
    // connect_timeout first: the expanded connection string overrides it.
    const char* keys[] = {"connect_timeout", "dbname", "fallback_application_name", nullptr};
    const char* values[] = {"10", conninfo.c_str(), application, nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, 1);
    if (conn != nullptr && PQstatus(conn) == CONNECTION_OK) return conn;
    std::string why = conn ? trimmed(PQerrorMessage(conn)) : "out of memory";
    if (conn) PQfinish(conn);
    throw Error(state, message, "Connecting failed: " + why, hint);
}

}  // namespace casebook::georoute::remote
