#pragma once
// The few cryptographic primitives Plumb needs, from OpenSSL (hashing, CSPRNG) and libsodium
// (argon2id password hashing). Nothing here is home-made cryptography.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace plumb::crypto {

using sha256_digest = std::array<std::uint8_t, 32>;

// SHA-256 of the concatenation of `parts` (no separators: callers pass fixed-width fields or
// length-delimited ones where ambiguity matters).
sha256_digest sha256(std::initializer_list<std::string_view> parts);

// HMAC-SHA-256 of `message` under `key`: keyed hashes of identifiers we must not store in clear
// (rate-limit counters keyed by client address).
sha256_digest hmac_sha256(std::string_view key, std::string_view message);

// Equality that takes the same time wherever the first difference is (tokens, CSRF values).
bool constant_time_equal(std::string_view a, std::string_view b);

// `n` bytes from the operating system's CSPRNG; throws std::runtime_error if it fails.
std::string random_bytes(std::size_t n);

std::string to_hex(std::string_view bytes);
inline std::string to_hex(const sha256_digest& d) {
  return to_hex(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

// argon2id (libsodium crypto_pwhash_str, "interactive" limits: 64 MiB, OWASP-level for argon2id, ~0.1 s a login): a self-describing encoded hash.
std::string hash_password(std::string_view password);
// Constant-time check of `password` against an encoded hash; false for malformed hashes.
bool verify_password(std::string_view encoded_hash, std::string_view password);

}  // namespace plumb::crypto
