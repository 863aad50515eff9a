// What a config value must be: the validators the field table names, the
// per-field check every value passes (file or environment) and the rules
// that span fields.
#include "config/checks.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <system_error>

#include "config/rules_toml.h"
#include "core/network.h"

namespace zaulek::config {

// An IP network "ADDRESS[/BITS]"; returns what is wrong, or empty.
std::string check_network(const std::string& text) {
  auto network = parse_network(text);
  return network ? std::string() : network.error().message;
}

// "host:port" or "[v6]:port"; host must be an IP literal (the server binds it as is).
std::string split_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  std::string h, p;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return "missing ']' after IPv6 address in \"" + text + "\"";
    h = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':')
      return "expected \"[IPv6]:port\", got \"" + text + "\"";
    p = text.substr(close + 2);
    in6_addr a6;
    if (inet_pton(AF_INET6, h.c_str(), &a6) != 1)
      return "\"" + h + "\" is not an IPv6 address in \"" + text + "\"";
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos)
      return "expected \"host:port\" or \"[IPv6]:port\", got \"" + text + "\"";
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string::npos)
      return "IPv6 address must be in brackets, e.g. \"[::1]:8080\", got \"" + text + "\"";
    if (h.empty()) return "missing host in \"" + text + "\" (use 0.0.0.0 for every address)";
    in_addr a4;
    if (inet_pton(AF_INET, h.c_str(), &a4) != 1)
      return "host \"" + h + "\" is not an IPv4 address (names are not resolved) in \"" + text +
             "\"";
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value > 65535)
    return "port must be a number 0..65535, got \"" + p + "\" in \"" + text + "\"";
  host = h;
  port = static_cast<std::uint16_t>(value);
  return {};
}

// "" or http(s)://host[:port][/path] without query, fragment, user info or spaces.
std::string check_notify_url(const std::string& text) {
  if (text.empty()) return {};
  if (text.size() > 256) return "longer than 256 characters";
  std::string_view rest = text;
  if (rest.rfind("http://", 0) == 0)
    rest.remove_prefix(7);
  else if (rest.rfind("https://", 0) == 0)
    rest.remove_prefix(8);
  else
    return "must start with http:// or https://, got \"" + text + "\"";
  if (rest.empty() || rest.front() == '/' || rest.front() == ':')
    return "missing host in \"" + text + "\"";
  for (char ch : rest)
    if (ch == '?' || ch == '#' || ch == '@' || static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f)
      return "must be a plain base URL (no query, fragment, user info or spaces), got \"" + text +
             "\"";
  return {};
}

std::string check_listen(const std::string& text) {
  std::string host;
  std::uint16_t port = 0;
  return split_listen(text, host, port);
}

bool is_loopback_host(const std::string& host) {
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6;
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    // ::ffff:127.x.y.z
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
  }
  return false;
}

// Checks a value against the field's declaration; returns what is wrong, or empty.
std::string check_value(const Field& f, const Value& v) {
  switch (f.kind) {
    case Kind::boolean:
      return {};
    case Kind::integer: {
      auto i = as_int(v);
      if (i < f.min || i > f.max)
        return std::to_string(i) + " is out of range " + std::to_string(f.min) + ".." +
               std::to_string(f.max);
      return {};
    }
    case Kind::string:
    case Kind::path:
    case Kind::optional_path:
    case Kind::choice: {
      const auto& s = std::get<std::string>(v);
      if (s.find('\0') != std::string::npos) return "must not contain a NUL character";
      if (f.kind == Kind::choice) {
        if (std::find(f.choices.begin(), f.choices.end(), s) != f.choices.end()) return {};
        std::string all;
        for (auto c : f.choices) all += (all.empty() ? "" : ", ") + std::string(c);
        return "unknown value " + toml_quote(s) + "; expected one of " + all;
      }
      if (f.kind != Kind::string && s.empty()) return "must not be empty";
      if (f.check) return f.check(s);
      return {};
    }
    case Kind::string_list: {
      const auto& list = std::get<Strings>(v);
      if (list.size() > static_cast<std::size_t>(f.max))
        return "has " + std::to_string(list.size()) + " entries; at most " + std::to_string(f.max) +
               " allowed";
      for (const auto& s : list) {
        if (f.check) {
          if (auto what = f.check(s); !what.empty()) return "entry " + toml_quote(s) + ": " + what;
          continue;
        }
        if (s.empty() || s.size() > kMaxInterfaceName || s.find('\0') != std::string::npos)
          return "entry " + toml_quote(s) + " is not an interface name (1.." +
                 std::to_string(kMaxInterfaceName) + " characters)";
      }
      return {};
    }
  }
  return {};
}

std::optional<CrossFieldError> check_across_fields(const Config& cfg) {
  if (cfg.server.tls_cert && !cfg.server.tls_key)
    return CrossFieldError{"server", "tls_cert",
                           "server.tls_cert: set without server.tls_key; set both or neither"};
  if (cfg.server.tls_key && !cfg.server.tls_cert)
    return CrossFieldError{"server", "tls_key",
                           "server.tls_key: set without server.tls_cert; set both or neither"};
  if (!cfg.server.tls_cert && !cfg.server.allow_plain_http && !is_loopback_host(cfg.server.host))
    return CrossFieldError{
        "server", "listen",
        "server.listen: plain HTTP on non-loopback address " + cfg.server.host +
            " sends passwords in clear text; set server.tls_cert and server.tls_key, "
            "or server.allow_plain_http = true"};
  return std::nullopt;
}

}  // namespace zaulek::config
