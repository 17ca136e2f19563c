// analytics: SQL entry points (declared in analytics--0.2.0.sql).
#include "analytics/batches.hpp"
#include "args.hpp"
#include "errcodes.hpp"
#include "pg_boundary.hpp"

extern "C" {
#include "access/xact.h"

PG_MODULE_MAGIC;
}

namespace args = casebook::args;
namespace batches = casebook::analytics::batches;

namespace {

Oid oid_arg(FunctionCallInfo fcinfo, int n, const char* name) { return DatumGetObjectId(args::datum(fcinfo, n, name)); }

}  // namespace

// The default of a tracked table's _batch column.
CASEBOOK_FUNCTION(analytics_batch) { return Int64GetDatum(batches::current(oid_arg(fcinfo, 0, "sequence"))); }

// refresh() step 2: wait for the writers of the table (batches.hpp). In a
// transaction that reads through one snapshot (REPEATABLE READ,
// SERIALIZABLE) the rows committed meanwhile would stay invisible to the
// refresh and be skipped for good: refused.
CASEBOOK_FUNCTION(analytics_wait_for_writers) {
    if (IsolationUsesXactSnapshot())
        throw casebook::Error(casebook::errcodes::refresh_needs_read_committed,
                              "analytics.refresh() must run at READ COMMITTED",
                              "At REPEATABLE READ or SERIALIZABLE the transaction's snapshot predates the writers it "
                              "waits for: their rows would be skipped.",
                              "Call it outside an explicit transaction, or in one at READ COMMITTED.");
    batches::wait_for_writers(oid_arg(fcinfo, 0, "source"));
    PG_RETURN_VOID();
}
