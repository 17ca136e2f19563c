// Unit tests: SQLSTATE handling and the error code registry.
#include <gtest/gtest.h>

#include <fstream>
#include <new>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "errcodes.hpp"
#include "error.hpp"

using casebook::Error;
using casebook::ExceptionReport;
using casebook::PgError;
using casebook::PgErrorFields;
using casebook::SqlState;

TEST(SqlState, PacksLikePostgres) {
    // MAKE_SQLSTATE('2','2','0','1','2') = division_by_zero = 33816706 in PostgreSQL.
    EXPECT_EQ(SqlState("22012").packed(), 33816706);
    EXPECT_EQ(SqlState::from_packed(33816706).str(), "22012");
}

TEST(SqlState, RoundTripsEveryRegisteredCode) {
    for (const auto& e : casebook::errcodes::all()) {
        SqlState s(e.code);
        EXPECT_EQ(s.str(), e.code);
        EXPECT_EQ(SqlState::from_packed(s.packed()).str(), e.code);
    }
}

TEST(SqlState, MalformedCodesBecomeInternalError) {
    EXPECT_EQ(SqlState("2201").str(), "XX000");
    EXPECT_EQ(SqlState("22o12").str(), "XX000");
    EXPECT_EQ(SqlState("220123").str(), "XX000");
}

TEST(Error, CarriesEveryField) {
    Error e(casebook::errcodes::insufficient_stock, "msg", "det", "hint");
    EXPECT_EQ(e.state().str(), "KB101");
    EXPECT_EQ(e.message(), "msg");
    EXPECT_EQ(e.detail(), "det");
    EXPECT_EQ(e.hint(), "hint");
    EXPECT_STREQ(e.what(), "msg");
}

TEST(PgError, CarriesEveryErrorDataField) {
    PgErrorFields f;
    f.context = "SQL statement \"INSERT ...\"";
    f.detail_log = "for the log";
    f.schema_name = "s";
    f.table_name = "t";
    f.column_name = "c";
    f.datatype_name = "d";
    f.constraint_name = "t_c_key";
    f.internal_query = "SELECT FROM WHERE";
    f.internal_pos = 13;
    f.cursor_pos = 7;
    PgError e(SqlState("23505"), "duplicate key", "Key (c)=(1) already exists.", "", f);
    EXPECT_EQ(e.state().str(), "23505");
    EXPECT_EQ(e.detail(), "Key (c)=(1) already exists.");
    EXPECT_EQ(e.context(), f.context);
    EXPECT_EQ(e.fields().detail_log, "for the log");
    EXPECT_EQ(e.fields().schema_name, "s");
    EXPECT_EQ(e.fields().table_name, "t");
    EXPECT_EQ(e.fields().column_name, "c");
    EXPECT_EQ(e.fields().datatype_name, "d");
    EXPECT_EQ(e.fields().constraint_name, "t_c_key");
    EXPECT_EQ(e.fields().internal_query, "SELECT FROM WHERE");
    EXPECT_EQ(e.fields().internal_pos, 13);
    EXPECT_EQ(e.fields().cursor_pos, 7);
}

TEST(PgError, ContextOnlyConstructorLeavesTheRestEmpty) {
    PgError e(SqlState("22012"), "division by zero", "", "", std::string("SQL statement \"SELECT 1/0\""));
    EXPECT_EQ(e.context(), "SQL statement \"SELECT 1/0\"");
    EXPECT_TRUE(e.fields().constraint_name.empty());
    EXPECT_EQ(e.fields().internal_pos, 0);
}

// What the entry point reports for the exception being handled, with the
// views copied out while the exception is alive.
struct Described {
    std::string state, message, detail, hint, constraint;
    bool pg = false;
};
template <typename Thrower>
Described describe(Thrower thrower) {
    Described out;
    try {
        thrower();
        ADD_FAILURE() << "nothing was thrown";
    } catch (...) {
        casebook::describe_current_exception([&](const ExceptionReport& r) {
            out.state = std::string(r.state.str());
            out.message = std::string(r.message);
            out.detail = std::string(r.detail);
            out.hint = std::string(r.hint);
            out.pg = r.pg != nullptr;
            if (r.pg) out.constraint = r.pg->constraint_name;
        });
    }
    return out;
}

TEST(DescribeCurrentException, DomainErrorKeepsItsFields) {
    auto d = describe([] { throw Error(casebook::errcodes::insufficient_stock, "short", "det", "hint"); });
    EXPECT_EQ(d.state, "KB101");
    EXPECT_EQ(d.message, "short");
    EXPECT_EQ(d.detail, "det");
    EXPECT_EQ(d.hint, "hint");
    EXPECT_FALSE(d.pg);
}

TEST(DescribeCurrentException, PgErrorIsReportedWithItsFields) {
    PgErrorFields f;
    f.constraint_name = "items_sku_key";
    auto d = describe([&] { throw PgError(SqlState("23505"), "duplicate key", "", "", f); });
    EXPECT_EQ(d.state, "23505");
    EXPECT_TRUE(d.pg);
    EXPECT_EQ(d.constraint, "items_sku_key");
}

TEST(DescribeCurrentException, PgErrorCaughtAsErrorAndRethrownKeepsItsType) {
    // A nested guard rethrows exactly what it caught: the outer entry must
    // still see a PgError, not a sliced Error.
    auto d = describe([] {
        try {
            throw PgError(SqlState("22012"), "division by zero", "", "", std::string("ctx"));
        } catch (const Error&) {
            throw;
        }
    });
    EXPECT_EQ(d.state, "22012");
    EXPECT_TRUE(d.pg);
}

TEST(DescribeCurrentException, StandardExceptionsMapToRealStates) {
    auto oom = describe([] { throw std::bad_alloc(); });
    EXPECT_EQ(oom.state, "53200");
    EXPECT_EQ(oom.message, "out of memory in casebook native code");
    auto std_ex = describe([] { throw std::runtime_error("a standard exception"); });
    EXPECT_EQ(std_ex.state, "XX000");
    EXPECT_EQ(std_ex.message, "a standard exception");
    auto foreign = describe([] { throw 42; });
    EXPECT_EQ(foreign.state, "XX000");
    EXPECT_EQ(foreign.message, "unknown C++ exception in casebook native code");
    EXPECT_FALSE(foreign.pg);
}

TEST(ErrorCodes, UniqueAndDomainCodesInOwnClass) {
    std::set<std::string> seen;
    for (const auto& e : casebook::errcodes::all()) {
        EXPECT_TRUE(seen.insert(std::string(e.code)).second) << e.code;
        if (e.condition.size() && e.code.substr(0, 2) == "KB") {
            EXPECT_EQ(SqlState(e.code).error_class(), "KB");
        }
    }
    // The named constants are registered.
    for (SqlState s : {casebook::errcodes::insufficient_stock, casebook::errcodes::unknown_variant,
                       casebook::errcodes::reservation_expired, casebook::errcodes::idempotency_key_reused,
                       casebook::errcodes::invalid_status_transition}) {
        EXPECT_TRUE(seen.count(std::string(s.str()))) << s.str();
    }
}

TEST(ErrorCodes, DocumentedInDocsErrorsMd) {
    std::ifstream in(std::string(CASEBOOK_SOURCE_DIR) + "/docs/errors.md");
    ASSERT_TRUE(in.good()) << "docs/errors.md is missing";
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string doc = buf.str();
    for (const auto& e : casebook::errcodes::all()) {
        EXPECT_NE(doc.find("`" + std::string(e.code) + "`"), std::string::npos)
            << e.code << " is not in docs/errors.md";
        EXPECT_NE(doc.find(std::string(e.condition)), std::string::npos)
            << e.condition << " is not in docs/errors.md";
    }
}
