// The simulator's control API: a small HTTP server (Beast, on the simulator's
// io_context) that tests and demos use to fire events and inject faults.
//   GET  /sim/cameras                  cameras, their sending counters and current faults
//   GET  /sim/incidents                what went wrong while sending (queue full, time jumps)
//   POST /sim/cameras/{i}/events       {"kind":"motion","state":true} -> {"time","time_ns"}
//   POST /sim/cameras/{i}/faults       {"rtsp_drop":true, "rtsp_stall_ms":N, ...}
// Errors are JSON {"error": "..."} with 400, 404, 405, 413 or 501.
#pragma once

#include "core/error.h"
#include "sim/fleet.h"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace zaulek::sim {

struct ControlReply {
  int status = 200;
  std::string body;  // JSON
};

// The request handler alone (no sockets); runs on the io thread.
ControlReply handle_control(boost::asio::io_context& io, Fleet& fleet, const std::string& method,
                            const std::string& target, const std::string& body);

class ControlServer {
 public:
  // Listens on host:port (0 picks a free port).
  static Result<std::unique_ptr<ControlServer>> create(boost::asio::io_context& io, Fleet& fleet,
                                                       const std::string& host, std::uint16_t port);
  virtual ~ControlServer() = default;
  virtual std::uint16_t port() const = 0;
  virtual std::string url() const = 0;  // http://host:port
  virtual void stop() = 0;
};

}  // namespace zaulek::sim
