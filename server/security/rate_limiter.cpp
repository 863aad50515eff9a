#include "server/security/rate_limiter.h"

#include <algorithm>

namespace zaulek::server {

namespace {

// Room for a new key in a full map: the stale entries go first; if none,
// the one whose last failure is the oldest.
template <class Map, class Stale, class Last>
void make_room(Map& entries, std::size_t max_keys, const std::string& key, Stale stale, Last last) {
  if (entries.size() < max_keys || entries.count(key)) return;
  for (auto it = entries.begin(); it != entries.end();)
    it = stale(it->second) ? entries.erase(it) : std::next(it);
  if (entries.size() < max_keys) return;
  entries.erase(std::min_element(entries.begin(), entries.end(), [&](auto& a, auto& b) {
    return last(a.second) < last(b.second);
  }));
}

}  // namespace

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
  make_room(
      failures_, max_keys_, key,
      [&](std::deque<MonoTime>& q) {
        prune_locked(q, now);
        return q.empty();
      },
      [](const std::deque<MonoTime>& q) { return q.back(); });
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

BackoffLimiter::BackoffLimiter(Clock& clock, int max_failures, std::chrono::seconds window,
                               std::size_t max_keys)
    : clock_(clock),
      max_failures_(std::max(1, max_failures)),
      window_(std::max(window, std::chrono::seconds{1})),
      max_keys_(std::max<std::size_t>(1, max_keys)) {}

MonoTime::duration BackoffLimiter::delay(int failures) const {
  if (failures < max_failures_) return MonoTime::duration::zero();
  const MonoTime::duration cap = window_;
  MonoTime::duration d = std::max<MonoTime::duration>(cap / 8, std::chrono::seconds{1});
  for (int n = max_failures_; n < failures && d < cap; ++n) d *= 2;
  return std::min(d, cap);
}

bool BackoffLimiter::forgotten(const Entry& e, MonoTime now) const {
  return now - e.last >= delay(e.failures) + window_;
}

std::optional<std::chrono::seconds> BackoffLimiter::blocked_for(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  MonoTime now = clock_.monotonic();
  if (forgotten(it->second, now)) {
    entries_.erase(it);
    return std::nullopt;
  }
  auto left = it->second.last + delay(it->second.failures) - now;
  if (left <= MonoTime::duration::zero()) return std::nullopt;
  auto secs = std::chrono::ceil<std::chrono::seconds>(left);
  return std::max(secs, std::chrono::seconds{1});
}

void BackoffLimiter::record_failure(const std::string& key) {
  std::lock_guard lock(mu_);
  MonoTime now = clock_.monotonic();
  make_room(
      entries_, max_keys_, key, [&](const Entry& e) { return forgotten(e, now); },
      [](const Entry& e) { return e.last; });
  auto& e = entries_[key];
  if (e.failures > 0 && forgotten(e, now)) e.failures = 0;
  // Past the point where the delay reaches the window, counting on changes nothing.
  if (e.failures < max_failures_ + 64) ++e.failures;
  e.last = now;
}

void BackoffLimiter::reset(const std::string& key) {
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

std::size_t BackoffLimiter::tracked_keys() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace zaulek::server
