// casebook core: chaining PostgreSQL's hook variables.
//
// A hook variable (ProcessUtility_hook, ExecutorStart_hook, ...) holds one
// function pointer; every module that wants the hook saves the value it
// found, installs its own, and calls the saved one (or PostgreSQL's
// standard function when there was none) exactly once per call. Chain<> is
// that discipline in one place:
//
//     struct GuardTag;   // one tag per user of a hook within a module
//     using Utility = pg::hooks::Chain<GuardTag, ProcessUtility_hook, standard_ProcessUtility>;
//     Utility::install(&my_utility);            // from _PG_init
//     ... in my_utility: Utility::next(pstmt, query, ...);
//
// Each module links its own copy of the core (-Bsymbolic), and the tag
// separates two users of one hook inside a module, so every saved pointer
// belongs to exactly one installed function.
//
// install() is idempotent (a second _PG_init path cannot chain a hook to
// itself). uninstall() puts the saved value back when ours is still the
// installed one; PostgreSQL 15 never unloads a module, so it is for tests
// and for a module that installs a hook only for a while. When another
// module chained after us, ours stays installed and keeps passing calls on:
// unhooking from the middle of a chain would cut the modules after us off.
//
// Hooks without a standard function (post_parse_analyze_hook,
// shmem_request_hook, ClientAuthentication_hook, ...) pass nullptr as
// Standard: next() then calls the saved hook when there is one, and does
// nothing otherwise.
//
// The hook functions themselves are plain functions with the hook's
// signature. A body in C++ runs through pg::entry (pg_boundary.hpp); a
// wrapper that must run code after the next hook even when it raises (a
// nesting depth counter) uses PG_TRY/PG_FINALLY in a frame with no C++
// objects, as feed/follow_counts.cpp does.
#pragma once

#include <type_traits>
#include <utility>

namespace casebook::pg::hooks {

template <typename Tag, auto& Var, auto Standard>
class Chain {
public:
    using Fn = std::remove_reference_t<decltype(Var)>;
    static_assert(std::is_pointer_v<Fn>, "a hook variable holds a function pointer");

    static void install(Fn ours) {
        if (installed_ != nullptr) return;
        previous_ = Var;
        Var = ours;
        installed_ = ours;
    }

    static bool uninstall() {
        if (installed_ == nullptr || Var != installed_) return false;
        Var = previous_;
        installed_ = nullptr;
        previous_ = nullptr;
        return true;
    }

    static bool installed() { return installed_ != nullptr; }
    static Fn previous() { return previous_; }

    // Calls the hook that was installed before ours, or the standard
    // function. No C++ object is alive here when PostgreSQL raises: the
    // arguments are forwarded as they came (pointers and plain values).
    template <typename... Args>
    static decltype(auto) next(Args&&... args) {
        if constexpr (std::is_same_v<decltype(Standard), std::nullptr_t>) {
            if (previous_ != nullptr) return previous_(std::forward<Args>(args)...);
            using R = decltype(previous_(std::forward<Args>(args)...));
            if constexpr (!std::is_void_v<R>) return R{};
        } else {
            if (previous_ != nullptr) return previous_(std::forward<Args>(args)...);
            return Standard(std::forward<Args>(args)...);
        }
    }

private:
    static inline Fn previous_ = nullptr;
    static inline Fn installed_ = nullptr;
};

}  // namespace casebook::pg::hooks
