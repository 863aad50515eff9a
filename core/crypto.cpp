#include "core/crypto.h"

#include <sodium.h>

#include <array>
#include <cstdlib>

#include "core/text/encoding.h"

namespace zaulek::crypto {

namespace {
std::string hex(const unsigned char* data, std::size_t n) {
  return to_hex(std::string_view(reinterpret_cast<const char*>(data), n));
}

}  // namespace

void init() {
  if (sodium_init() < 0) std::abort();  // no entropy source: nothing is safe
}

Result<std::string> hash_password(std::string_view password, HashCost cost) {
  const unsigned long long ops = cost.iterations;
  const std::size_t mem = std::size_t{cost.memory_kib} * 1024;
  if (ops < crypto_pwhash_OPSLIMIT_MIN || mem < crypto_pwhash_MEMLIMIT_MIN)
    return make_error(ErrorKind::invalid_argument,
                      "Argon2id cost below libsodium's minimum (8 KiB, 1 iteration)");
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), ops, mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(ErrorKind::resource_exhausted, "out of memory while hashing password");
  }
  return std::string(out.data());
}

bool verify_password(std::string_view encoded, std::string_view password) {
  std::string enc(encoded);  // needs NUL termination
  return crypto_pwhash_str_verify(enc.c_str(), password.data(), password.size()) == 0;
}

std::string random_token() {
  std::array<unsigned char, 32> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  return hex(bytes.data(), bytes.size());
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> out{};
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return hex(out.data(), out.size());
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace zaulek::crypto
