// Prometheus text exposition for /metrics. Request counters are keyed by the
// route *pattern* (never the raw path) and a known method (else "other") so
// that label cardinality is bounded whatever clients send.
// Thread-safe: a short mutex, since every connection strand records here.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace zaulek::server {

class SlowPool;  // server/http/slow_pool.h

// One unlabelled series in Prometheus text: its HELP and TYPE lines and the
// value ("counter" or "gauge"), appended to `out`.
void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   std::uint64_t value);

// The method as a label: one of the methods HTTP routes use, else "other".
std::string_view method_label(std::string_view method);

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,   1.0,  2.5,   5.0,  10.0};

  void observe_request(const std::string& route, const std::string& method, int status,
                       double seconds);

  std::atomic<std::int64_t> connections_open{0};
  // Connections refused at accept, by reason (a bounded label set):
  // server.max_connections, max_connections_per_address, max_unauthenticated_per_address.
  enum class Refusal { total, per_address, unauthenticated };
  static constexpr std::array<const char*, 3> kRefusalLabels = {"total", "per_address",
                                                                "unauthenticated"};
  std::array<std::atomic<std::uint64_t>, 3> connections_rejected{};
  std::uint64_t count_refusal(Refusal r) {
    return ++connections_rejected[static_cast<std::size_t>(r)];
  }
  std::atomic<std::uint64_t> ws_overflow_closes{0};
  std::atomic<std::uint64_t> ws_unread_closes{0};  // sent requests, never read the replies
  std::atomic<std::uint64_t> ws_batches{0};        // array frames sent to consoles behind
  // Connections the server closed because a timeout ran out, by which one (a
  // bounded label set): server.first_byte_timeout_s (nothing sent since the
  // connection opened), idle_timeout_s (between requests), read_timeout_s (a
  // request not finished in time).
  enum class TimedOut { first_byte, idle, read };
  static constexpr std::array<const char*, 3> kTimedOutLabels = {"first_byte", "idle", "read"};
  std::array<std::atomic<std::uint64_t>, 3> connections_timed_out{};
  void count_timeout(TimedOut t) { ++connections_timed_out[static_cast<std::size_t>(t)]; }
  // The slow pool's jobs and refusals, rendered when set (the service sets it).
  const SlowPool* slow_pool = nullptr;

  struct Extra {
    double uptime_seconds = 0;
    std::uint64_t login_failures = 0;
    std::uint64_t ws_published = 0;
    std::size_t ws_sessions = 0;
    std::size_t ws_ring_bytes = 0;
  };
  std::string render(const std::string& version, const Extra& extra);

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
};

}  // namespace zaulek::server
