#include "server/rate_limiter.h"

#include <algorithm>

namespace zaulek::server {

RateLimiter::RateLimiter(Clock& clock, int max_failures, std::chrono::seconds window,
                         std::size_t max_keys)
    : clock_(clock),
      max_failures_(std::max(1, max_failures)),
      window_(window),
      max_keys_(std::max<std::size_t>(1, max_keys)) {}

void RateLimiter::prune_locked(std::deque<MonoTime>& q, MonoTime now) const {
  while (!q.empty() && now - q.front() >= window_) q.pop_front();
}

std::optional<std::chrono::seconds> RateLimiter::blocked_for(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return std::nullopt;
  MonoTime now = clock_.monotonic();
  prune_locked(it->second, now);
  if (static_cast<int>(it->second.size()) < max_failures_) return std::nullopt;
  auto left = window_ - std::chrono::duration_cast<std::chrono::seconds>(now - it->second.front());
  return std::max(left, std::chrono::seconds{1});
}

void RateLimiter::record_failure(const std::string& key) {
  std::lock_guard lock(mu_);
  MonoTime now = clock_.monotonic();
  if (failures_.size() >= max_keys_ && !failures_.count(key)) {
    // Drop keys with nothing left in the window; if none, the stalest key.
    for (auto it = failures_.begin(); it != failures_.end();) {
      prune_locked(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
    if (failures_.size() >= max_keys_) {
      auto oldest = std::min_element(failures_.begin(), failures_.end(), [](auto& a, auto& b) {
        return a.second.back() < b.second.back();
      });
      failures_.erase(oldest);
    }
  }
  auto& q = failures_[key];
  prune_locked(q, now);
  q.push_back(now);
  // Never keep more than needed to decide.
  while (static_cast<int>(q.size()) > max_failures_) q.pop_front();
}

void RateLimiter::reset(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

std::size_t RateLimiter::tracked_keys() {
  std::lock_guard lock(mu_);
  return failures_.size();
}

}  // namespace zaulek::server
