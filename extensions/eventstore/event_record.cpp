// eventstore: event records and the read pipeline (see event_record.hpp).
#include "event_record.hpp"

#include <cstdio>
#include <limits>

#include "catalog_cache.hpp"
#include "errcodes.hpp"
#include "jsonb_bridge.hpp"
#include "personal.hpp"
#include "store.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/syscache.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/typcache.h"
}

namespace casebook::eventstore {
namespace {

spi::Statement kUpcasters{
    "SELECT event_type, from_version, spec, function::oid, owner::oid FROM eventstore.upcasters", {}};

struct CallFrame {
    Oid owner;
    Oid fn;
    int nargs;
    Datum args[2];
    bool isnull;
    Datum result;
};

// Plain C body for the guard: runs the user's function (an apply function
// or an upcaster: untrusted code) the way PostgreSQL runs index expressions
// in maintenance: as the role that registered it, inside a
// security-restricted operation (no SET ROLE, no temporary tables), at a
// GUC nest level of its own that is undone when it returns, so a
// set_config(..., false) of search_path (or anything else) made inside
// never reaches the statements this SECURITY DEFINER code runs next. On an
// error the (sub)transaction's abort undoes the nest level.
void call_frame(CallFrame* f) {
    Oid save_user;
    int save_ctx;
    GetUserIdAndSecContext(&save_user, &save_ctx);
    SetUserIdAndSecContext(f->owner, save_ctx | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    int nest = NewGUCNestLevel();
    PG_TRY();
    {
        FmgrInfo flinfo;
        fmgr_info(f->fn, &flinfo);
        LOCAL_FCINFO(fcinfo, 2);
        InitFunctionCallInfoData(*fcinfo, &flinfo, f->nargs, InvalidOid, nullptr, nullptr);
        for (int i = 0; i < f->nargs; ++i) {
            fcinfo->args[i].value = f->args[i];
            fcinfo->args[i].isnull = false;
        }
        f->result = FunctionCallInvoke(fcinfo);
        f->isnull = fcinfo->isnull;
    }
    PG_CATCH();
    {
        SetUserIdAndSecContext(save_user, save_ctx);
        PG_RE_THROW();
    }
    PG_END_TRY();
    AtEOXact_GUC(false, nest);
    SetUserIdAndSecContext(save_user, save_ctx);
}

Datum call(CallFrame& f) {
    CallFrame* fp = &f;
    pg::guard([&] { call_frame(fp); });
    return f.result;
}

spi::Statement kRegisterUpcaster{
    "INSERT INTO eventstore.upcasters (event_type, from_version, spec, function, owner) "
    "VALUES ($1, $2, $3, $4::oid::regprocedure, $5::oid::regrole) "
    "ON CONFLICT (event_type, from_version) DO UPDATE SET spec = EXCLUDED.spec, function = EXCLUDED.function, "
    "owner = EXCLUDED.owner, created_at = now()",
    {TEXTOID, INT4OID, JSONBOID, OIDOID, OIDOID}};

}  // namespace

void register_upcaster(spi::Connection& conn, const std::string& type, int32_t from_version,
                       std::optional<Datum> spec, std::optional<Oid> function) {
    check_name(type, "event type");
    if (from_version < 1 || from_version == std::numeric_limits<int32_t>::max())
        throw Error(errcodes::invalid_parameter_value,
                    "from_version must be between 1 and 2147483646, got " + std::to_string(from_version));
    if (spec.has_value() == function.has_value())
        throw Error(errcodes::invalid_projection_spec, "give exactly one of spec and function");
    if (spec) (void)parse_operations(to_jvalue(*spec), "upcaster " + type + " v" + std::to_string(from_version), true);
    Oid owner = pg::guard([] { return GetOuterUserId(); });
    if (function) {
        Oid fn = *function;
        struct Shape { bool found; int nargs; Oid arg0, ret; bool retset; char kind; } shape{};
        Shape* sp = &shape;
        pg::guard([&] {
            HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
            if (!HeapTupleIsValid(tup)) return;
            auto* p = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tup));
            sp->found = true;
            sp->nargs = p->pronargs;
            sp->arg0 = p->pronargs > 0 ? p->proargtypes.values[0] : InvalidOid;
            sp->ret = p->prorettype;
            sp->retset = p->proretset;
            sp->kind = p->prokind;
            ReleaseSysCache(tup);
        });
        if (shape.found && shape.kind != PROKIND_FUNCTION)
            throw Error(errcodes::invalid_projection_spec,
                        std::string("an upcaster function must be a plain function, not ") +
                            (shape.kind == PROKIND_AGGREGATE ? "an aggregate"
                             : shape.kind == PROKIND_WINDOW  ? "a window function"
                                                             : "a procedure"));
        if (!shape.found || shape.nargs != 1 || shape.arg0 != JSONBOID || shape.ret != JSONBOID || shape.retset)
            throw Error(errcodes::invalid_projection_spec, "an upcaster function must take (data jsonb) and return jsonb");
        AclResult acl = pg::guard([&] { return pg_proc_aclcheck(fn, owner, ACL_EXECUTE); });
        if (acl != ACLCHECK_OK)
            throw Error(errcodes::insufficient_privilege, "permission denied for the upcaster function");
    }
    conn.execute(kRegisterUpcaster,
                 {spi::text_param(type), spi::int4_param(from_version), spec ? spi::datum_param(*spec) : spi::null_param(),
                  function ? spi::datum_param(ObjectIdGetDatum(*function)) : spi::null_param(),
                  spi::datum_param(ObjectIdGetDatum(owner))});
    pg::guard([] { CommandCounterIncrement(); });  // this backend's cache sees it at once
}

Datum call_as(Oid owner, Oid fn, Datum a, bool* isnull) {
    CallFrame f{owner, fn, 1, {a, 0}, false, 0};
    Datum r = call(f);
    *isnull = f.isnull;
    return r;
}

Datum call_as(Oid owner, Oid fn, Datum a, Datum b, bool* isnull) {
    CallFrame f{owner, fn, 2, {a, b}, false, 0};
    Datum r = call(f);
    *isnull = f.isnull;
    return r;
}

namespace {

// The text columns as plain bytes: one guarded region per row.
struct RowView {
    Datum values[kEventColumnCount + 1];
    bool nulls[kEventColumnCount + 1];
    const char* str[3];  // stream, type, category
    int len[3];
};

void deform_row(HeapTuple tup, TupleDesc desc, RowView* out) {
    heap_deform_tuple(tup, desc, out->values, out->nulls);
    const int cols[3] = {1, 4, 9};
    for (int i = 0; i < 3; ++i) {
        text* t = DatumGetTextPP(out->values[cols[i]]);
        out->str[i] = VARDATA_ANY(t);
        out->len[i] = static_cast<int>(VARSIZE_ANY_EXHDR(t));
    }
}

}  // namespace

EventRecord EventRecord::from_row(const spi::Rows& rows, uint64_t r) {
    RowView view;
    RowView* vp = &view;
    HeapTuple tup = rows.tuple(r);
    TupleDesc desc = rows.desc();
    if (desc->natts != kEventColumnCount + 1)
        throw Error(errcodes::internal_error, "eventstore: an event row has the wrong number of columns");
    pg::guard([&] { deform_row(tup, desc, vp); });
    for (int i = 0; i < kEventColumnCount; ++i)
        if (view.nulls[i]) throw Error(errcodes::internal_error, "eventstore: an event row has a NULL column");
    EventRecord e;
    e.position = DatumGetInt64(view.values[0]);
    e.stream.assign(view.str[0], static_cast<std::size_t>(view.len[0]));
    e.version = DatumGetInt64(view.values[2]);
    e.event_id = view.values[3];
    e.type.assign(view.str[1], static_cast<std::size_t>(view.len[1]));
    e.schema_version = DatumGetInt32(view.values[5]);
    e.data = view.values[6];
    e.metadata = view.values[7];
    e.created_at = DatumGetTimestampTz(view.values[8]);
    e.category.assign(view.str[2], static_cast<std::size_t>(view.len[2]));
    e.personal = view.nulls[kEventColumnCount] ? 0 : view.values[kEventColumnCount];
    return e;
}

Datum EventRecord::to_composite(Oid event_type) const {
    Datum values[kEventColumnCount];
    bool nulls[kEventColumnCount] = {};
    values[0] = Int64GetDatum(position);
    values[1] = PointerGetDatum(pg::make_text(stream));
    values[2] = Int64GetDatum(version);
    values[3] = event_id;
    values[4] = PointerGetDatum(pg::make_text(type));
    values[5] = Int32GetDatum(schema_version);
    values[6] = data;
    values[7] = metadata;
    values[8] = TimestampTzGetDatum(created_at);
    values[9] = PointerGetDatum(pg::make_text(category));
    Datum* vp = values;
    bool* np = nulls;
    return pg::guard([&] {
        TupleDesc desc = lookup_rowtype_tupdesc(event_type, -1);
        HeapTuple tup = heap_form_tuple(desc, vp, np);
        ReleaseTupleDesc(desc);
        return HeapTupleGetDatum(tup);
    });
}

std::string EventRecord::created_at_text() const {
    // ISO 8601 in UTC, whatever the session's DateStyle and TimeZone: a
    // replay must compute the same state in any session.
    struct pg_tm tm;
    fsec_t fsec = 0;
    TimestampTz ts = created_at;
    int rc = pg::guard([&] { return timestamp2tm(ts, nullptr, &tm, &fsec, nullptr, nullptr); });
    if (rc != 0) throw Error(errcodes::internal_error, "eventstore: created_at out of range");
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year, tm.tm_mon, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(fsec));
    return buf;
}

std::shared_ptr<const Pipeline> Pipeline::current(spi::Connection& conn) {
    static std::shared_ptr<const Pipeline> cached;
    uint64_t gen = catalog::generation();
    if (cached && cached->generation_ == gen) return cached;
    auto fresh_ptr = std::make_shared<Pipeline>();
    Pipeline& fresh = *fresh_ptr;
    spi::Rows rows = conn.execute(kUpcasters, {}, false);  // sees this transaction's own changes
    for (uint64_t r = 0; r < rows.size(); ++r) {
        std::string type = rows.text(r, 1).value_or("");
        int32_t from = rows.int4_at(r, 2);
        Step step;
        if (auto spec = rows.datum(r, 3)) {
            step.ops = parse_operations(to_jvalue(*spec),
                                        "upcaster " + type + " v" + std::to_string(from), true);
        }
        if (auto fn = rows.datum(r, 4)) step.function = DatumGetObjectId(*fn);
        step.owner = DatumGetObjectId(*rows.datum(r, 5));
        fresh.types_.insert(type);
        fresh.steps_.emplace(std::make_pair(type, from), std::move(step));
    }
    fresh.generation_ = gen;
    cached = std::move(fresh_ptr);
    return cached;
}

CallProblem check_callable(Oid fn, Oid owner) {
    struct Result {
        bool function_exists;
        bool role_exists;
        AclResult acl;
    } r{};
    Result* rp = &r;
    pg::guard([&] {
        rp->function_exists = SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(fn));
        rp->role_exists = SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(owner));
        rp->acl = rp->function_exists && rp->role_exists ? pg_proc_aclcheck(fn, owner, ACL_EXECUTE) : ACLCHECK_OK;
    });
    if (!r.function_exists) return CallProblem::function_gone;
    if (!r.role_exists) return CallProblem::role_gone;
    if (r.acl != ACLCHECK_OK) return CallProblem::no_execute;
    return CallProblem::none;
}

void Pipeline::check_upcaster_function(const Step& step, const EventRecord& ev) {
    std::string which = "the upcaster of " + ev.type + " v" + std::to_string(ev.schema_version);
    switch (check_callable(step.function, step.owner)) {
        case CallProblem::none:
            return;
        case CallProblem::function_gone:
            throw Error(errcodes::projection_failed, which + ": its function no longer exists", "",
                        "Register the upcaster again with eventstore.register_upcaster().");
        case CallProblem::role_gone:
            throw Error(errcodes::projection_failed, which + ": the role that registered it no longer exists", "",
                        "Register the upcaster again with eventstore.register_upcaster().");
        case CallProblem::no_execute:
            throw Error(errcodes::insufficient_privilege, which + ": its registrant may no longer execute its function");
    }
}

bool Pipeline::present(EventRecord& ev, personal::KeyRing& keys) const {
    bool changed = false;
    if (ev.personal != 0) {
        ev.data = personal::reveal(keys, ev.data, ev.personal, ev.event_id);
        changed = true;
    }
    return upcast(ev) || changed;
}

bool Pipeline::upcast(EventRecord& ev) const {
    if (steps_.empty() || types_.count(ev.type) == 0) return false;
    bool changed = false;
    JValue doc;
    bool have_doc = false;
    for (int guard = 0; guard < 1000; ++guard) {
        auto it = steps_.find(std::make_pair(ev.type, ev.schema_version));
        if (it == steps_.end()) break;
        const Step& step = it->second;
        if (step.function != InvalidOid) {
            if (have_doc) {
                ev.data = to_jsonb(doc);
                have_doc = false;
            }
            check_upcaster_function(step, ev);
            bool isnull = false;
            Datum out = call_as(step.owner, step.function, ev.data, &isnull);
            bool object = !isnull && pg::guard([&] {
                Jsonb* jb = DatumGetJsonbP(out);
                return JB_ROOT_IS_OBJECT(jb) != 0;
            });
            if (!object)
                throw Error(errcodes::projection_failed,
                            "upcaster function for " + ev.type + " v" + std::to_string(ev.schema_version) +
                                (isnull ? " returned NULL" : " returned something that is not a JSON object"),
                            "stream " + ev.stream + ", version " + std::to_string(ev.version));
            ev.data = out;
        } else {
            if (!have_doc) {
                doc = to_jvalue(ev.data);
                have_doc = true;
            }
            std::string created = ev.created_at != 0 ? ev.created_at_text() : std::string();
            EventView view{ev.type, &doc, nullptr, ev.version, ev.position, ev.stream, created};
            run_operations(step.ops, doc, view, true);
        }
        ++ev.schema_version;
        changed = true;
    }
    if (have_doc) ev.data = to_jsonb(doc);
    return changed;
}

}  // namespace casebook::eventstore
