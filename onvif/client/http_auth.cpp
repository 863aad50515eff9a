#include "onvif/client/http_auth.h"

#include <sodium.h>

#include <optional>

namespace zaulek::onvif {

Result<AuthAnswer> choose_auth(const std::vector<std::string>& www_authenticate, bool allow_basic) {
  std::optional<Error> first_error;
  bool basic = false;
  std::size_t seen = 0;
  for (const auto& value : www_authenticate) {
    if (++seen > 8) break;
    auto c = digest::parse_challenge(value);
    if (!c) {
      if (!first_error) first_error = c.error();
      continue;
    }
    if (c->scheme == digest::Scheme::digest)
      return AuthAnswer{AuthAnswer::Scheme::digest, c->challenge};
    basic = true;
  }
  if (basic) {
    if (allow_basic) return AuthAnswer{AuthAnswer::Scheme::basic, {}};
    return make_error(ErrorKind::unauthenticated,
                      "the camera asks for HTTP Basic (the password in clear) and Basic is not "
                      "allowed for this camera (allow_basic_auth)");
  }
  if (first_error)
    return make_error(ErrorKind::unauthenticated,
                      "the camera's authentication challenge is unusable: " + first_error->message);
  return make_error(ErrorKind::unauthenticated, "401 without a WWW-Authenticate challenge");
}

std::string digest_authorization(std::string_view method, std::string_view target,
                                 const Credentials& credentials, const digest::Challenge& challenge,
                                 unsigned nc) {
  unsigned char raw[8];
  randombytes_buf(raw, sizeof raw);
  std::string cnonce = digest::md5_hex(std::string(reinterpret_cast<char*>(raw), sizeof raw));
  return digest::authorization(method, target, credentials.username, credentials.password,
                               challenge, cnonce.substr(0, 16), nc);
}

}  // namespace zaulek::onvif
