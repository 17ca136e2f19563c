// casebook core: custom settings (see gucs.hpp).
#include "gucs.hpp"

#include "errcodes.hpp"
#include "pg_boundary.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace casebook::pg::gucs {

namespace {

void require_definable(const char* name, GucContext context) {
    if (context == PGC_POSTMASTER && !process_shared_preload_libraries_in_progress)
        throw Error(errcodes::extension_not_ready,
                    std::string("casebook: the setting \"") + name +
                        "\" can only be defined while shared_preload_libraries are loaded");
}

}  // namespace

void define(const Int& s) {
    require_definable(s.name, s.context);
    guard([&] {
        DefineCustomIntVariable(s.name, s.short_desc, s.long_desc, s.var, s.boot, s.min, s.max, s.context, s.flags,
                                s.check, s.assign, s.show);
    });
}

void define(const Bool& s) {
    require_definable(s.name, s.context);
    guard([&] {
        DefineCustomBoolVariable(s.name, s.short_desc, s.long_desc, s.var, s.boot, s.context, s.flags, s.check,
                                 s.assign, s.show);
    });
}

void define(const String& s) {
    require_definable(s.name, s.context);
    guard([&] {
        DefineCustomStringVariable(s.name, s.short_desc, s.long_desc, s.var, s.boot, s.context, s.flags, s.check,
                                   s.assign, s.show);
    });
}

void define(const Enum& s) {
    require_definable(s.name, s.context);
    guard([&] {
        DefineCustomEnumVariable(s.name, s.short_desc, s.long_desc, s.var, s.boot, s.options, s.context, s.flags,
                                 s.check, s.assign, s.show);
    });
}

bool define_when_preloaded(const Int& s) {
    if (!process_shared_preload_libraries_in_progress) return false;
    define(s);
    return true;
}

void reserve(const char* prefix) {
    guard([&] { MarkGUCPrefixReserved(prefix); });
}

void set(const char* name, const char* value, Scope scope) {
    GucAction action = scope == Scope::transaction ? GUC_ACTION_LOCAL
                       : scope == Scope::session   ? GUC_ACTION_SET
                                                   : GUC_ACTION_SAVE;
    guard([&] { (void)set_config_option(name, value, PGC_SUSET, PGC_S_SESSION, action, true, 0, false); });
}

bool refuse(SqlState code, const char* message, const char* detail, const char* hint) {
    // The GUC_check_* variables are read by the caller of the check hook
    // when it reports; the strings are palloc'd (pre_format_elog_string)
    // in the current context, as PostgreSQL's own check hooks do.
    GUC_check_errcode(code.packed());
    if (message != nullptr) GUC_check_errmsg("%s", message);
    if (detail != nullptr) GUC_check_errdetail("%s", detail);
    if (hint != nullptr) GUC_check_errhint("%s", hint);
    return false;
}

}  // namespace casebook::pg::gucs
