#include "onvif/auth.h"

#include <sodium.h>

#include "core/crypto.h"

namespace zaulek::onvif {

std::string password_digest(std::string_view nonce, std::string_view created,
                            std::string_view password) {
  std::string input;
  input.reserve(nonce.size() + created.size() + password.size());
  input.append(nonce).append(created).append(password);
  return base64_encode(digest::sha1(input));
}

UsernameTokenValues make_username_token(std::string_view username, std::string_view password,
                                        WallTime now) {
  std::string nonce(16, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  UsernameTokenValues v;
  v.username = username;
  v.created = format_rfc3339(now);
  v.nonce_base64 = base64_encode(nonce);
  v.password_digest = password_digest(nonce, v.created, password);
  return v;
}

TokenCheck UsernameTokenVerifier::check(std::string_view username,
                                        std::string_view password_digest_b64,
                                        std::string_view nonce_base64, std::string_view created,
                                        std::string_view expected_user,
                                        std::string_view expected_password, WallTime now) {
  std::string nonce;
  WallTime created_at;
  if (nonce_base64.empty() || created.empty() || !base64_decode(nonce_base64, nonce) ||
      !parse_rfc3339(created, created_at))
    return TokenCheck::malformed;
  std::string expected = password_digest(nonce, created, expected_password);
  // Compare user and digest without an early exit on the first mismatch.
  bool user_ok = username.size() == expected_user.size() &&
                 crypto::equal_constant_time(username, expected_user);
  bool digest_ok = password_digest_b64.size() == expected.size() &&
                   crypto::equal_constant_time(password_digest_b64, expected);
  if (!(user_ok & digest_ok)) return TokenCheck::bad_digest;
  auto delta = created_at > now ? created_at - now : now - created_at;
  if (delta > window_) return TokenCheck::bad_time;
  // Keyed by nonce and Created: a replayed token carries both unchanged
  // (Created is under the digest). Some clients (libonvif 1.4) reuse a nonce
  // with a fresh Created; that is not a replay and is accepted.
  std::string key = nonce + '\n' + std::string(created);
  if (nonces_.count(key)) return TokenCheck::replayed;
  nonces_.insert(key);
  nonce_order_.push_back(key);
  while (nonce_order_.size() > max_nonces_) {
    nonces_.erase(nonce_order_.front());
    nonce_order_.pop_front();
  }
  return TokenCheck::ok;
}

}  // namespace zaulek::onvif
