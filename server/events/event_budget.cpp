#include "server/events/event_budget.h"

#include <algorithm>
#include <cmath>

namespace zaulek::server {

EventBudget::EventBudget(Clock& clock, EventBudgetOptions options)
    : clock_(clock), options_(options) {
  // A zero from a caller (the config bounds both) must not stop every event.
  options_.per_second = std::max<std::uint32_t>(options_.per_second, 1);
  options_.burst = std::max<std::uint32_t>(options_.burst, 1);
}

std::size_t EventBudget::admit(const std::string& camera_id, std::size_t n, std::uint64_t dropped) {
  if (n == 0 && dropped == 0) return 0;
  const MonoTime now = clock_.monotonic();
  std::lock_guard lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(camera_id);
  Bucket& b = it->second;
  const auto burst = static_cast<double>(options_.burst);
  if (fresh) {
    b.tokens = burst;
  } else if (now > b.refilled) {
    const double seconds = std::chrono::duration<double>(now - b.refilled).count();
    b.tokens = std::min(burst, b.tokens + seconds * options_.per_second);
  }
  b.refilled = now;
  const auto whole = static_cast<std::size_t>(std::floor(b.tokens));
  const std::size_t pass = std::min(n, whole);
  b.tokens -= static_cast<double>(pass);
  const std::uint64_t suppressed = (n - pass) + dropped;
  if (suppressed > 0) {
    if (b.pending == 0) b.pending_from = clock_.realtime();
    b.pending += suppressed;
    b.total += suppressed;
  }
  return pass;
}

std::vector<Suppression> EventBudget::take_summaries() {
  const WallTime now = clock_.realtime();
  std::lock_guard lock(mu_);
  std::vector<Suppression> out;
  for (auto& [id, b] : buckets_) {
    if (b.pending == 0) continue;
    out.push_back({id, b.pending, b.pending_from, now});
    b.pending = 0;
  }
  return out;
}

bool EventBudget::has_suppressed() const {
  std::lock_guard lock(mu_);
  return std::any_of(buckets_.begin(), buckets_.end(),
                     [](const auto& kv) { return kv.second.pending > 0; });
}

std::map<std::string, std::uint64_t> EventBudget::totals() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::uint64_t> out;
  for (const auto& [id, b] : buckets_)
    if (b.total > 0) out[id] = b.total;
  return out;
}

}  // namespace zaulek::server
