// A hostile camera's RTSP face (the `rtsp_garbage` fault, docs/simulator.md):
// while set, the camera's gst-rtsp-server stops listening and this small Asio
// server takes its port, answering each connection's first request with one
// malformed answer, cycling through the kinds below (or always one kind).
// It then reads on until the client hangs up, counting requests that carry
// Basic credentials (a client must never send them to it).
//
// Runs on the simulator's io_context (one thread), like the control API.
#pragma once

#include "core/error.h"

#include <boost/asio/io_context.hpp>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zaulek::sim {

struct FleetCamera;

// The malformed answers, in cycle order.
const std::vector<std::string>& hostile_rtsp_kinds();

// The bytes the hostile server sends for `kind` (index into
// hostile_rtsp_kinds()); CSeq is echoed from the request when given.
std::string hostile_rtsp_answer(std::size_t kind, std::string_view cseq);

class HostileRtsp {
 public:
  // Listens on host:port; only_kind: always that kind, else cycle.
  static Result<std::unique_ptr<HostileRtsp>> create(boost::asio::io_context& io,
                                                     const std::string& host, std::uint16_t port,
                                                     std::optional<std::size_t> only_kind);
  virtual ~HostileRtsp() = default;
  virtual std::uint64_t answers() const = 0;            // malformed answers sent
  virtual std::uint64_t basic_credentials() const = 0;  // requests with Basic credentials
  virtual std::string mode() const = 0;                 // "cycle" or the kind's name
};

// The control API's `rtsp_garbage` field: false, true (cycle) or a kind name.
struct GarbageSetting {
  bool on = false;
  std::optional<std::size_t> kind;
};
Result<GarbageSetting> parse_rtsp_garbage(const nlohmann::json& value);

// Applies it to a camera: on takes the camera's RTSP port over (its RTSP
// server goes down, as in a reboot), off gives it back. Error when the
// camera is rebooting or the port cannot be taken.
Status apply_rtsp_garbage(boost::asio::io_context& io, FleetCamera& camera,
                          const GarbageSetting& setting);

// {"rtsp_garbage": false|"cycle"|kind, "rtsp_garbage_answers": n,
//  "rtsp_garbage_basic_credentials": n} for the camera's faults.
void add_rtsp_garbage_json(const FleetCamera& camera, nlohmann::json& faults);

}  // namespace zaulek::sim
