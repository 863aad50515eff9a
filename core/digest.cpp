#include "core/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

#include "core/crypto.h"
#include "core/text/encoding.h"
#include "core/text/text.h"

namespace zaulek::digest {
namespace {

std::string hash(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

Error bad(std::string message) {
  return make_error(ErrorKind::invalid_argument, std::move(message));
}

// Optional white space in a header: space and tab.
std::string_view trim(std::string_view s) {
  return zaulek::trim(s, " \t");
}

// Printable ASCII, safe to copy into a quoted header value.
bool all_printable(std::string_view s, bool allow_space) {
  return std::all_of(s.begin(), s.end(), [allow_space](char c) {
    return (c > ' ' && c < 127) || (allow_space && c == ' ');
  });
}

// A short, printable rendering of the camera's bytes for an error text.
std::string quote(std::string_view s) {
  return printable(s, 40);
}

}  // namespace

std::string md5_hex(std::string_view data) {
  return to_hex(hash(EVP_md5(), data));
}

std::string sha1(std::string_view data) {
  return hash(EVP_sha1(), data);
}

std::string response(std::string_view method, std::string_view uri, std::string_view user,
                     std::string_view realm, std::string_view password, std::string_view nonce,
                     std::string_view qop, std::string_view nc, std::string_view cnonce) {
  std::string s(user);
  s.append(":").append(realm).append(":").append(password);
  const std::string ha1 = md5_hex(s);
  s.assign(method).append(":").append(uri);
  const std::string ha2 = md5_hex(s);
  s.assign(ha1).append(":").append(nonce).append(":");
  if (!qop.empty()) s.append(nc).append(":").append(cnonce).append(":").append(qop).append(":");
  s.append(ha2);
  return md5_hex(s);
}

bool param(std::string_view header, std::string_view key, std::string& value) {
  if (header.substr(0, 7) != "Digest ") return false;
  std::string_view rest = header.substr(7);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',')) rest.remove_prefix(1);
    auto eq = rest.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view k = rest.substr(0, eq);
    rest.remove_prefix(eq + 1);
    std::string_view v;
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

std::string authorization(std::string_view method, std::string_view uri, std::string_view user,
                          std::string_view password, const Challenge& c, std::string_view cnonce,
                          unsigned nc) {
  char ncbuf[9];
  std::snprintf(ncbuf, sizeof ncbuf, "%08x", nc);
  const std::string_view qop = c.qop_auth ? "auth" : "";
  std::string out = "Digest username=\"" + std::string(user) + "\", realm=\"" + c.realm +
                    "\", nonce=\"" + c.nonce + "\", uri=\"" + std::string(uri) + "\"";
  if (c.qop_auth)
    out += ", qop=auth, nc=" + std::string(ncbuf) + ", cnonce=\"" + std::string(cnonce) + "\"";
  out += ", response=\"" +
         response(method, uri, user, c.realm, password, c.nonce, qop, ncbuf, cnonce) + "\"";
  if (!c.opaque.empty()) out += ", opaque=\"" + c.opaque + "\"";
  return out;
}

bool verify(std::string_view authorization, std::string_view method, std::string_view expected_user,
            std::string_view expected_password, std::string_view realm, std::string_view nonce) {
  std::string user, r, n, uri, got, qop, nc, cnonce;
  if (!param(authorization, "username", user) || !param(authorization, "realm", r) ||
      !param(authorization, "nonce", n) || !param(authorization, "uri", uri) ||
      !param(authorization, "response", got))
    return false;
  if (user != expected_user || r != realm || n != nonce) return false;
  if (param(authorization, "qop", qop)) {
    if (qop != "auth" || !param(authorization, "nc", nc) || !param(authorization, "cnonce", cnonce))
      return false;
  }
  const std::string expected =
      response(method, uri, user, r, expected_password, n, qop, nc, cnonce);
  return got.size() == expected.size() && crypto::equal_constant_time(got, expected);
}

Result<ParsedChallenge> parse_challenge(std::string_view value) {
  if (value.size() > kMaxChallenge)
    return bad("WWW-Authenticate challenge over " + std::to_string(kMaxChallenge / 1024) + " KiB");
  value = trim(value);
  const auto sp = value.find(' ');
  const std::string_view scheme = value.substr(0, sp);
  ParsedChallenge p;
  Challenge& c = p.challenge;
  c.qop_auth = false;  // unless the qop offers "auth"
  if (iequals(scheme, "Basic")) {
    p.scheme = Scheme::basic;
  } else if (iequals(scheme, "Digest")) {
    p.scheme = Scheme::digest;
  } else {
    return bad("unsupported authentication scheme \"" + quote(scheme) + "\"");
  }
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : value.substr(sp + 1);
  std::string algorithm, qop;
  // key=token or key="quoted", separated by commas; at most one pass.
  for (int params = 0; params < 32; ++params) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',' || rest.front() == '\t'))
      rest.remove_prefix(1);
    if (rest.empty()) break;
    const auto eq = rest.find('=');
    if (eq == std::string_view::npos) return bad("malformed authentication challenge");
    const std::string_view key = trim(rest.substr(0, eq));
    rest.remove_prefix(eq + 1);
    rest = trim(rest);
    std::string val;
    if (!rest.empty() && rest.front() == '"') {
      std::size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        val += rest[i];
      }
      if (i >= rest.size())
        return bad("unterminated quoted string in the authentication challenge");
      rest.remove_prefix(i + 1);
    } else {
      const auto comma = rest.find(',');
      val = std::string(trim(rest.substr(0, comma)));
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma);
    }
    // Values are copied into our quoted Authorization header.
    if (!all_printable(val, true) || val.find_first_of("\"\\") != std::string::npos)
      return bad("bad characters in the authentication challenge's " + quote(key));
    if (iequals(key, "realm"))
      c.realm = std::move(val);
    else if (iequals(key, "nonce"))
      c.nonce = std::move(val);
    else if (iequals(key, "opaque"))
      c.opaque = std::move(val);
    else if (iequals(key, "algorithm"))
      algorithm = std::move(val);
    else if (iequals(key, "qop"))
      qop = std::move(val);
  }
  if (!rest.empty()) return bad("authentication challenge with too many parameters");
  if (p.scheme == Scheme::basic) return p;
  if (c.nonce.empty()) return bad("Digest challenge without a nonce");
  if (!algorithm.empty() && !iequals(algorithm, "MD5"))
    return bad("unsupported Digest algorithm \"" + quote(algorithm) + "\"");
  if (!qop.empty()) {
    std::string_view q = qop;
    while (!q.empty()) {
      const auto comma = q.find(',');
      if (iequals(trim(q.substr(0, comma)), "auth")) c.qop_auth = true;
      if (comma == std::string_view::npos) break;
      q.remove_prefix(comma + 1);
    }
    if (!c.qop_auth) return bad("unsupported Digest qop \"" + quote(qop) + "\"");
  }
  return p;
}

}  // namespace zaulek::digest
