// casebook core: custom settings (GUCs) of the extensions.
//
// Every setting of every extension is defined through these helpers, from
// _PG_init, as one designated-initializer spec:
//
//     gucs::define(gucs::Int{.name = "feed.timeline_max", .short_desc = "...", .var = &v,
//                            .boot = 800, .min = 1, .max = 100000});
//     gucs::reserve("feed");   // after the last define: MarkGUCPrefixReserved
//
// Rules kept here so that no extension relearns them:
//  * Defaults: PGC_SUSET (a setting of an extension changes what its
//    SECURITY DEFINER code does: ordinary roles do not choose it).
//  * A PGC_POSTMASTER setting can only be defined while
//    shared_preload_libraries are processed: defined later (the library
//    loaded by its first call) PostgreSQL raises FATAL. define() refuses
//    such a spec outside the preload with KB001; define_when_preloaded()
//    defines it then and reports false otherwise (the caller falls back to
//    its documented behaviour without shared memory).
//  * Check hooks have no side effects and report through refuse() (our
//    SQLSTATE, message, detail and hint); assign hooks never fail.
//  * set() changes a setting from the extension's own code, at the
//    privileges of a superuser (PGC_SUSET), with transaction, session or
//    nest-level scope. A check hook that refuses users tells our own calls
//    apart with a flag the caller holds around set() (tenancy/context.cpp).
#pragma once

#include "error.hpp"
#include "pg.hpp"

namespace casebook::pg::gucs {

struct Int {
    const char* name;
    const char* short_desc;
    const char* long_desc = nullptr;
    int* var;
    int boot;
    int min;
    int max;
    GucContext context = PGC_SUSET;
    int flags = 0;
    GucIntCheckHook check = nullptr;
    GucIntAssignHook assign = nullptr;
    GucShowHook show = nullptr;
};

struct Bool {
    const char* name;
    const char* short_desc;
    const char* long_desc = nullptr;
    bool* var;
    bool boot;
    GucContext context = PGC_SUSET;
    int flags = 0;
    GucBoolCheckHook check = nullptr;
    GucBoolAssignHook assign = nullptr;
    GucShowHook show = nullptr;
};

struct String {
    const char* name;
    const char* short_desc;
    const char* long_desc = nullptr;
    char** var;
    const char* boot;
    GucContext context = PGC_SUSET;
    int flags = 0;
    GucStringCheckHook check = nullptr;
    GucStringAssignHook assign = nullptr;
    GucShowHook show = nullptr;
};

struct Enum {
    const char* name;
    const char* short_desc;
    const char* long_desc = nullptr;
    int* var;
    int boot;
    const config_enum_entry* options;  // static array ending with {nullptr, 0, false}
    GucContext context = PGC_SUSET;
    int flags = 0;
    GucEnumCheckHook check = nullptr;
    GucEnumAssignHook assign = nullptr;
    GucShowHook show = nullptr;
};

void define(const Int& spec);
void define(const Bool& spec);
void define(const String& spec);
void define(const Enum& spec);
// For settings that size shared memory (PGC_POSTMASTER): defined only while
// shared_preload_libraries are processed. False when not defined.
bool define_when_preloaded(const Int& spec);
// MarkGUCPrefixReserved(prefix): after the module's last define, so that a
// misspelled "<prefix>.x" is an error rather than a silent placeholder.
void reserve(const char* prefix);

// Where a value set by set() lasts.
enum class Scope {
    transaction,  // SET LOCAL: until the (sub)transaction ends; undone by ROLLBACK TO
    session,      // SET: until changed again; undone by the rollback of its transaction
    nest,         // a function's SET clause: until the GUC nest level is popped
};
void set(const char* name, const char* value, Scope scope);

// In a check hook: refuse the value with our SQLSTATE and texts (each may be
// nullptr). Returns false, the value check hooks return to refuse.
bool refuse(SqlState code, const char* message, const char* detail = nullptr, const char* hint = nullptr);

}  // namespace casebook::pg::gucs
