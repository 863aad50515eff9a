// HTTP Digest authentication (RFC 2617, RFC 7616 with MD5) and the hashes
// it and WS-UsernameToken need: the one copy for ONVIF over HTTP
// (onvif/auth.h: the zaulekd client and the simulator's device) and RTSP
// (media/rtsp_client.cpp). Through OpenSSL's EVP. Nothing here logs;
// secrets stay in the caller's hands.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.h"

namespace zaulek::digest {

// Lowercase hex MD5.
std::string md5_hex(std::string_view data);
// Raw SHA-1 (20 bytes).
std::string sha1(std::string_view data);

// What the client answers a `WWW-Authenticate: Digest ...` challenge with.
struct Challenge {
  std::string realm, nonce, opaque;
  // Answer with qop=auth, nc and cnonce (RFC 2617); false: RFC 2069's
  // plain response, for a challenge that offered no qop.
  bool qop_auth = true;
};

// One WWW-Authenticate value as a camera sent it (RTSP or HTTP): the one
// parser for both. Basic, or Digest with MD5 (or no algorithm) and, when a
// qop is offered, "auth" among it (then qop_auth). Values are printable ASCII
// without '"' and '\\' (they are copied into our quoted Authorization
// header). invalid_argument naming what is wrong (quoting at most 40 bytes of
// the camera's text): another scheme or algorithm, a qop without "auth", no
// nonce, malformed or unterminated quoting, over kMaxChallenge bytes or more
// than 32 parameters.
inline constexpr std::size_t kMaxChallenge = 4096;
enum class Scheme { basic, digest };
struct ParsedChallenge {
  Scheme scheme = Scheme::digest;
  Challenge challenge;  // realm (also Basic's), nonce, opaque, qop_auth
};
Result<ParsedChallenge> parse_challenge(std::string_view value);

// The request-digest (RFC 2617 3.2.2.1), lowercase hex: with a qop,
// MD5(HA1:nonce:nc:cnonce:qop:HA2), else MD5(HA1:nonce:HA2); HA1 =
// MD5(user:realm:password), HA2 = MD5(method:uri).
std::string response(std::string_view method, std::string_view uri, std::string_view user,
                     std::string_view realm, std::string_view password, std::string_view nonce,
                     std::string_view qop, std::string_view nc, std::string_view cnonce);

// Finds parameter `key` in a `Digest k="v", k=v, ...` header value (case
// as sent; quoted values without escapes); false when absent or malformed.
bool param(std::string_view header, std::string_view key, std::string& value);

// The value of an Authorization header answering `challenge` (client side):
// Digest username, realm, nonce, uri, [qop=auth, nc=<nc as 8 hex digits>,
// cnonce], response, [opaque].
std::string authorization(std::string_view method, std::string_view uri, std::string_view user,
                          std::string_view password, const Challenge& challenge,
                          std::string_view cnonce, unsigned nc);

// Server side: true when `authorization` (an Authorization header value)
// is a Digest for `method` by expected_user with expected_password, on our
// realm and nonce (qop=auth or none; response compared in constant time).
bool verify(std::string_view authorization, std::string_view method, std::string_view expected_user,
            std::string_view expected_password, std::string_view realm, std::string_view nonce);

}  // namespace zaulek::digest
