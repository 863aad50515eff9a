#include "onvif/auth.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstdio>

#include "core/crypto.h"

namespace zaulek::onvif {
namespace {

std::string digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // trailing NUL
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  out.assign(text.size(), '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), " \t\r\n", &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return false;
  out.resize(len);
  return true;
}

std::string password_digest(std::string_view nonce, std::string_view created,
                            std::string_view password) {
  std::string input;
  input.reserve(nonce.size() + created.size() + password.size());
  input.append(nonce).append(created).append(password);
  return base64_encode(digest(EVP_sha1(), input));
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

std::string md5_hex(std::string_view data) {
  return hex(digest(EVP_md5(), data));
}

bool parse_digest_params(std::string_view header, std::string_view key, std::string& value) {
  if (header.substr(0, 7) != "Digest ") return false;
  std::string_view rest = header.substr(7);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',')) rest.remove_prefix(1);
    auto eq = rest.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view k = rest.substr(0, eq);
    rest.remove_prefix(eq + 1);
    std::string v;
    if (!rest.empty() && rest.front() == '"') {
      auto end = rest.find('"', 1);
      if (end == std::string_view::npos) return false;
      v = rest.substr(1, end - 1);
      rest.remove_prefix(end + 1);
    } else {
      auto end = rest.find(',');
      v = rest.substr(0, end);
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    if (k == key) {
      value = v;
      return true;
    }
  }
  return false;
}

bool verify_http_digest(std::string_view authorization, std::string_view method,
                        std::string_view expected_user, std::string_view expected_password,
                        std::string_view realm, std::string_view nonce) {
  std::string user, r, n, uri, response, qop, nc, cnonce;
  if (!parse_digest_params(authorization, "username", user) ||
      !parse_digest_params(authorization, "realm", r) ||
      !parse_digest_params(authorization, "nonce", n) ||
      !parse_digest_params(authorization, "uri", uri) ||
      !parse_digest_params(authorization, "response", response))
    return false;
  if (user != expected_user || r != realm || n != nonce) return false;
  std::string ha1 = md5_hex(user + ":" + r + ":" + std::string(expected_password));
  std::string ha2 = md5_hex(std::string(method) + ":" + uri);
  std::string expected;
  if (parse_digest_params(authorization, "qop", qop)) {
    if (qop != "auth" || !parse_digest_params(authorization, "nc", nc) ||
        !parse_digest_params(authorization, "cnonce", cnonce))
      return false;
    expected = md5_hex(ha1 + ":" + n + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2);
  } else {
    expected = md5_hex(ha1 + ":" + n + ":" + ha2);
  }
  return response.size() == expected.size() && crypto::equal_constant_time(response, expected);
}

std::string make_http_digest(std::string_view method, std::string_view uri, std::string_view user,
                             std::string_view password, const DigestChallenge& c,
                             std::string_view cnonce, unsigned nc) {
  char ncbuf[9];
  std::snprintf(ncbuf, sizeof ncbuf, "%08x", nc);
  std::string ha1 = md5_hex(std::string(user) + ":" + c.realm + ":" + std::string(password));
  std::string ha2 = md5_hex(std::string(method) + ":" + std::string(uri));
  std::string response =
      md5_hex(ha1 + ":" + c.nonce + ":" + ncbuf + ":" + std::string(cnonce) + ":auth:" + ha2);
  std::string out = "Digest username=\"" + std::string(user) + "\", realm=\"" + c.realm +
                    "\", nonce=\"" + c.nonce + "\", uri=\"" + std::string(uri) +
                    "\", qop=auth, nc=" + ncbuf + ", cnonce=\"" + std::string(cnonce) +
                    "\", response=\"" + response + "\"";
  if (!c.opaque.empty()) out += ", opaque=\"" + c.opaque + "\"";
  return out;
}

}  // namespace zaulek::onvif
