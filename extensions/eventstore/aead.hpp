// eventstore: AES-256-GCM for personal fields (crypto-shredding), over
// OpenSSL's libcrypto. Pure C++ (no PostgreSQL): the caller supplies the
// random nonce, so the unit tests are deterministic.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace casebook::eventstore::aead {

using Key = std::array<uint8_t, 32>;
using Nonce = std::array<uint8_t, 12>;

// nonce || ciphertext || 16-byte tag. The AAD binds the ciphertext to its
// place (event id and field path): moving it elsewhere fails to decrypt.
std::string seal(const Key& key, const Nonce& nonce, std::string_view plaintext, std::string_view aad);
// The plaintext, or nullopt when the key, AAD or data do not match.
std::optional<std::string> open(const Key& key, std::string_view sealed, std::string_view aad);

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace casebook::eventstore::aead
