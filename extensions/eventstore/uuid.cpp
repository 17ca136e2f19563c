// eventstore: version-7 UUID generation (see uuid.hpp).
#include "uuid.hpp"

namespace casebook::eventstore {

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
