// feed: the opaque keyset cursor of feed.home.
//
// A cursor names the last row a page returned: (created_at, post_id), the
// user it was issued to and when. It is sealed with HMAC-SHA-256 under a
// per-database key (feed.cursor_key), so a client can neither forge one nor
// reuse another user's; it expires after feed.cursor_ttl. Pure C++ plus
// libcrypto; the key is read and cached by the caller.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace casebook::feed {

using CursorKey = std::array<unsigned char, 32>;

struct Cursor {
    int64_t user_id = 0;
    int64_t created_at = 0;  // microseconds, as timestamptz
    int64_t post_id = 0;
    int64_t issued_at = 0;   // microseconds
};

// base64url text, 66 characters.
std::string seal_cursor(const Cursor& c, const CursorKey& key);

enum class CursorProblem { none, malformed, forged };
// Checks the seal; the caller then checks the user and the age.
CursorProblem open_cursor(std::string_view text, const CursorKey& key, Cursor* out);

}  // namespace casebook::feed
