// WS-Discovery 2005/04 messages as ONVIF uses them (ONVIF Core 7.3):
// building Probe / ProbeMatches / Hello / Bye and reading Probe,
// ProbeMatches, Hello and Bye datagrams. No sockets: the simulator's responder and the
// zaulekd scanner move the datagrams.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace zaulek::onvif {

inline constexpr const char* kDiscoveryMulticast = "239.255.255.250";
inline constexpr unsigned short kDiscoveryPort = 3702;
// Datagrams above this are dropped unread (UDP carries at most 64 KiB).
inline constexpr std::size_t kMaxDatagramBytes = 65535;

// What a device announces about itself.
struct DiscoveryTarget {
  std::string endpoint;  // "urn:uuid:..."
  std::vector<std::string> types = {"dn:NetworkVideoTransmitter", "tds:Device"};
  std::vector<std::string> scopes;  // onvif://www.onvif.org/name/...
  std::vector<std::string> xaddrs;  // http://host:port/onvif/device_service
  unsigned metadata_version = 1;
};

struct Probe {
  std::string message_id;
  std::vector<std::string> types;   // QNames with our prefixes (dn:, tds:) or "URI":Name
  std::vector<std::string> scopes;  // empty: any
  std::string match_by;             // empty: RFC 3986 prefix match
};

// "urn:uuid:" + random v4 UUID.
std::string new_message_id();

std::string build_probe(std::string_view message_id,
                        std::string_view types = "dn:NetworkVideoTransmitter");
std::string build_probe_matches(const DiscoveryTarget& target, std::string_view relates_to,
                                std::string_view message_id);
std::string build_hello(const DiscoveryTarget& target, std::string_view message_id);
std::string build_bye(const DiscoveryTarget& target, std::string_view message_id);

// A Probe, or an error for anything else (garbage, another message, too big).
Result<Probe> parse_probe(std::string_view datagram);
// The ProbeMatch entries of a ProbeMatches datagram (client side).
Result<std::vector<DiscoveryTarget>> parse_probe_matches(std::string_view datagram,
                                                         std::string* relates_to = nullptr);

// A Hello (a device joined the network, or came back at a new address) or a
// Bye (it is leaving). A Bye carries only the endpoint reference.
struct Announcement {
  enum class Kind { hello, bye } kind = Kind::hello;
  DiscoveryTarget target;
};
// A Hello or Bye, or an error for anything else (garbage, another message,
// too big, no endpoint reference).
Result<Announcement> parse_announcement(std::string_view datagram);

// WS-Discovery matching: every probed type is one of the target's, and every
// probed scope matches one of the target's (RFC 3986 segment prefix rule, the
// default MatchBy; strcmp0 for exact).
bool matches(const Probe& probe, const DiscoveryTarget& target);

}  // namespace zaulek::onvif
