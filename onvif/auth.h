// ONVIF authentication helpers, shared by the simulator (verify) and the
// zaulekd client (compute): WS-UsernameToken PasswordDigest (ONVIF Core
// 5.9.4: Base64(SHA1(nonce + created + password))), and HTTP Digest (RFC 7616,
// MD5, qop=auth) under the names ONVIF code knows, from core/digest.h (the one
// copy, shared with RTSP). Nothing here logs; secrets stay in the caller's hands.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/clock.h"
#include "core/digest.h"
#include "core/text/encoding.h"

namespace zaulek::onvif {

using zaulek::base64_decode;
using zaulek::base64_encode;

// Base64(SHA1(nonce + created + password)); nonce is the raw (decoded) bytes.
std::string password_digest(std::string_view nonce, std::string_view created,
                            std::string_view password);

struct UsernameTokenValues {
  std::string username, password_digest, nonce_base64, created;
};
// A fresh token: 16 random nonce bytes, Created = now (RFC 3339, UTC).
UsernameTokenValues make_username_token(std::string_view username, std::string_view password,
                                        WallTime now);

enum class TokenCheck { ok, bad_digest, bad_time, replayed, malformed };

// Verifies a received UsernameToken against the expected credentials: digest
// (constant time), Created within `window` of `now`, the pair (nonce, Created)
// not seen before.
class UsernameTokenVerifier {
 public:
  explicit UsernameTokenVerifier(std::chrono::seconds window = std::chrono::minutes(5),
                                 std::size_t max_nonces = 4096)
      : window_(window), max_nonces_(max_nonces) {}
  TokenCheck check(std::string_view username, std::string_view password_digest,
                   std::string_view nonce_base64, std::string_view created,
                   std::string_view expected_user, std::string_view expected_password,
                   WallTime now);

 private:
  std::chrono::seconds window_;
  std::size_t max_nonces_;
  // Bounded: the oldest nonce is forgotten first. A replay is only possible
  // after max_nonces newer tokens, and then the Created window still holds.
  std::deque<std::string> nonce_order_;
  std::unordered_set<std::string> nonces_;
};

// HTTP Digest (MD5, qop=auth): core/digest.h.
using digest::md5_hex;
using DigestChallenge = digest::Challenge;
// Finds parameter `key` in a `Digest k="v", ...` header; false when absent or malformed.
inline bool parse_digest_params(std::string_view header, std::string_view key, std::string& value) {
  return digest::param(header, key, value);
}
// Verifies an Authorization: Digest header for method/uri against password.
inline bool verify_http_digest(std::string_view authorization, std::string_view method,
                               std::string_view expected_user, std::string_view expected_password,
                               std::string_view realm, std::string_view nonce) {
  return digest::verify(authorization, method, expected_user, expected_password, realm, nonce);
}
// Builds an Authorization: Digest value (client side).
inline std::string make_http_digest(std::string_view method, std::string_view uri,
                                    std::string_view user, std::string_view password,
                                    const DigestChallenge& challenge, std::string_view cnonce,
                                    unsigned nc) {
  return digest::authorization(method, uri, user, password, challenge, cnonce, nc);
}

}  // namespace zaulek::onvif
