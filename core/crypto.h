// Passwords, tokens and digests, all through libsodium.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace zaulek::crypto {

// Must be called once before any other function here (idempotent).
void init();

// Argon2id's cost (parallelism is always 1: libsodium's). The caller says
// what it pays: the daemon and the command line take it from the
// configuration ([auth] password_hash_*), whose floor is kMinimumCost; only
// test code passes less. There is no other way to lower it.
struct HashCost {
  std::uint32_t memory_kib = 64 * 1024;
  std::uint32_t iterations = 2;
  bool operator==(const HashCost&) const = default;
};
// OWASP's minimum for Argon2id: m = 19 MiB, t = 2, p = 1.
inline constexpr HashCost kMinimumCost{19 * 1024, 2};
// libsodium's INTERACTIVE limits (64 MiB, t = 2): the configuration's default.
inline constexpr HashCost kInteractiveCost{64 * 1024, 2};

// Argon2id (libsodium crypto_pwhash_str, "$argon2id$v=19$m=...,t=...,p=1$..."):
// the encoded string records its cost. invalid_argument below libsodium's
// own minimum (8 KiB, one pass).
Result<std::string> hash_password(std::string_view password, HashCost cost);
// Uses the cost stored in `encoded`, whatever the configuration says now.
bool verify_password(std::string_view encoded, std::string_view password);

// 256 random bits as 64 lowercase hex characters.
std::string random_token();
// Lowercase hex SHA-256 (what we store for session tokens: never the token itself).
std::string sha256_hex(std::string_view data);
// Constant-time comparison of equal-length strings.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace zaulek::crypto
