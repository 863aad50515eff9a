// WS-Discovery client: one Probe to 239.255.255.250:3702 on each configured
// interface (IP_MULTICAST_IF) and one to each given host (unicast), sent
// twice (at 0 and a third of the timeout; same MessageID, as WS-Discovery's
// retransmission rule wants); ProbeMatches collected until the timeout,
// de-duplicated by endpoint reference (XAddrs and scopes merged). One UDP
// socket on the caller's executor; no threads.
//
// AnnouncementListener: Hello and Bye datagrams that devices multicast to
// 239.255.255.250:3702 when they join (or come back at a new address) and
// leave. The socket is bound to the group address itself, so it receives
// only the group's datagrams and never steals unicast Probes meant for a
// device (or the simulator) on the same host.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
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

struct ListenOptions {
  std::vector<std::string> interfaces;  // join the group on each ("lo", "eth0")
  std::uint16_t port = kDiscoveryPort;
  // Announcements handled per second at most; the rest of a burst (a storm
  // of forged Hellos) is counted in `dropped` and ignored.
  unsigned max_per_second = 200;
};

class AnnouncementListener {
 public:
  struct Stats {
    std::uint64_t received = 0;  // datagrams
    std::uint64_t handled = 0;   // valid Hello/Bye given to the callback
    std::uint64_t ignored = 0;   // not a Hello/Bye, malformed, too big
    std::uint64_t dropped = 0;   // over max_per_second
  };
  using Handler = std::function<void(const Announcement&)>;

  virtual ~AnnouncementListener() = default;
  // Binds and joins; an error only if no interface could be joined. Warnings
  // (an interface without IPv4 address or multicast) are in `warnings`.
  virtual Status start(std::vector<std::string>* warnings) = 0;
  // Closes the socket; the handler is not called afterwards.
  virtual void stop() = 0;
  virtual Stats stats() const = 0;
};

// `handler` runs on `executor`; `clock` times the per-second budget.
std::shared_ptr<AnnouncementListener> make_announcement_listener(
    boost::asio::any_io_executor executor, ListenOptions options,
    AnnouncementListener::Handler handler, const Clock& clock = system_clock());

}  // namespace zaulek::onvif
