// casebook_selftest: probes of the C++/PostgreSQL boundary. Each probe keeps
// C++ objects that own heap memory alive in its frames while a PostgreSQL
// call fails, so a skipped destructor shows up as a non-zero live_objects()
// and as a leak under valgrind.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "errcodes.hpp"
#include "pg_boundary.hpp"
#include "spi.hpp"

extern "C" {
PG_MODULE_MAGIC;
}

namespace {

int g_live = 0;

// Owns heap memory and counts itself.
class Tracked {
public:
    explicit Tracked(const char* label) : payload_(std::make_unique<std::string>(256, 'x')) {
        payload_->append(label);
        ++g_live;
    }
    ~Tracked() { --g_live; }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;

private:
    std::unique_ptr<std::string> payload_;
};

std::string arg_text(FunctionCallInfo fcinfo, int n) {
    text* t = PG_GETARG_TEXT_PP(n);
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

casebook::spi::Statement kDivide{"SELECT $1 / $2", {INT4OID, INT4OID}};

int32_t divide_deep(int32_t a, int32_t b, int depth) {
    Tracked here("divide frame");
    std::vector<std::string> noise(4, std::string(64, 'n'));
    if (depth > 0) return divide_deep(a, b, depth - 1);
    casebook::spi::Connection spi;
    auto rows = spi.execute(kDivide, {casebook::spi::int4_param(a), casebook::spi::int4_param(b)},
                            true, 1);
    int32_t result = rows.int4_at(0, 1);
    spi.finish();
    return result;
}

}  // namespace

CASEBOOK_FUNCTION(selftest_live_objects) { return Int32GetDatum(g_live); }

CASEBOOK_FUNCTION(selftest_divide) {
    Tracked outer("entry frame");
    return Int32GetDatum(divide_deep(PG_GETARG_INT32(0), PG_GETARG_INT32(1), 3));
}

CASEBOOK_FUNCTION(selftest_run_sql) {
    Tracked outer("entry frame");
    std::string query = arg_text(fcinfo, 0);
    std::vector<Tracked*> owned;
    auto keep = std::make_unique<Tracked>("heap object");
    casebook::spi::Connection spi;
    const char* q = query.c_str();
    int rc = casebook::pg::guard([&] { return SPI_execute(q, false, 0); });
    if (rc < 0) throw casebook::Error(casebook::errcodes::internal_error, "SPI_execute failed");
    uint64 processed = SPI_processed;
    spi.finish();
    return Int64GetDatum(static_cast<int64>(processed));
}

CASEBOOK_FUNCTION(selftest_throw) {
    Tracked outer("entry frame");
    std::string kind = arg_text(fcinfo, 0);
    if (kind == "domain")
        throw casebook::Error(casebook::errcodes::insufficient_stock,
                              "variant 7 has 2 available, 5 requested", "detail for the caller",
                              "hint for the caller");
    if (kind == "standard") throw std::runtime_error("a standard exception");
    if (kind == "bad_alloc") throw std::bad_alloc();
    if (kind == "foreign") throw 42;
    throw casebook::Error(casebook::errcodes::invalid_parameter_value,
                          "unknown kind \"" + kind + "\"",
                          "", "use domain, standard, bad_alloc or foreign");
}

CASEBOOK_FUNCTION(selftest_spin) {
    Tracked outer("entry frame");
    double seconds = PG_GETARG_FLOAT8(0);
    auto until = std::chrono::steady_clock::now() +
                 std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(seconds));
    std::vector<std::string> work;
    int64 iterations = 0;
    while (std::chrono::steady_clock::now() < until) {
        work.emplace_back(32, 'w');
        if (work.size() > 1000) work.clear();
        ++iterations;
        casebook::pg::check_interrupts();
    }
    return Int64GetDatum(iterations);
}

// Memory-check control: leaks one 4242-byte block on purpose, so the memory
// check can prove it sees leaks in this module (test/memcheck/run.sh).
CASEBOOK_FUNCTION(selftest_leak_control) {
    void* block = std::malloc(4242);
    if (block != nullptr) std::memset(block, 1, 4242);
    asm volatile("" : : "r"(block) : "memory");
    return Int32GetDatum(4242);
}
