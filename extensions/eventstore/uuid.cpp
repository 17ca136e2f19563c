// eventstore: UUID text form and version-7 generation (see uuid.hpp).
#include "uuid.hpp"

namespace casebook::eventstore {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<Uuid> parse_uuid(std::string_view text) {
    if (text.size() != 36) return std::nullopt;
    Uuid out{};
    std::size_t byte = 0;
    for (std::size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') return std::nullopt;
            ++i;
            continue;
        }
        int hi = hex_value(text[i]);
        int lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[byte++] = static_cast<uint8_t>(hi << 4 | lo);
        i += 2;
    }
    return out;
}

std::string format_uuid(const Uuid& u) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
        s.push_back(digits[u[i] >> 4]);
        s.push_back(digits[u[i] & 0xF]);
    }
    return s;
}

Uuid Uuid7Generator::next(uint64_t unix_ms, const std::array<uint8_t, 8>& random) {
    // A clock that steps back, or more than 4096 ids in one millisecond,
    // borrow the next millisecond so ids stay increasing.
    if (unix_ms <= last_ms_) {
        if (counter_ < 0x0FFF) {
            ++counter_;
        } else {
            ++last_ms_;
            counter_ = 0;
        }
        unix_ms = last_ms_;
    } else {
        last_ms_ = unix_ms;
        counter_ = 0;
    }
    Uuid u{};
    for (int i = 0; i < 6; ++i) u[i] = static_cast<uint8_t>(unix_ms >> (8 * (5 - i)));
    u[6] = static_cast<uint8_t>(0x70 | ((counter_ >> 8) & 0x0F));
    u[7] = static_cast<uint8_t>(counter_ & 0xFF);
    u[8] = static_cast<uint8_t>(0x80 | (random[0] & 0x3F));
    for (int i = 1; i < 8; ++i) u[8 + i] = random[i];
    return u;
}

}  // namespace casebook::eventstore
