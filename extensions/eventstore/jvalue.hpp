// eventstore: a small JSON value for the native projection engine and the
// upcasters. Pure C++ (unit-tested without a server); jsonb_bridge.cpp
// converts to and from PostgreSQL's jsonb.
//
// Numbers keep their exact decimal text; integers that fit in 64 bits are
// also kept as int64 so that counters add without text arithmetic. Adding
// two numbers is exact (decimal addition), never floating point.
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
    // Decimal text as numeric_out writes it: -?digits(.digits)?
    static JValue number(std::string_view decimal);
    static JValue string(std::string s);
    static JValue array();
    static JValue object();

    Kind kind() const { return kind_; }
    bool is_null() const { return kind_ == Kind::null; }
    bool as_bool() const { return bool_; }
    const std::string& text() const { return text_; }  // string value, or a number's decimal text
    std::optional<int64_t> as_int() const;              // a number that is an int64

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

private:
    Kind kind_ = Kind::null;
    bool bool_ = false;
    bool is_int_ = false;
    int64_t int_ = 0;
    std::string text_;
    std::vector<JValue> items_;
    std::vector<Member> members_;
};

// Exact sum of two numbers (decimal text arithmetic when needed).
JValue add_numbers(const JValue& a, const JValue& b);

// A path of object keys: "money.amount" or ["money", "amount"].
using Path = std::vector<std::string>;
Path parse_path(std::string_view dotted);

// The value at path, or nullptr.
const JValue* get_path(const JValue& root, const Path& path);
// Sets the value at path, creating intermediate objects (a non-object on
// the way is replaced by an object). An empty path replaces the root.
void set_path(JValue& root, const Path& path, JValue value);
// Removes the member at path; false if absent.
bool remove_path(JValue& root, const Path& path);

}  // namespace casebook::eventstore
