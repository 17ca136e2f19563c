// eventstore: projections (see projections.hpp).
#include "projections.hpp"

#include <limits>
#include <map>
#include <memory>
#include <unordered_map>

#include "catalog_cache.hpp"
#include "errcodes.hpp"
#include "event_record.hpp"
#include "event_scan.hpp"
#include "global_order.hpp"
#include "json_program.hpp"
#include "jsonb_bridge.hpp"
#include "personal.hpp"
#include "store.hpp"
#include "subscriptions.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "common/hashfn.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace casebook::eventstore::projections {
namespace {

constexpr uint16_t kProjectionLockSpace = 0x4554;
constexpr std::size_t kMaxStatesInMemory = 10000;

// ---------------------------------------------------------------------------
// Definitions
// ---------------------------------------------------------------------------

struct Definition {
    std::string name;
    std::optional<std::string> category;
    std::optional<Reducer> reducer;
    Oid function = InvalidOid;
    Oid owner = InvalidOid;
    JValue initial;
    bool inline_mode = true;
    int32_t snapshot_every = 0;

    bool applies_to(const std::string& cat) const { return !category || *category == cat; }
    std::string subscription() const { return "projection:" + name; }
};

using DefPtr = std::shared_ptr<const Definition>;

spi::Statement kDefinitions{
    "SELECT name, category, reducer, apply_function::oid, owner::oid, initial_state, mode, "
    "coalesce(snapshot_every, 0) FROM eventstore.projections",
    {}};

class Registry {
public:
    static const Registry& current(spi::Connection& conn) {
        static Registry cached;
        uint64_t gen = catalog::generation();
        if (cached.generation_ == gen) return cached;
        Registry fresh;
        spi::Rows rows = conn.execute(kDefinitions, {}, false);  // sees this transaction's own changes
        for (uint64_t r = 0; r < rows.size(); ++r) {
            auto def = std::make_shared<Definition>();
            def->name = rows.text(r, 1).value_or("");
            def->category = rows.text(r, 2);
            if (auto spec = rows.datum(r, 3)) def->reducer = Reducer::parse(to_jvalue(*spec));
            if (auto fn = rows.datum(r, 4)) def->function = DatumGetObjectId(*fn);
            def->owner = DatumGetObjectId(*rows.datum(r, 5));
            def->initial = to_jvalue(*rows.datum(r, 6));
            def->inline_mode = rows.text(r, 7).value_or("inline") == "inline";
            def->snapshot_every = rows.int4_at(r, 8);
            fresh.defs_.emplace(def->name, std::move(def));
        }
        fresh.generation_ = gen;
        cached = std::move(fresh);
        return cached;
    }

    // Callers hold the shared pointer while they fold: a reload (an apply
    // function that changes definitions, say) cannot free it under them.
    DefPtr get(const std::string& name) const {
        auto it = defs_.find(name);
        if (it == defs_.end())
            throw Error(errcodes::unknown_projection, "projection \"" + name + "\" does not exist", "",
                        "Create it with eventstore.create_projection().");
        return it->second;
    }
    std::vector<DefPtr> inline_for(const std::string& category) const {
        std::vector<DefPtr> out;
        for (const auto& [_, d] : defs_)
            if (d->inline_mode && d->applies_to(category)) out.push_back(d);
        return out;
    }
    std::vector<DefPtr> async_all() const {
        std::vector<DefPtr> out;
        for (const auto& [_, d] : defs_)
            if (!d->inline_mode) out.push_back(d);
        return out;
    }
    std::vector<DefPtr> for_category(const std::string& category) const {
        std::vector<DefPtr> out;
        for (const auto& [_, d] : defs_)
            if (d->applies_to(category)) out.push_back(d);
        return out;
    }

private:
    std::map<std::string, DefPtr> defs_;
    uint64_t generation_ = 0;
};

// Exclusive for rebuild, shared for everything that folds events.
void lock_projection(const std::string& name, LOCKMODE mode) {
    const char* data = name.data();
    int len = static_cast<int>(name.size());
    pg::guard([&] {
        uint64 h = hash_bytes_extended(reinterpret_cast<const unsigned char*>(data), len, 0x50524F4A);
        LOCKTAG tag;
        SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(h >> 32), static_cast<uint32>(h),
                             kProjectionLockSpace);
        (void)LockAcquire(&tag, mode, false, false);
    });
}

// Looked up each time (a syscache hit): the extension may be re-created.
Oid event_type_oid() {
    return pg::guard([] {
        Oid ns = get_namespace_oid("eventstore", false);
        return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("event"), ObjectIdGetDatum(ns));
    });
}

// ---------------------------------------------------------------------------
// Folding
// ---------------------------------------------------------------------------

spi::Statement kLoadState{
    "SELECT state, version, position FROM eventstore.projection_state "
    "WHERE projection = $1 AND stream_id = $2",
    {TEXTOID, TEXTOID}};

// Nothing is written (no row returned) when the projection is gone: only
// its own apply function can have dropped it meanwhile (a concurrent
// drop_projection waits for the fold's lock), and the caller says so
// instead of a foreign-key violation.
spi::Statement kSaveState{
    "INSERT INTO eventstore.projection_state AS s (projection, stream_id, state, version, position) "
    "SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT FROM eventstore.projections WHERE name = $1) "
    "ON CONFLICT (projection, stream_id) DO UPDATE "
    "SET state = EXCLUDED.state, version = EXCLUDED.version, position = EXCLUDED.position, "
    "updated_at = now() RETURNING 1",
    {TEXTOID, TEXTOID, JSONBOID, INT8OID, INT8OID}};

spi::Statement kSaveSnapshot{
    "INSERT INTO eventstore.snapshots (projection, stream_id, version, position, state) "
    "SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT FROM eventstore.projections WHERE name = $1) "
    "ON CONFLICT (projection, stream_id, version) DO UPDATE "
    "SET state = EXCLUDED.state, position = EXCLUDED.position, created_at = now() RETURNING 1",
    {TEXTOID, TEXTOID, INT8OID, INT8OID, JSONBOID}};

[[noreturn]] void dropped_while_folding(const std::string& name) {
    throw Error(errcodes::projection_failed, "projection \"" + name + "\" was dropped while it was being folded",
                "Its apply function (or an upcaster it triggered) dropped it.",
                "Apply functions must not change projection definitions.");
}

spi::Statement kStreamEventsBetween{
    "SELECT " ES_EVENT_COLUMNS " FROM eventstore.events "
    "WHERE stream_id = $1 AND version > $2 AND version <= $3 ORDER BY version",
    {TEXTOID, INT8OID, INT8OID}};

struct State {
    JValue json;        // reducer projections
    Datum datum = 0;    // function projections: jsonb in the folder's context
    int64_t version = 0;
    int64_t position = 0;
};

// An apply function is called as the projection's creator: the function,
// the role and the right to execute must all still exist at every fold.
void check_function_usable(const Definition& def) {
    switch (check_callable(def.function, def.owner)) {
        case CallProblem::none:
            return;
        case CallProblem::function_gone:
            throw Error(errcodes::projection_failed,
                        "the apply function of projection \"" + def.name + "\" no longer exists", "",
                        "Drop the projection and create it again with an existing function.");
        case CallProblem::role_gone:
            throw Error(errcodes::projection_failed,
                        "the role that created projection \"" + def.name + "\" no longer exists", "",
                        "Drop the projection and create it again as an existing role.");
        case CallProblem::no_execute:
            throw Error(errcodes::insufficient_privilege,
                        "the creator of projection \"" + def.name + "\" may no longer execute its apply function",
                        "The apply function runs as the role that created the projection.");
    }
}

class Folder {
public:
    Folder(spi::Connection& conn, DefPtr def, bool write_snapshots = true)
        : conn_(conn), def_holder_(std::move(def)), def_(*def_holder_), pipeline_holder_(Pipeline::current(conn)),
          pipeline_(*pipeline_holder_), keys_(conn, write_snapshots), write_snapshots_(write_snapshots),
          event_type_(def_.reducer ? InvalidOid : event_type_oid()) {
        if (!def_.reducer) check_function_usable(def_);
        MemoryContext parent = CurrentMemoryContext;
        states_cxt_ = pg::guard([&] {
            return AllocSetContextCreate(parent, "eventstore projection states", ALLOCSET_DEFAULT_SIZES);
        });
        scratch_cxt_ = pg::guard([&] {
            return AllocSetContextCreate(parent, "eventstore fold scratch", ALLOCSET_DEFAULT_SIZES);
        });
    }
    ~Folder() = default;  // the contexts go with the SPI procedure context

    State initial() {
        State s;
        if (def_.reducer) {
            s.json = def_.initial;
        } else {
            s.datum = keep(to_jsonb(def_.initial));
        }
        return s;
    }

    // The stored state of a stream, or the initial one.
    State load(const std::string& stream) {
        spi::Rows rows = conn_.execute(kLoadState, {spi::text_param(def_.name), spi::text_param(stream)}, false);
        if (rows.empty()) return initial();
        State s;
        Datum d = *rows.datum(0, 1);
        if (def_.reducer) {
            s.json = to_jvalue(d);
        } else {
            s.datum = keep(d);
        }
        s.version = rows.int8_at(0, 2);
        s.position = rows.int8_at(0, 3);
        return s;
    }

    // Reducers (and upcasters, and opening personal fields) read type,
    // data, version, position, stream, event id and personal; apply
    // functions get the whole event.
    bool needs_full_events() const { return !def_.reducer || def_.reducer->uses_created_at(); }

    Datum state_datum(const State& s) { return def_.reducer ? to_jsonb(s.json) : s.datum; }

    // Folds one event (already read from the table or being appended).
    // Everything allocated for it (upcast data, composite, snapshot jsonb)
    // lives in a scratch context reset every 256 events: memory stays flat
    // over long replays. ev.data may point into it until then.
    void apply(State& s, EventRecord& ev) {
        MemoryContext scratch = scratch_cxt_;
        bool reset = ++applied_ % 256 == 0;  // a few KB per event at most
        if (reset) pg::guard([&] { MemoryContextReset(scratch); });
        // Switching contexts is an assignment: it cannot raise.
        MemoryContext saved = MemoryContextSwitchTo(scratch);
        try {
            apply_in_scratch(s, ev);
        } catch (...) {
            MemoryContextSwitchTo(saved);
            throw;
        }
        MemoryContextSwitchTo(saved);
    }

private:
    void apply_in_scratch(State& s, EventRecord& ev) {
        pipeline_.present(ev, keys_);
        if (def_.reducer) {
            if (const Reducer::Compiled* compiled = def_.reducer->for_type(ev.type)) {
                const auto& needs = compiled->needs;
                JValue data;
                if (needs.whole) data = to_jvalue(ev.data);
                else extract_paths(ev.data, needs.paths, slots_);
                std::string created = def_.reducer->uses_created_at() ? ev.created_at_text() : std::string();
                EventView view{ev.type, &data, needs.whole ? nullptr : &slots_, ev.version, ev.position,
                               ev.stream, created};
                run_operations(compiled->ops, s.json, view);
            }
        } else {
            Datum composite = ev.to_composite(event_type_);
            bool isnull = false;
            Datum out = call_as(def_.owner, def_.function, s.datum, composite, &isnull);
            if (isnull)
                throw Error(errcodes::projection_failed,
                            "apply function of projection \"" + def_.name + "\" returned NULL",
                            "event " + ev.type + ", stream " + ev.stream + ", version " + std::to_string(ev.version),
                            "Return the state unchanged for events the projection ignores.");
            Datum old = s.datum;
            s.datum = keep(out);
            if (old != 0) pg::guard([&] { pfree(DatumGetPointer(old)); });
        }
        s.version = ev.version;
        s.position = ev.position;
        if (write_snapshots_ && def_.snapshot_every > 0 && ev.version % def_.snapshot_every == 0)
            snapshot(s, ev.stream);
    }

public:

    // Brings a stored state up to `version` from the table (a projection
    // created after the stream's first events, for example).
    void catch_up(State& s, const std::string& stream, int64_t version) {
        if (s.version >= version) return;
        spi::Rows rows = conn_.execute(
            kStreamEventsBetween, {spi::text_param(stream), spi::int8_param(s.version), spi::int8_param(version)}, false);
        for (uint64_t r = 0; r < rows.size(); ++r) {
            EventRecord ev = EventRecord::from_row(rows, r);
            apply(s, ev);
        }
    }

    void save(const std::string& stream, const State& s) {
        Datum d = state_datum(s);
        if (conn_.execute(kSaveState, {spi::text_param(def_.name), spi::text_param(stream), spi::datum_param(d),
                                       spi::int8_param(s.version), spi::int8_param(s.position)})
                .empty())
            dropped_while_folding(def_.name);
    }

    void snapshot(const State& s, const std::string& stream) {
        Datum d = state_datum(s);
        if (conn_.execute(kSaveSnapshot, {spi::text_param(def_.name), spi::text_param(stream),
                                          spi::int8_param(s.version), spi::int8_param(s.position), spi::datum_param(d)})
                .empty())
            dropped_while_folding(def_.name);
    }

private:
    Datum keep(Datum jsonb) {
        MemoryContext cxt = states_cxt_;
        return pg::guard([&] {
            MemoryContext old = MemoryContextSwitchTo(cxt);
            Datum copy = datumCopy(jsonb, false, -1);
            MemoryContextSwitchTo(old);
            return copy;
        });
    }

    spi::Connection& conn_;
    DefPtr def_holder_;
    const Definition& def_;
    std::shared_ptr<const Pipeline> pipeline_holder_;
    const Pipeline& pipeline_;
    personal::KeyRing keys_;
    bool write_snapshots_;
    Oid event_type_;
    MemoryContext states_cxt_;
    MemoryContext scratch_cxt_;
    uint64_t applied_ = 0;
    std::vector<std::optional<JValue>> slots_;  // reused per event
};


// Folds every event of a scan; states are kept per stream in memory and
// flushed when there are many (and at the end).
int64_t fold_scan(Folder& folder, EventScan& scan) {
    std::unordered_map<std::string, State> states;
    int64_t applied = 0;
    auto flush = [&] {
        for (auto& [stream, s] : states) folder.save(stream, s);
        states.clear();
    };
    EventRecord ev;
    State* current = nullptr;  // consecutive events of one stream skip the lookup
    std::string current_stream;
    while (scan.next(ev)) {
        if ((applied & 1023) == 0) pg::check_interrupts();
        if (current == nullptr || ev.stream != current_stream) {
            auto it = states.find(ev.stream);
            if (it == states.end()) {
                if (states.size() >= kMaxStatesInMemory) flush();
                it = states.emplace(ev.stream, folder.load(ev.stream)).first;
            }
            current = &it->second;  // node-based map: stable until erased (flush)
            current_stream = ev.stream;
        }
        folder.apply(*current, ev);
        ++applied;
    }
    scan.close();
    flush();
    return applied;
}




spi::Statement kDeleteStates{"DELETE FROM eventstore.projection_state WHERE projection = $1", {TEXTOID}};
spi::Statement kDeleteSnapshots{"DELETE FROM eventstore.snapshots WHERE projection = $1", {TEXTOID}};
spi::Statement kDeleteStreamState{
    "DELETE FROM eventstore.projection_state WHERE projection = $1 AND stream_id = $2", {TEXTOID, TEXTOID}};
spi::Statement kDeleteStreamSnapshots{
    "DELETE FROM eventstore.snapshots WHERE projection = $1 AND stream_id = $2", {TEXTOID, TEXTOID}};
spi::Statement kStreamCategory{
    "SELECT category FROM eventstore.events WHERE stream_id = $1 ORDER BY version LIMIT 1", {TEXTOID}};
spi::Statement kSetCheckpoint{
    "UPDATE eventstore.subscription_checkpoints SET position = $2, updated_at = clock_timestamp() "
    "WHERE subscription = $1",
    {TEXTOID, INT8OID}};

spi::Statement kInsertDefinition{
    "INSERT INTO eventstore.projections (name, category, reducer, apply_function, owner, initial_state, mode, "
    "snapshot_every) VALUES ($1, $2, $3, $4::oid::regprocedure, $5::oid::regrole, $6, $7, nullif($8, 0)) "
    "ON CONFLICT (name) DO NOTHING RETURNING name",
    {TEXTOID, TEXTOID, JSONBOID, OIDOID, OIDOID, JSONBOID, TEXTOID, INT4OID}};

spi::Statement kSchedule{"SELECT eventstore._schedule_async_projections()", {}};
spi::Statement kDropDefinition{"DELETE FROM eventstore.projections WHERE name = $1", {TEXTOID}};

void check_apply_function(Oid fn, Oid owner) {
    struct Shape {
        int nargs;
        Oid arg0, arg1, ret;
        bool retset;
        bool found;
        char kind;
    } shape{};
    Shape* sp = &shape;
    pg::guard([&] {
        HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
        if (!HeapTupleIsValid(tup)) return;
        auto* p = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tup));
        sp->found = true;
        sp->nargs = p->pronargs;
        sp->arg0 = p->pronargs > 0 ? p->proargtypes.values[0] : InvalidOid;
        sp->arg1 = p->pronargs > 1 ? p->proargtypes.values[1] : InvalidOid;
        sp->ret = p->prorettype;
        sp->retset = p->proretset;
        sp->kind = p->prokind;
        ReleaseSysCache(tup);
    });
    if (!shape.found) throw Error(errcodes::invalid_projection_spec, "apply function does not exist");
    // An aggregate or window function has the signature but cannot be
    // called on its own (every fold would fail).
    if (shape.kind != PROKIND_FUNCTION)
        throw Error(errcodes::invalid_projection_spec,
                    std::string("an apply function must be a plain function, not ") +
                        (shape.kind == PROKIND_AGGREGATE ? "an aggregate"
                         : shape.kind == PROKIND_WINDOW  ? "a window function"
                                                         : "a procedure"));
    if (shape.nargs != 2 || shape.arg0 != JSONBOID || shape.arg1 != event_type_oid() || shape.ret != JSONBOID ||
        shape.retset)
        throw Error(errcodes::invalid_projection_spec,
                    "an apply function must take (state jsonb, event eventstore.event) and return jsonb", "",
                    "CREATE FUNCTION my_apply(state jsonb, e eventstore.event) RETURNS jsonb ...");
    AclResult acl = pg::guard([&] { return pg_proc_aclcheck(fn, owner, ACL_EXECUTE); });
    if (acl != ACLCHECK_OK)
        throw Error(errcodes::insufficient_privilege, "permission denied for the apply function",
                    "The projection's apply function runs as the role that creates the projection.");
}

int64_t rebuild_locked(spi::Connection& conn, const DefPtr& def_ptr, const std::optional<std::string>& stream) {
    const Definition& def = *def_ptr;
    Folder folder(conn, def_ptr);
    if (stream) {
        conn.execute(kDeleteStreamState, {spi::text_param(def.name), spi::text_param(*stream)});
        conn.execute(kDeleteStreamSnapshots, {spi::text_param(def.name), spi::text_param(*stream)});
        EventScan scan(EventScan::Mode::stream, *stream, 0, folder.needs_full_events());
        return fold_scan(folder, scan);
    }
    conn.execute(kDeleteStates, {spi::text_param(def.name)});
    conn.execute(kDeleteSnapshots, {spi::text_param(def.name)});
    // Inline: every committed event has been folded by its append (or waits
    // for our lock and folds on top), so replay everything committed. Async:
    // replay below the horizon (every position there is settled) and move
    // the checkpoint there; the runner folds the rest.
    int64_t horizon = global_order::horizon(conn);
    int64_t bound = def.inline_mode ? std::numeric_limits<int64_t>::max() : horizon;
    EventScan scan(def.category ? EventScan::Mode::category_below : EventScan::Mode::all_below,
                   def.category.value_or(""), bound, folder.needs_full_events());
    int64_t n = fold_scan(folder, scan);
    if (!def.inline_mode)
        conn.execute(kSetCheckpoint, {spi::text_param(def.subscription()), spi::int8_param(horizon - 1)});
    return n;
}

}  // namespace

int64_t create(spi::Connection& conn, const CreateRequest& req) {
    check_name(req.name, "projection name");
    if (req.category) check_name(*req.category, "category");
    if (req.mode != "inline" && req.mode != "async")
        throw Error(errcodes::invalid_parameter_value, "mode must be 'inline' or 'async', got '" + req.mode + "'");
    if (req.reducer.has_value() == req.apply_function.has_value())
        throw Error(errcodes::invalid_projection_spec, "give exactly one of reducer and apply_function");
    if (req.snapshot_every < 0)
        throw Error(errcodes::invalid_parameter_value,
                    "snapshot_every must be positive (or NULL for none), got " + std::to_string(req.snapshot_every));
    JValue initial = to_jvalue(req.initial_state);
    if (initial.kind() != JValue::Kind::object)
        throw Error(errcodes::invalid_projection_spec, "initial_state must be a JSON object");
    if (req.reducer) (void)Reducer::parse(to_jvalue(*req.reducer));  // KB210 before anything is written
    Oid owner = pg::guard([] { return GetOuterUserId(); });
    if (req.apply_function) check_apply_function(*req.apply_function, owner);

    spi::Rows created = conn.execute(
        kInsertDefinition,
        {spi::text_param(req.name), spi::optional_text_param(req.category),
         req.reducer ? spi::datum_param(*req.reducer) : spi::null_param(),
         req.apply_function ? spi::datum_param(ObjectIdGetDatum(*req.apply_function)) : spi::null_param(),
         spi::datum_param(ObjectIdGetDatum(owner)), spi::datum_param(req.initial_state), spi::text_param(req.mode),
         spi::int4_param(req.snapshot_every)});
    if (created.empty())
        throw Error(errcodes::projection_exists, "projection \"" + req.name + "\" already exists", "",
                    "Drop it with eventstore.drop_projection(name) first, or use another name.");
    // Make the new definition visible to this backend's cache now.
    pg::guard([] { CommandCounterIncrement(); });
    if (req.mode == "async") {
        subscriptions::subscribe(conn, "projection:" + req.name, req.category, 1, 0, true);
        conn.execute(kSchedule, {});
    }
    DefPtr def = Registry::current(conn).get(req.name);
    lock_projection(def->name, ExclusiveLock);
    return rebuild_locked(conn, def, std::nullopt);
}

bool drop(spi::Connection& conn, const std::string& name) {
    check_name(name, "projection name");
    lock_projection(name, ExclusiveLock);
    bool dropped = conn.execute(kDropDefinition, {spi::text_param(name)}).size() > 0;
    if (dropped) subscriptions::unsubscribe(conn, "projection:" + name, true);
    return dropped;
}

int64_t rebuild(spi::Connection& conn, const std::string& name, const std::optional<std::string>& stream) {
    check_name(name, "projection name");
    // A rebuild waits for the projection's runner and then rewrites the rows
    // the runner changed: with a transaction-wide snapshot taken before that
    // commit, PostgreSQL can only fail it (40001). Refused up front instead,
    // with nothing changed.
    if (pg::guard([] { return IsolationUsesXactSnapshot(); }))
        throw Error(errcodes::invalid_transaction_state,
                    "rebuild needs a READ COMMITTED transaction", "",
                    "Run it in a transaction of its own at the default isolation level, as pg_cron does.");
    if (stream) check_name(*stream, "stream");
    DefPtr def = Registry::current(conn).get(name);
    if (stream && def->category) {
        spi::Rows rows = conn.execute(kStreamCategory, {spi::text_param(*stream)}, true);
        if (!rows.empty() && rows.text(0, 1).value_or("") != *def->category)
            throw Error(errcodes::invalid_parameter_value,
                        "stream \"" + *stream + "\" is not in category \"" + *def->category + "\" of projection \"" +
                            name + "\"");
    }
    lock_projection(def->name, ExclusiveLock);
    return rebuild_locked(conn, def, stream);
}

void refresh_stream(spi::Connection& conn, const std::string& stream) {
    spi::Rows rows = conn.execute(kStreamCategory, {spi::text_param(stream)}, false);
    if (rows.empty()) return;
    std::string category = rows.text(0, 1).value_or("");
    for (const DefPtr& def : Registry::current(conn).for_category(category)) {
        lock_projection(def->name, ExclusiveLock);
        rebuild_locked(conn, def, stream);
    }
}

namespace {

spi::Statement kClaimCheckpoint{
    "SELECT position FROM eventstore.subscription_checkpoints WHERE subscription = $1 AND member = 0 "
    "FOR UPDATE SKIP LOCKED",
    {TEXTOID}};
spi::Statement kAsyncAll{
    "SELECT " ES_EVENT_COLUMNS " FROM eventstore.events WHERE position > $1 AND position < $2 "
    "ORDER BY position LIMIT $3",
    {INT8OID, INT8OID, INT4OID}};
spi::Statement kAsyncCategory{
    "SELECT " ES_EVENT_COLUMNS " FROM eventstore.events WHERE category = $4 AND position > $1 "
    "AND position < $2 ORDER BY position LIMIT $3",
    {INT8OID, INT8OID, INT4OID, TEXTOID}};
spi::Statement kAdvance{
    "UPDATE eventstore.subscription_checkpoints SET position = $2, updated_at = clock_timestamp() "
    "WHERE subscription = $1 AND member = 0",
    {TEXTOID, INT8OID}};

int64_t run_one(spi::Connection& conn, const DefPtr& def_ptr, int32_t max) {
    const Definition& def = *def_ptr;
    if (def.inline_mode)
        throw Error(errcodes::invalid_parameter_value,
                    "projection \"" + def.name + "\" is inline: it folds in the append's transaction");
    lock_projection(def.name, ShareLock);
    spi::Rows claim = conn.execute(kClaimCheckpoint, {spi::text_param(def.subscription())});
    if (claim.empty()) return 0;  // another runner holds it
    int64_t after = claim.int8_at(0, 1);
    int64_t horizon = global_order::horizon(conn);
    spi::Rows rows = def.category
        ? conn.execute_latest(kAsyncCategory, {spi::int8_param(after), spi::int8_param(horizon), spi::int4_param(max),
                                               spi::text_param(*def.category)})
        : conn.execute_latest(kAsyncAll, {spi::int8_param(after), spi::int8_param(horizon), spi::int4_param(max)});
    // Fewer than max rows: everything of this category below the horizon is
    // in hand, so the checkpoint may move to the horizon (events of other
    // categories above the last one must not hold it back).
    int64_t settled = static_cast<int64_t>(rows.size()) < max ? horizon - 1 : -1;
    if (rows.empty()) {
        if (settled > after) conn.execute(kAdvance, {spi::text_param(def.subscription()), spi::int8_param(settled)});
        return 0;
    }
    std::vector<EventRecord> events;
    events.reserve(rows.size());
    for (uint64_t r = 0; r < rows.size(); ++r) events.push_back(EventRecord::from_row(rows, r));
    Folder folder(conn, def_ptr);
    std::map<std::string, State> states;
    int64_t last = after;
    for (auto& ev : events) {
        auto it = states.find(ev.stream);
        if (it == states.end()) {
            it = states.emplace(ev.stream, folder.load(ev.stream)).first;
            folder.catch_up(it->second, ev.stream, ev.version - 1);
        }
        if (ev.version > it->second.version) folder.apply(it->second, ev);
        last = ev.position;
    }
    for (auto& [stream, s] : states) folder.save(stream, s);
    conn.execute(kAdvance, {spi::text_param(def.subscription()), spi::int8_param(std::max(last, settled))});
    return static_cast<int64_t>(events.size());
}

}  // namespace

int64_t run(spi::Connection& conn, const std::string& name, int32_t max) {
    check_name(name, "projection name");
    if (max < 1 || max > 100000)
        throw Error(errcodes::invalid_parameter_value, "max must be between 1 and 100000, got " + std::to_string(max));
    return run_one(conn, Registry::current(conn).get(name), max);
}

int64_t run_all(spi::Connection& conn, int32_t max) {
    if (max < 1 || max > 100000)
        throw Error(errcodes::invalid_parameter_value, "max must be between 1 and 100000, got " + std::to_string(max));
    int64_t total = 0;
    for (const DefPtr& def : Registry::current(conn).async_all()) total += run_one(conn, def, max);
    return total;
}

namespace {

spi::Statement kNearestSnapshot{
    "SELECT version, state, position FROM eventstore.snapshots WHERE projection = $1 AND stream_id = $2 "
    "AND version <= $3 ORDER BY version DESC LIMIT 1",
    {TEXTOID, TEXTOID, INT8OID}};
spi::Statement kStreamHead{
    "SELECT version, category FROM eventstore.events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1",
    {TEXTOID}};
spi::Statement kVersionAt{
    "SELECT coalesce(max(version), 0) FROM eventstore.events WHERE stream_id = $1 AND created_at <= $2",
    {TEXTOID, TIMESTAMPTZOID}};

}  // namespace

int64_t version_at(spi::Connection& conn, const std::string& stream, TimestampTz at) {
    check_name(stream, "stream");
    return conn.execute(kVersionAt, {spi::text_param(stream), spi::datum_param(TimestampTzGetDatum(at))}, true)
        .int8_at(0, 1);
}

Datum state_at(spi::Connection& conn, const std::string& stream, int64_t version,
               const std::optional<std::string>& projection) {
    check_name(stream, "stream");
    if (version < 0)
        throw Error(errcodes::invalid_parameter_value, "version must not be negative, got " + std::to_string(version));
    spi::Rows head = conn.execute(kStreamHead, {spi::text_param(stream)}, true);
    int64_t last = head.empty() ? 0 : head.int8_at(0, 1);
    std::string category = head.empty() ? category_of(stream) : head.text(0, 2).value_or("");
    if (version > last)
        throw Error(errcodes::invalid_parameter_value,
                    "stream \"" + stream + "\" has " + std::to_string(last) + " event(s), version " +
                        std::to_string(version) + " does not exist yet");
    const Registry& reg = Registry::current(conn);
    DefPtr def;
    if (projection) {
        def = reg.get(*projection);
    } else {
        auto candidates = reg.for_category(category);
        if (candidates.size() != 1)
            throw Error(candidates.empty() ? errcodes::unknown_projection : errcodes::invalid_parameter_value,
                        std::to_string(candidates.size()) + " projections apply to category \"" + category + "\"",
                        "", "Name the projection: eventstore.state_at(stream, version, projection => '...').");
        def = candidates.front();
    }
    if (!def->applies_to(category))
        throw Error(errcodes::invalid_parameter_value,
                    "projection \"" + def->name + "\" does not apply to category \"" + category + "\"");
    Folder folder(conn, def);
    State s = folder.initial();
    spi::Rows snap =
        conn.execute(kNearestSnapshot, {spi::text_param(def->name), spi::text_param(stream), spi::int8_param(version)}, true);
    if (!snap.empty()) {
        // Replay from the nearest snapshot at or below the version.
        int64_t v = snap.int8_at(0, 1);
        Datum d = *snap.datum(0, 2);
        s = folder.initial();
        if (def->reducer) {
            s.json = to_jvalue(d);
        } else {
            s.datum = conn.copy_out(d, JSONBOID);
        }
        s.version = v;
        s.position = snap.int8_at(0, 3);
    }
    spi::Rows rows = conn.execute(kStreamEventsBetween,
                                  {spi::text_param(stream), spi::int8_param(s.version), spi::int8_param(version)}, true);
    // Replay without writing snapshots: state_at only reads.
    Folder replay(conn, def, false);
    for (uint64_t r = 0; r < rows.size(); ++r) {
        EventRecord ev = EventRecord::from_row(rows, r);
        replay.apply(s, ev);
    }
    return conn.copy_out(replay.state_datum(s), JSONBOID);
}

void fold_inline(spi::Connection& conn, const Appended& a) {
    auto defs = Registry::current(conn).inline_for(a.category);
    if (defs.empty()) return;
    TimestampTz now = pg::guard([] { return GetCurrentTransactionStartTimestamp(); });
    for (const DefPtr& def : defs) {
        lock_projection(def->name, ShareLock);
        Folder folder(conn, def);
        State s = folder.load(a.stream);
        folder.catch_up(s, a.stream, a.first_version - 1);
        for (std::size_t i = 0; i < a.events.size(); ++i) {
            const EventInput* in = a.events[i];
            EventRecord ev;
            ev.position = a.first_position + static_cast<int64_t>(i);
            ev.stream = a.stream;
            ev.version = a.first_version + static_cast<int64_t>(i);
            ev.event_id = a.event_ids[i];
            ev.type = in->type;
            ev.schema_version = in->schema_version;
            ev.data = in->data;
            ev.metadata = in->metadata;
            ev.created_at = now;
            ev.category = a.category;
            folder.apply(s, ev);
        }
        folder.save(a.stream, s);
    }
}

}  // namespace casebook::eventstore::projections
