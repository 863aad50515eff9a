// Camera credentials at rest: libsodium crypto_secretbox (XSalsa20-Poly1305)
// under a 256-bit key kept in `storage.key_file` (default
// `<storage.path>/secret.key`; created 0600 at first start, never overwritten). A sealed value is
// nonce || ciphertext. Nothing here logs a plaintext; errors name the key file, never a secret.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace zaulek::server {

class SecretBox {
 public:
  // Reads the key file, or creates it (0600, O_EXCL) when missing. A key
  // file of the wrong size or readable by others is refused.
  static Result<SecretBox> open_or_create(const std::filesystem::path& key_file);

  std::vector<std::uint8_t> seal(std::string_view plaintext) const;
  // data_loss when the value was not sealed with this key (or was altered).
  Result<std::string> open(const std::vector<std::uint8_t>& sealed) const;

  ~SecretBox();
  SecretBox(SecretBox&&) noexcept;
  SecretBox& operator=(SecretBox&&) = delete;
  SecretBox(const SecretBox&) = delete;
  SecretBox& operator=(const SecretBox&) = delete;

 private:
  SecretBox() = default;
  std::vector<std::uint8_t> key_;
};

}  // namespace zaulek::server
