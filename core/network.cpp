#include "core/network.h"

#include <arpa/inet.h>

#include <algorithm>
#include <string>

namespace zaulek {
namespace {

// inet_pton wants a NUL-terminated copy; text with a NUL in it is no literal
// (a copy would silently end there).
bool pton(int family, std::string_view text, unsigned char* out) {
  if (text.empty() || text.size() > 64 || text.find('\0') != std::string_view::npos) return false;
  const std::string s(text);
  return inet_pton(family, s.c_str(), out) == 1;
}

std::optional<IpAddress> parse_literal(std::string_view text) {
  IpAddress a;
  if (pton(AF_INET, text, a.bytes.data())) return a;
  a.v6 = true;
  if (pton(AF_INET6, text, a.bytes.data())) return a;
  return std::nullopt;
}

bool same_prefix(const unsigned char* a, const unsigned char* b, int bits) {
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

}  // namespace

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  if (auto zone = text.find('%'); zone != std::string_view::npos) {
    IpAddress a;
    a.v6 = true;
    if (pton(AF_INET6, text.substr(0, zone), a.bytes.data())) return a;
    return std::nullopt;
  }
  return parse_literal(text);
}

bool Network::contains(const IpAddress& a) const {
  IpAddress in = a;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (in.v6 && std::equal(kMapped, kMapped + 12, in.bytes.begin())) {
    in = IpAddress{};
    std::copy(a.bytes.begin() + 12, a.bytes.end(), in.bytes.begin());
  }
  if (in.v6 != address.v6) return false;
  return same_prefix(in.bytes.data(), address.bytes.data(), prefix);
}

bool Network::contains(std::string_view text) const {
  auto a = parse_ip_address(text);
  return a && contains(*a);
}

Result<Network> parse_network(std::string_view text) {
  const auto slash = text.find('/');
  auto address = parse_literal(text.substr(0, slash));
  if (!address)
    return make_error(ErrorKind::invalid_argument, "not an IP network (10.1.0.0/16, fd00::/8)");
  const int max = address->v6 ? 128 : 32;
  Network n{*address, max};
  if (slash == std::string_view::npos) return n;
  const auto bits = text.substr(slash + 1);
  int value = 0;
  bool digits = !bits.empty() && bits.size() <= 3;
  for (char c : bits) {
    if (c < '0' || c > '9') digits = false;
    if (digits) value = value * 10 + (c - '0');
  }
  if (!digits || value > max)
    return make_error(ErrorKind::invalid_argument,
                      "prefix length must be 0.." + std::to_string(max));
  n.prefix = value;
  return n;
}

}  // namespace zaulek
