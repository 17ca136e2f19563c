// Unit tests: SQLSTATE handling and the error code registry.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "errcodes.hpp"
#include "error.hpp"

using casebook::Error;
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
