// Sliding-window failure counter for login attempts per client address
// (server/security/auth.h). Bounded: at most `max_keys` keys are tracked; when full,
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

// Growing delays for one key (a user at one client address). Below
// `max_failures` consecutive failures nothing is refused; at the limit the key
// waits `window`/8 (at least 1 s) after its last failure, and each further
// failure doubles that, up to `window`. Failures are forgotten after a quiet
// `window` beyond the current delay, or by reset() (a successful login).
// Bounded and thread-safe like RateLimiter.
class BackoffLimiter {
 public:
  BackoffLimiter(Clock& clock, int max_failures, std::chrono::seconds window,
                 std::size_t max_keys = 10000);

  // If `key` must wait: how long (whole seconds, rounded up).
  std::optional<std::chrono::seconds> blocked_for(const std::string& key);
  void record_failure(const std::string& key);
  void reset(const std::string& key);
  std::size_t tracked_keys();

 private:
  struct Entry {
    int failures = 0;
    MonoTime last{};
  };
  MonoTime::duration delay(int failures) const;
  bool forgotten(const Entry& e, MonoTime now) const;

  Clock& clock_;
  int max_failures_;
  std::chrono::seconds window_;
  std::size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace zaulek::server
