// IP addresses and networks in CIDR form ("10.1.0.0/16", "fd00::/8"): the one
// parser behind every configured network (discovery.trusted_networks,
// server.trusted_proxies) and every "is this peer in it" check.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "core/error.h"

namespace zaulek {

struct IpAddress {
  bool v6 = false;
  std::array<unsigned char, 16> bytes{};  // network order; IPv4 uses the first 4
  bool operator==(const IpAddress&) const = default;
};

// An IP literal: dotted-quad IPv4 or IPv6, optionally in brackets ("[::1]").
// An IPv6 zone ("fe80::1%eth0") is accepted and ignored. Host names are never
// resolved: nullopt for anything that is not a literal.
std::optional<IpAddress> parse_ip_address(std::string_view text);

struct Network {
  IpAddress address;  // as written; bits past the prefix are not cleared
  int prefix = 0;     // 0..32 (IPv4) or 0..128 (IPv6)

  // Whether `address` lies in this network. An IPv4-mapped IPv6 address
  // (::ffff:10.1.2.3) is taken as its IPv4 address; the families must match.
  bool contains(const IpAddress& address) const;
  // Same for an IP literal as parse_ip_address() reads it; false otherwise.
  bool contains(std::string_view address) const;
  bool operator==(const Network&) const = default;
};

// "ADDRESS[/BITS]": an address alone is a /32 or /128. No brackets or zones.
// Errors (invalid_argument) say what is wrong without repeating the input:
// "not an IP network (10.1.0.0/16, fd00::/8)" or "prefix length must be 0..32".
Result<Network> parse_network(std::string_view text);

}  // namespace zaulek
