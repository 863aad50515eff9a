// Per-camera event budget: a token bucket per camera (rate per second,
// burst), the events over it counted per camera instead of published, and
// the count handed out as one summary per camera and interval, so that one
// camera that floods cannot take the writer, the hub or the consoles from
// the others, and nothing is dropped without a count.
//
// Thread-safe (one mutex; admit() is called on every camera's strand and
// does a few arithmetic operations under it). Times from the Clock given:
// monotonic for the buckets, realtime for the summaries' interval.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"

namespace zaulek::server {

struct EventBudgetOptions {
  std::uint32_t per_second = 50;  // tokens added per second (at least 1)
  std::uint32_t burst = 200;      // bucket size: what a quiet camera may send at once (at least 1)
};

// Events of one camera not published since its last summary.
struct Suppression {
  std::string camera_id;
  std::uint64_t count = 0;
  WallTime from, to;  // first suppressed event, and the summary's time
};

class EventBudget {
 public:
  EventBudget(Clock& clock, EventBudgetOptions options);

  // Of `n` events `camera_id` sends now, how many (the first ones) may be
  // published; the rest are counted as suppressed, and so is `dropped`
  // (events the camera sent that never became events here, e.g. beyond a
  // PullMessages MessageLimit). A new camera starts with a full bucket.
  std::size_t admit(const std::string& camera_id, std::size_t n, std::uint64_t dropped = 0);
  // Every camera's suppressions since its last summary (count > 0), now
  // reset; sorted by camera id.
  std::vector<Suppression> take_summaries();
  bool has_suppressed() const;
  // Suppressed events of each camera since start (for /metrics).
  std::map<std::string, std::uint64_t> totals() const;
  const EventBudgetOptions& options() const { return options_; }

 private:
  struct Bucket {
    double tokens = 0;
    MonoTime refilled{};
    std::uint64_t pending = 0;  // suppressed since the last summary
    WallTime pending_from{};
    std::uint64_t total = 0;
  };
  Clock& clock_;
  EventBudgetOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Bucket> buckets_;  // one per camera that has sent events
};

}  // namespace zaulek::server
