// The server's Ed25519 signing key (libsodium) for evidence manifests, and
// signature checks with its public half. The key file holds the 32-byte
// Ed25519 seed (so that one can be made by hand, like storage.key_file:
// head -c 32 /dev/urandom); it is created 0600 at first start and refused
// when group or others may read it.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"

namespace zaulek::evidence {

inline constexpr std::size_t kPublicKeyBytes = 32;
inline constexpr std::size_t kSignatureBytes = 64;

// First 16 hex digits of SHA-256 over the raw 32-byte public key.
std::string key_id(std::string_view public_key);

// true when `signature` (64 raw bytes) is Ed25519 over `message` by `public_key` (32 raw bytes).
bool verify_signature(std::string_view public_key, std::string_view message,
                      std::string_view signature);

class SigningKey {
 public:
  // Reads `file`, or creates it with a new key when it does not exist.
  static Result<SigningKey> open_or_create(const std::filesystem::path& file);
  // A new key in memory only (created() stays the epoch).
  static SigningKey generate();

  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&&) = delete;
  SigningKey(const SigningKey&) = delete;
  ~SigningKey();

  const std::string& public_key() const { return public_key_; }  // 32 raw bytes
  const std::string& id() const { return id_; }
  // When the key file was written (its modification time).
  std::chrono::system_clock::time_point created() const { return created_; }
  // 64 raw bytes: the Ed25519 detached signature over `message`.
  std::string sign(std::string_view message) const;

 private:
  SigningKey() = default;
  static SigningKey from_seed(std::string_view seed);
  std::string seed_;    // 32 bytes, wiped on destruction
  std::string secret_;  // 64 bytes (libsodium's form), wiped on destruction
  std::string public_key_;
  std::string id_;
  std::chrono::system_clock::time_point created_{};
};

}  // namespace zaulek::evidence
