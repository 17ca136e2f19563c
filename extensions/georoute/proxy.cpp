// georoute: the native parts of routed function calls (PL/Proxy).
//
//  * georoute._key_partition(bigint | text) → integer: the PL/Proxy
//    partition of a routing key, which is its home region's number (the
//    cluster 'georoute' has a partition per number, proxy_cluster()).
//    A bigint is a georoute id (its home, by arithmetic); a text is a
//    region code, or a key "<region>:<anything>" (an event stream
//    "eu:order-42"). Keys that name no registered region with a server
//    are refused before any connection is made.
//  * georoute._router_exec(conninfo, sql): runs DDL in the router
//    database over libpq (proxy() writes the routed functions there).
//    Not granted to PUBLIC.
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

CASEBOOK_FUNCTION(georoute_router_exec) {
    std::string conninfo = args::string(fcinfo, 0, "router");
    std::string sql = args::string(fcinfo, 1, "sql");
    PGconn* conn = remote::connect(conninfo, "georoute proxy", errcodes::router_unreachable,
                                   "cannot connect to the router database",
                                   "Check the router's connection string (georoute.router).");
    PGresult* res = PQexec(conn, sql.c_str());
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        std::string why = remote::trimmed(PQresultErrorMessage(res));
        const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        std::string sqlstate = state ? state : "";
        PQclear(res);
        PQfinish(conn);
        throw Error(errcodes::router_unreachable, "the router database refused the routed function", why,
                    sqlstate.empty() ? std::string() : "Its SQLSTATE: " + sqlstate + ".");
    }
    PQclear(res);
    PQfinish(conn);
    PG_RETURN_VOID();
}
