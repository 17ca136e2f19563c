// eventstore: a small JSON value for the native projection engine and the
// upcasters. Pure C++ (unit-tested without a server); jsonb_bridge.cpp
// converts to and from PostgreSQL's jsonb.
//
// Numbers are exact decimals: kept as a 64-bit fixed-point value (mantissa
// and scale) when they fit, which covers counters and money, or as decimal
// text otherwise. Adding two numbers is exact (fixed point, or decimal text
// arithmetic), never floating point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace casebook::eventstore {

class JValue {
public:
    enum class Kind { null, boolean, number, string, array, object };
    using Member = std::pair<std::string, JValue>;

    JValue() = default;
    static JValue boolean(bool b);
    static JValue integer(int64_t v);
    // mantissa * 10^-scale, e.g. (1999, 2) = 19.99.
    static JValue fixed(int64_t mantissa, int scale);
    // Decimal text as numeric_out writes it: -?digits(.digits)?
    static JValue number(std::string_view decimal);
    static JValue string(std::string s);
    static JValue array();
    static JValue object();

    Kind kind() const { return kind_; }
    bool is_null() const { return kind_ == Kind::null; }
    bool as_bool() const { return bool_; }
    const std::string& text() const;       // string value, or a number's decimal text
    std::optional<int64_t> as_int() const;  // a number that is an int64
    // A number in fixed point: false when it only exists as text.
    bool as_fixed(int64_t* mantissa, int* scale) const;

    std::vector<JValue>& items() { return items_; }
    const std::vector<JValue>& items() const { return items_; }
    std::vector<Member>& members() { return members_; }
    const std::vector<Member>& members() const { return members_; }

    // Objects: the member's value or nullptr.
    const JValue* find(std::string_view key) const;
    JValue* find(std::string_view key);
    // Sets (replacing) or erases a member.
    JValue& put(std::string key, JValue value);
    bool erase(std::string_view key);

    bool operator==(const JValue& other) const;

    // this += by when both are fixed-point numbers and the sum fits; false
    // (nothing changed) otherwise: use add_numbers then.
    bool add_fixed_in_place(const JValue& by);

private:
    Kind kind_ = Kind::null;
    bool bool_ = false;
    bool fixed_ = false;  // number held as int_ * 10^-scale_
    int scale_ = 0;
    int64_t int_ = 0;
    mutable std::string text_;  // strings; numbers' text (computed on demand when fixed)
    std::vector<JValue> items_;
    std::vector<Member> members_;
};

// Exact sum of two numbers (decimal text arithmetic when needed).
JValue add_numbers(const JValue& a, const JValue& b);

// A path of object keys: "money.amount" or ["money", "amount"].
using Path = std::vector<std::string>;
// The most keys a path of a reducer or upcaster spec may have (KB210 at
// registration beyond it; docs/eventstore.md).
inline constexpr std::size_t kMaxPathKeys = 64;
Path parse_path(std::string_view dotted);

// The value at path, or nullptr.
const JValue* get_path(const JValue& root, const Path& path);
// Sets the value at path, creating intermediate objects (a non-object on
// the way is replaced by an object). An empty path replaces the root.
void set_path(JValue& root, const Path& path, JValue value);
// Removes the member at path; false if absent.
bool remove_path(JValue& root, const Path& path);

}  // namespace casebook::eventstore
