// Sliding-window failure counter for login attempts, keyed by user name and
// by client address. Bounded: at most `max_keys` keys are tracked; when full,
// keys whose failures have all left the window go first, then the oldest.
// Thread-safe (called from every connection's strand; held for microseconds).
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/clock.h"

namespace zaulek::server {

class RateLimiter {
 public:
  RateLimiter(Clock& clock, int max_failures, std::chrono::seconds window,
              std::size_t max_keys = 10000);

  // If `key` is over the limit: how long until the oldest failure expires.
  std::optional<std::chrono::seconds> blocked_for(const std::string& key);
  void record_failure(const std::string& key);
  void reset(const std::string& key);
  std::size_t tracked_keys();

 private:
  void prune_locked(std::deque<MonoTime>& q, MonoTime now) const;

  Clock& clock_;
  int max_failures_;
  std::chrono::seconds window_;
  std::size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<MonoTime>> failures_;
};

}  // namespace zaulek::server
