// WS-Discovery client: one Probe to 239.255.255.250:3702 on each configured
// interface (IP_MULTICAST_IF) and one to each given host (unicast), sent
// twice (at 0 and a third of the timeout; same MessageID, as WS-Discovery's
// retransmission rule wants); ProbeMatches collected until the timeout,
// de-duplicated by endpoint reference (XAddrs and scopes merged). One UDP
// socket on the caller's executor; no threads.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "onvif/discovery.h"

namespace zaulek::onvif {

struct ScanOptions {
  std::vector<std::string> interfaces;  // interface names for multicast ("lo", "eth0")
  std::vector<std::string> targets;     // IPv4 hosts for unicast: "10.0.0.5" or "10.0.0.5:3702"
  std::chrono::milliseconds timeout{2000};
  std::uint16_t port = kDiscoveryPort;  // where devices listen (tests may move it)
  std::size_t max_devices = 4096;       // answers beyond this are counted, not kept
};

struct ScanResult {
  std::vector<DiscoveryTarget> devices;  // in order of first answer
  std::vector<std::string> warnings;     // an interface or target that could not be probed
  std::size_t datagrams = 0;             // received
  std::size_t ignored = 0;               // not a ProbeMatches for our Probe
  bool multicast_sent = false;           // at least one multicast Probe left
};

// Validates a unicast target ("host" or "host:port", IPv4 literal only).
Result<std::pair<std::string, std::uint16_t>> parse_target(std::string_view target,
                                                           std::uint16_t default_port);

// `done` runs on `executor` once, after options.timeout (an error only if no
// Probe could be sent at all).
void discover(boost::asio::any_io_executor executor, ScanOptions options,
              std::function<void(Result<ScanResult>)> done);

}  // namespace zaulek::onvif
