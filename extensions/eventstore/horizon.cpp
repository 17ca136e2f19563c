// eventstore: the gap-free global order (see horizon.hpp).
#include "horizon.hpp"

#include <cstring>
#include <new>

namespace casebook::eventstore {

std::size_t HorizonTable::bytes(uint32_t ndb, uint32_t nslots) {
    return sizeof(HorizonTable) + sizeof(DbCounter) * ndb + sizeof(InflightSlot) * nslots;
}

HorizonTable* HorizonTable::init(void* memory, uint32_t ndb, uint32_t nslots) {
    std::memset(memory, 0, bytes(ndb, nslots));
    auto* t = new (memory) HorizonTable;
    t->ndb = ndb;
    t->nslots = nslots;
    return t;
}

DbCounter* HorizonTable::counters() {
    // DbCounter has 8-byte alignment; the header is 8 bytes.
    static_assert(sizeof(HorizonTable) % alignof(DbCounter) == 0);
    return reinterpret_cast<DbCounter*>(reinterpret_cast<char*>(this) + sizeof(HorizonTable));
}

InflightSlot* HorizonTable::slots() {
    static_assert(sizeof(DbCounter) % alignof(InflightSlot) == 0);
    return reinterpret_cast<InflightSlot*>(reinterpret_cast<char*>(counters()) +
                                           sizeof(DbCounter) * ndb);
}

DbCounter* HorizonTable::find(uint32_t db) {
    DbCounter* c = counters();
    for (uint32_t i = 0; i < ndb; ++i)
        if (c[i].db == db && c[i].ready) return &c[i];
    return nullptr;
}

HorizonTable::Alloc HorizonTable::allocate(uint32_t db, uint32_t slot, int64_t n, int64_t* first, int64_t* upto,
                                           bool* untracked) {
    DbCounter* c = find(db);
    if (c == nullptr) return Alloc::needs_load;
    if (untracked != nullptr) *untracked = c->reserved == kUntracked;
    if (c->reserved != kUntracked && n > c->reserved - c->next + 1) {
        if (upto != nullptr) *upto = c->next + n - 1;
        return Alloc::needs_reserve;
    }
    *first = c->next;
    c->next += n;
    InflightSlot& s = slots()[slot];
    // Positions only grow, so the first allocation of a transaction is its
    // lowest. A backend works in one database, so a set slot is ours.
    if (s.db == 0) {
        s.db = db;
        s.min_position = *first;
    }
    return Alloc::ok;
}

bool HorizonTable::in_flight(uint32_t db) {
    InflightSlot* s = slots();
    for (uint32_t i = 0; i < nslots; ++i)
        if (s[i].db == db) return true;
    return false;
}

HorizonTable::Load HorizonTable::load(uint32_t db, int64_t max_position, uint64_t epoch, int64_t durable_mark) {
    if (find(db) != nullptr) return Load::ok;
    if (epoch != evictions) return Load::stale;
    DbCounter* c = counters();
    DbCounter* target = nullptr;
    for (uint32_t i = 0; i < ndb && target == nullptr; ++i)
        if (c[i].db == 0 || c[i].db == db) target = &c[i];
    for (uint32_t i = 0; i < ndb && target == nullptr; ++i) {
        if (!in_flight(c[i].db)) {
            target = &c[i];  // evicted: reloaded from its own table on next use
            ++evictions;
        }
    }
    if (target == nullptr) return Load::full;
    target->db = db;
    target->ready = 1;
    target->ahead = kReserveMin;
    target->extended_at = 0;
    if (durable_mark == kUntracked) {
        target->next = max_position + 1;
        target->reserved = kUntracked;
    } else {
        target->next = (max_position > durable_mark ? max_position : durable_mark) + 1;
        target->reserved = target->next - 1;
    }
    return Load::ok;
}

int64_t HorizonTable::track(uint32_t db) {
    DbCounter* c = find(db);
    if (c == nullptr) return 0;
    // Nothing is known durable yet: every allocation now needs a raise,
    // which lands above everything handed out so far.
    if (c->reserved == kUntracked) c->reserved = 0;
    return c->next - 1;
}

int64_t HorizonTable::reserve_target(uint32_t db, int64_t upto, int64_t now_us) {
    DbCounter* c = find(db);
    if (c == nullptr) return 0;
    if (c->ahead < kReserveMin) c->ahead = kReserveMin;
    int64_t since = now_us - c->extended_at;
    if (c->extended_at != 0 && since >= 0 && since < 1000000) {
        c->ahead = c->ahead >= kReserveMax / 2 ? kReserveMax : c->ahead * 2;
    } else if (c->extended_at != 0) {
        c->ahead = c->ahead / 2 < kReserveMin ? kReserveMin : c->ahead / 2;
    }
    c->extended_at = now_us;
    return upto > INT64_MAX - c->ahead ? INT64_MAX : upto + c->ahead;
}

void HorizonTable::reserved(uint32_t db, int64_t upto) {
    DbCounter* c = find(db);
    if (c != nullptr && c->reserved != kUntracked && upto > c->reserved) c->reserved = upto;
}

bool HorizonTable::forget(uint32_t db) {
    if (in_flight(db)) return false;
    DbCounter* c = counters();
    for (uint32_t i = 0; i < ndb; ++i) {
        if (c[i].db == db) {
            c[i] = DbCounter{0, 0, 0, 0, 0, 0};
            ++evictions;
        }
    }
    return true;
}

int64_t HorizonTable::horizon(uint32_t db) {
    DbCounter* c = find(db);
    if (c == nullptr) return 0;
    int64_t h = c->next;
    InflightSlot* s = slots();
    for (uint32_t i = 0; i < nslots; ++i)
        if (s[i].db == db && s[i].min_position < h) h = s[i].min_position;
    return h;
}

void HorizonTable::release(uint32_t slot) { slots()[slot] = InflightSlot{0, 0}; }

}  // namespace casebook::eventstore
