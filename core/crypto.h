// Passwords, tokens and digests, all through libsodium.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace zaulek::crypto {

// Must be called once before any other function here (idempotent).
void init();

// Argon2id (libsodium crypto_pwhash_str, "$argon2id$..." encoded string).
// `ops`/`mem` default to libsodium's interactive limits; tests may lower them.
Result<std::string> hash_password(std::string_view password);
bool verify_password(std::string_view encoded, std::string_view password);

// 256 random bits as 64 lowercase hex characters.
std::string random_token();
// Lowercase hex SHA-256 (what we store for session tokens: never the token itself).
std::string sha256_hex(std::string_view data);
// Constant-time comparison of equal-length strings.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace zaulek::crypto
