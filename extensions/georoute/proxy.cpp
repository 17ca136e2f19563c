// georoute: the native parts of routed function calls (PL/Proxy).
//
//  * georoute._key_partition(bigint | text) → integer: the PL/Proxy
//    partition of a routing key, which is its home region's number (the
//    cluster 'georoute' has a partition per number, proxy_cluster()).
//    A bigint is a georoute id (its home, by arithmetic); a text is a
//    region code, or a key "<region>:<anything>" (an event stream
//    "eu:order-42"). Keys that name no registered region with a server
//    are refused before any connection is made.
//  * georoute._remote(conninfo, sql, purpose): runs statements in another
//    database over libpq (proxy() writes the routed functions into the
//    router, move() works in the target region). Not granted to PUBLIC.
#include <string>

#include "args.hpp"
#include "errcodes.hpp"
#include "georoute/registry.hpp"
#include "pg_boundary.hpp"

#include "georoute/remote.hpp"

using casebook::Error;
namespace errcodes = casebook::errcodes;
namespace args = casebook::args;
namespace registry = casebook::georoute::registry;
namespace remote = casebook::georoute::remote;

namespace {

int32 partition_of_region(int number, const std::string& code, const std::string& key) {
    if (!registry::target_of(number))
        throw Error(errcodes::unknown_region_server,
                    "region " + code + " (of key " + key + ") has no server: a routed call cannot reach it", {},
                    "Give the region a postgres_fdw server (georoute.regions.server), then run "
                    "georoute.proxy_cluster() in the router database.");
    return number;
}

}  // namespace

CASEBOOK_FUNCTION(georoute_key_partition_id) {
    int64 id = args::int8(fcinfo, 0, "key");
    auto [number, code] = registry::home_of(id);
    return Int32GetDatum(partition_of_region(number, code, std::to_string(id)));
}

CASEBOOK_FUNCTION(georoute_key_partition_text) {
    std::string key = args::string(fcinfo, 0, "key");
    std::string code = key;
    auto number = registry::number_of(code);
    if (!number) {
        auto colon = key.find(':');
        if (colon != std::string::npos) {
            code = key.substr(0, colon);
            number = registry::number_of(code);
        }
    }
    if (!number)
        throw Error(errcodes::unknown_region, "key \"" + key + "\" names no region",
                    "A routed call's text key is a region code, or \"<region code>:<rest>\".",
                    "georoute.regions lists the codes.");
    return Int32GetDatum(partition_of_region(*number, code, "\"" + key + "\""));
}

// georoute._remote(conninfo, sql, purpose) → text: runs sql (one or more
// statements) in another database, as the server's OS user; returns the
// first value of the last result (NULL when it has none). KB615 with the
// remote error (and its SQLSTATE) when it cannot connect or a statement
// fails. purpose names the work in the message.
CASEBOOK_FUNCTION(georoute_remote) {
    std::string conninfo = args::string(fcinfo, 0, "conninfo");
    std::string sql = args::string(fcinfo, 1, "sql");
    std::string purpose = args::string(fcinfo, 2, "purpose");
    PGconn* conn = remote::connect(conninfo, "georoute", errcodes::remote_failed, purpose + ": cannot connect",
                                   "Check the connection string (" + conninfo + ").");
    PGresult* res = PQexec(conn, sql.c_str());
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        std::string why = remote::trimmed(PQresultErrorMessage(res));
        const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        std::string sqlstate = state ? state : "";
        PQclear(res);
        PQfinish(conn);
        throw Error(errcodes::remote_failed, purpose + ": the other database refused", why,
                    sqlstate.empty() ? std::string() : "Its SQLSTATE: " + sqlstate + ".");
    }
    bool has_value = status == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0);
    std::string value = has_value ? PQgetvalue(res, 0, 0) : "";
    PQclear(res);
    PQfinish(conn);
    if (!has_value) PG_RETURN_NULL();
    return PointerGetDatum(casebook::pg::make_text(value));
}
