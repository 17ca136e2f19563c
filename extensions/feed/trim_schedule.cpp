// feed: the trim schedule in shared memory (see trim_schedule.hpp).
#include "trim_schedule.hpp"

#include <climits>

#include "pg_boundary.hpp"
#include "settings.hpp"
#include "trim_counter.hpp"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"
}

namespace casebook::feed::trim_schedule {
namespace {

int g_trim_users = 262144;  // feed.trim_users
std::size_t g_nsets = 0;    // a power of two; 0 = no shared table
TrimSet* g_sets = nullptr;
slock_t* g_locks = nullptr;  // one per set
shmem_request_hook_type g_prev_request = nullptr;
shmem_startup_hook_type g_prev_startup = nullptr;

// The users whose timelines this transaction trimmed (database MyDatabaseId).
// Kept in the process's own heap; cleared at the transaction's end.
std::vector<int64_t> g_trimmed;

std::size_t sets_for(int users) {
    std::size_t want = static_cast<std::size_t>(users) / kTrimWays;
    std::size_t n = 1;
    while (n < want) n <<= 1;
    return n;
}

Size shared_bytes(std::size_t nsets) {
    return add_size(mul_size(nsets, sizeof(TrimSet)), mul_size(nsets, sizeof(slock_t)));
}

extern "C" void feed_trim_request_shmem(void) {
    if (g_prev_request) g_prev_request();
    RequestAddinShmemSpace(shared_bytes(sets_for(g_trim_users)));
}

extern "C" void feed_trim_startup_shmem(void) {
    if (g_prev_startup) g_prev_startup();
    std::size_t nsets = sets_for(g_trim_users);
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found = false;
    void* mem = ShmemInitStruct("casebook feed trim schedule", shared_bytes(nsets), &found);
    auto* sets = static_cast<TrimSet*>(mem);
    auto* locks = reinterpret_cast<slock_t*>(static_cast<char*>(mem) + nsets * sizeof(TrimSet));
    if (!found) {
        memset(mem, 0, nsets * sizeof(TrimSet));
        for (std::size_t i = 0; i < nsets; i++) SpinLockInit(&locks[i]);
    }
    LWLockRelease(AddinShmemInitLock);
    g_sets = sets;
    g_locks = locks;
    g_nsets = nsets;
}

// Undoes the count reset of every trim this transaction made so far: their
// next delivery trims. Runs in abort processing: no allocation, no error.
void force_all() {
    if (g_sets == nullptr) return;
    for (int64_t user : g_trimmed) {
        std::size_t s = trim_set_of(MyDatabaseId, user, g_nsets);
        SpinLockAcquire(&g_locks[s]);
        trim_force(g_sets[s], MyDatabaseId, user, kTrimEvery);
        SpinLockRelease(&g_locks[s]);
    }
}

extern "C" void feed_trim_on_xact(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_ABORT:
        // A prepared transaction may still be rolled back, later and
        // elsewhere: its trims are not counted on.
        case XACT_EVENT_PREPARE:
            force_all();
            g_trimmed.clear();
            break;
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_PARALLEL_COMMIT:
            g_trimmed.clear();
            break;
        default:
            break;
    }
}

// A subtransaction rolled back: its trims are undone, and so may be any of
// the transaction's (which ones is not kept): all of them count as undone.
extern "C" void feed_trim_on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
    if (event == SUBXACT_EVENT_ABORT_SUB) force_all();
}

}  // namespace

void install() {
    pg::guard([] {
        RegisterXactCallback(feed_trim_on_xact, nullptr);
        RegisterSubXactCallback(feed_trim_on_subxact, nullptr);
    });
    // Only while preloading: PostgreSQL ends the session (FATAL) when a
    // library loaded later defines a PGC_POSTMASTER setting.
    if (!process_shared_preload_libraries_in_progress) return;
    pg::guard([] {
        DefineCustomIntVariable("feed.trim_users",
                                "Users whose deliveries since their last timeline trim are counted in shared memory "
                                "(with feed in shared_preload_libraries).",
                                nullptr, &g_trim_users, 262144, 1024, 1 << 26, PGC_POSTMASTER, 0, nullptr, nullptr,
                                nullptr);
    });
    g_prev_request = shmem_request_hook;
    shmem_request_hook = feed_trim_request_shmem;
    g_prev_startup = shmem_startup_hook;
    shmem_startup_hook = feed_trim_startup_shmem;
}

std::vector<int64_t> due(const std::vector<int64_t>& users) {
    if (g_sets == nullptr) return users;  // no shared count: every delivery trims
    // Room first: nothing may fail between a count's reset and its record.
    std::vector<int64_t> out;
    out.reserve(users.size());
    g_trimmed.reserve(g_trimmed.size() + users.size());
    for (int64_t user : users) {
        std::size_t s = trim_set_of(MyDatabaseId, user, g_nsets);
        SpinLockAcquire(&g_locks[s]);
        bool trim = trim_due(g_sets[s], MyDatabaseId, user, kTrimEvery);
        SpinLockRelease(&g_locks[s]);
        if (trim) out.push_back(user);
    }
    g_trimmed.insert(g_trimmed.end(), out.begin(), out.end());
    return out;
}

void forget_database() {
    if (g_sets == nullptr) return;
    for (std::size_t s = 0; s < g_nsets; s++) {
        SpinLockAcquire(&g_locks[s]);
        for (TrimWay& w : g_sets[s].way)
            if (w.db == MyDatabaseId) w = TrimWay{0, 0, 0};
        SpinLockRelease(&g_locks[s]);
        if ((s & 4095) == 4095) pg::check_interrupts();
    }
}

}  // namespace casebook::feed::trim_schedule
