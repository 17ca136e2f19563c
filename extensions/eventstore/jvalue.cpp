// eventstore: the JSON value of the native engine (see jvalue.hpp).
#include "jvalue.hpp"

#include <algorithm>
#include <charconv>

namespace casebook::eventstore {
namespace {

// "-12.50" -> mantissa -1250, scale 2, when it fits in 64 bits (18 digits).
bool fixed_point(const std::string& text, int64_t* mantissa, int* scale) {
    std::size_t i = 0;
    bool neg = false;
    if (i < text.size() && text[i] == '-') {
        neg = true;
        ++i;
    }
    int64_t m = 0;
    int digits = 0, sc = -1;
    for (; i < text.size(); ++i) {
        char ch = text[i];
        if (ch == '.') {
            if (sc >= 0) return false;
            sc = 0;
            continue;
        }
        if (ch < '0' || ch > '9') return false;
        if (++digits > 18) return false;
        m = m * 10 + (ch - '0');
        if (sc >= 0) ++sc;
    }
    if (digits == 0) return false;
    *mantissa = neg ? -m : m;
    *scale = sc < 0 ? 0 : sc;
    return true;
}

std::string format_fixed(int64_t m, int scale) {
    bool neg = m < 0;
    uint64_t magnitude = neg ? 0 - static_cast<uint64_t>(m) : static_cast<uint64_t>(m);
    std::string digits = std::to_string(magnitude);
    if (scale > 0) {
        if (static_cast<int>(digits.size()) <= scale) digits.insert(0, scale + 1 - digits.size(), '0');
        digits.insert(digits.size() - scale, ".");
    }
    if (neg && digits.find_first_not_of("0.") != std::string::npos) digits.insert(0, "-");
    return digits;
}


// Splits "-12.50" into sign, integer digits and fraction digits.
struct Decimal {
    bool negative = false;
    std::string whole;     // no leading zeros except "0"
    std::string fraction;  // may have trailing zeros

    static Decimal parse(const std::string& text) {
        Decimal d;
        std::string_view s = text;
        if (!s.empty() && s[0] == '-') {
            d.negative = true;
            s.remove_prefix(1);
        }
        auto dot = s.find('.');
        d.whole = std::string(s.substr(0, dot));
        if (dot != std::string_view::npos) d.fraction = std::string(s.substr(dot + 1));
        if (d.whole.empty()) d.whole = "0";
        return d;
    }
};

// |a| compared with |b| on aligned digit strings of equal length.
int compare_digits(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

std::string strip_leading_zeros(std::string s) {
    std::size_t i = 0;
    while (i + 1 < s.size() && s[i] == '0') ++i;
    return s.substr(i);
}

// a + b or a - b on non-negative digit strings with the same scale (a >= b for minus).
std::string digit_add(const std::string& a, const std::string& b) {
    std::string out;
    int carry = 0;
    for (std::size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
        int da = i < a.size() ? a[a.size() - 1 - i] - '0' : 0;
        int db = i < b.size() ? b[b.size() - 1 - i] - '0' : 0;
        int s = da + db + carry;
        out.push_back(static_cast<char>('0' + s % 10));
        carry = s / 10;
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::string digit_sub(const std::string& a, const std::string& b) {
    std::string out;
    int borrow = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        int da = a[a.size() - 1 - i] - '0' - borrow;
        int db = i < b.size() ? b[b.size() - 1 - i] - '0' : 0;
        borrow = da < db ? 1 : 0;
        out.push_back(static_cast<char>('0' + (da + 10 * borrow - db)));
    }
    std::reverse(out.begin(), out.end());
    return out;
}

}  // namespace

JValue JValue::boolean(bool b) {
    JValue v;
    v.kind_ = Kind::boolean;
    v.bool_ = b;
    return v;
}

JValue JValue::integer(int64_t i) { return fixed(i, 0); }

JValue JValue::fixed(int64_t mantissa, int scale) {
    JValue v;
    v.kind_ = Kind::number;
    v.fixed_ = true;
    v.int_ = mantissa;
    v.scale_ = scale;
    return v;
}

JValue JValue::number(std::string_view decimal) {
    int64_t m = 0;
    int scale = 0;
    std::string text(decimal);
    if (fixed_point(text, &m, &scale)) return fixed(m, scale);
    JValue v;
    v.kind_ = Kind::number;
    v.text_ = std::move(text);
    return v;
}

const std::string& JValue::text() const {
    if (kind_ == Kind::number && fixed_ && text_.empty()) text_ = format_fixed(int_, scale_);
    return text_;
}

bool JValue::as_fixed(int64_t* mantissa, int* scale) const {
    if (kind_ != Kind::number || !fixed_) return false;
    *mantissa = int_;
    *scale = scale_;
    return true;
}

JValue JValue::string(std::string s) {
    JValue v;
    v.kind_ = Kind::string;
    v.text_ = std::move(s);
    return v;
}

JValue JValue::array() {
    JValue v;
    v.kind_ = Kind::array;
    return v;
}

JValue JValue::object() {
    JValue v;
    v.kind_ = Kind::object;
    return v;
}

std::optional<int64_t> JValue::as_int() const {
    if (kind_ == Kind::number && fixed_ && scale_ == 0) return int_;
    return std::nullopt;
}

const JValue* JValue::find(std::string_view key) const {
    for (const auto& m : members_)
        if (m.first == key) return &m.second;
    return nullptr;
}

JValue* JValue::find(std::string_view key) {
    for (auto& m : members_)
        if (m.first == key) return &m.second;
    return nullptr;
}

JValue& JValue::put(std::string key, JValue value) {
    if (JValue* existing = find(key)) {
        *existing = std::move(value);
        return *existing;
    }
    members_.emplace_back(std::move(key), std::move(value));
    return members_.back().second;
}

bool JValue::erase(std::string_view key) {
    auto it = std::find_if(members_.begin(), members_.end(), [&](const Member& m) { return m.first == key; });
    if (it == members_.end()) return false;
    members_.erase(it);
    return true;
}

bool JValue::operator==(const JValue& o) const {
    if (kind_ != o.kind_) return false;
    switch (kind_) {
        case Kind::null:
            return true;
        case Kind::boolean:
            return bool_ == o.bool_;
        case Kind::number: {
            // Equal values may differ in trailing fraction zeros: compare
            // the sign of the difference.
            std::string negated = o.text();
            if (!negated.empty() && negated[0] == '-')
                negated.erase(0, 1);
            else
                negated.insert(0, "-");
            JValue diff = add_numbers(*this, JValue::number(negated));
            return diff.text().find_first_not_of("-0.") == std::string::npos;
        }
        case Kind::string:
            return text_ == o.text_;
        case Kind::array:
            return items_ == o.items_;
        case Kind::object: {
            if (members_.size() != o.members_.size()) return false;
            for (const auto& m : members_) {
                const JValue* other = o.find(m.first);
                if (other == nullptr || !(*other == m.second)) return false;
            }
            return true;
        }
    }
    return false;
}


bool JValue::add_fixed_in_place(const JValue& by) {
    if (kind_ != Kind::number || by.kind_ != Kind::number || !fixed_ || !by.fixed_) return false;
    int64_t fa = int_, fb = by.int_;
    int scale = std::max(scale_, by.scale_);
    for (int i = scale_; i < scale; ++i)
        if (__builtin_mul_overflow(fa, 10, &fa)) return false;
    for (int i = by.scale_; i < scale; ++i)
        if (__builtin_mul_overflow(fb, 10, &fb)) return false;
    int64_t sum = 0;
    if (__builtin_add_overflow(fa, fb, &sum)) return false;
    int_ = sum;
    scale_ = scale;
    text_.clear();  // the decimal text is computed again on demand
    return true;
}

JValue add_numbers(const JValue& a, const JValue& b) {
    // Fixed point in 64 bits when both fit (money-like values).
    int64_t fa = 0, fb = 0;
    int sa = 0, sb = 0;
    if (a.as_fixed(&fa, &sa) && b.as_fixed(&fb, &sb)) {
        int scale = std::max(sa, sb);
        bool ok = true;
        for (int i = sa; i < scale && ok; ++i) ok = !__builtin_mul_overflow(fa, 10, &fa);
        for (int i = sb; i < scale && ok; ++i) ok = !__builtin_mul_overflow(fb, 10, &fb);
        int64_t sum = 0;
        if (ok && !__builtin_add_overflow(fa, fb, &sum)) return JValue::fixed(sum, scale);
    }
    Decimal da = Decimal::parse(a.text());
    Decimal db = Decimal::parse(b.text());
    std::size_t scale = std::max(da.fraction.size(), db.fraction.size());
    da.fraction.resize(scale, '0');
    db.fraction.resize(scale, '0');
    std::string ma = strip_leading_zeros(da.whole) + da.fraction;
    std::string mb = strip_leading_zeros(db.whole) + db.fraction;
    std::size_t width = std::max(ma.size(), mb.size());
    ma.insert(0, width - ma.size(), '0');
    mb.insert(0, width - mb.size(), '0');

    bool negative = false;
    std::string mag;
    if (da.negative == db.negative) {
        mag = digit_add(ma, mb);
        negative = da.negative;
    } else {
        int c = compare_digits(ma, mb);
        if (c == 0) {
            mag = "0";
        } else if (c > 0) {
            mag = digit_sub(ma, mb);
            negative = da.negative;
        } else {
            mag = digit_sub(mb, ma);
            negative = db.negative;
        }
    }
    if (mag.size() <= scale) mag.insert(0, scale + 1 - mag.size(), '0');
    std::string whole = strip_leading_zeros(mag.substr(0, mag.size() - scale));
    std::string fraction = mag.substr(mag.size() - scale);
    std::string text = whole;
    if (scale > 0) text += "." + fraction;
    bool zero = text.find_first_not_of("0.") == std::string::npos;
    if (negative && !zero) text.insert(0, "-");
    return JValue::number(text);
}

Path parse_path(std::string_view dotted) {
    Path p;
    std::size_t start = 0;
    while (start <= dotted.size()) {
        auto dot = dotted.find('.', start);
        if (dot == std::string_view::npos) dot = dotted.size();
        p.emplace_back(dotted.substr(start, dot - start));
        start = dot + 1;
    }
    return p;
}

const JValue* get_path(const JValue& root, const Path& path) {
    const JValue* cur = &root;
    for (const auto& key : path) {
        if (cur->kind() != JValue::Kind::object) return nullptr;
        cur = cur->find(key);
        if (cur == nullptr) return nullptr;
    }
    return cur;
}

void set_path(JValue& root, const Path& path, JValue value) {
    if (path.empty()) {
        root = std::move(value);
        return;
    }
    JValue* cur = &root;
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
        if (cur->kind() != JValue::Kind::object) *cur = JValue::object();
        JValue* next = cur->find(path[i]);
        if (next == nullptr || next->kind() != JValue::Kind::object) next = &cur->put(path[i], JValue::object());
        cur = next;
    }
    if (cur->kind() != JValue::Kind::object) *cur = JValue::object();
    cur->put(path.back(), std::move(value));
}

bool remove_path(JValue& root, const Path& path) {
    if (path.empty()) return false;
    JValue* cur = &root;
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
        if (cur->kind() != JValue::Kind::object) return false;
        cur = cur->find(path[i]);
        if (cur == nullptr) return false;
    }
    return cur->kind() == JValue::Kind::object && cur->erase(path.back());
}

}  // namespace casebook::eventstore
