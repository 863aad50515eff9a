// Events the simulator fires on its own: scripted (--script FILE) and random
// (--seed S, --event-rate R). Script format, one event per line:
//   <seconds> <camera|*> <kind> <start|stop>
// seconds since start-up (decimal allowed), camera index or * for every
// camera, kind one of motion line_crossing field_detection tamper; blank
// lines and lines starting with # are ignored.
#pragma once

#include "core/error.h"
#include "sim/fleet.h"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace zaulek::sim {

struct ScriptEvent {
  std::chrono::milliseconds at{0};
  int camera = -1;  // -1: every camera
  EventSpec event;
};

// Parses script text; errors read "FILE:LINE: message".
Result<std::vector<ScriptEvent>> parse_script(std::string_view text, const std::string& file_name,
                                              int cameras);
// Reads and parses a script file (bounded to 1 MiB).
Result<std::vector<ScriptEvent>> load_script(const std::string& file_name, int cameras);

struct RandomEvents {
  std::uint64_t seed = 0;
  double per_minute = 2.0;  // mean motion events per camera per minute
};

// Schedules the script and the random events on io (single-threaded io).
class EventScheduler {
 public:
  EventScheduler(boost::asio::io_context& io, Fleet& fleet);
  ~EventScheduler();
  void start(std::vector<ScriptEvent> script, std::optional<RandomEvents> random);
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace zaulek::sim
