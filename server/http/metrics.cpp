#include "server/http/metrics.h"

#include <fmt/format.h>

#include "server/http/slow_pool.h"

namespace zaulek::server {

namespace {
// Label values are route patterns and method names we chose; escape anyway.
std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
}  // namespace

std::string_view method_label(std::string_view method) {
  // The request line is the client's: a label per unknown method would let
  // anyone grow /metrics without bound (1,500 requests with unique 8 KB
  // methods made it 12 MB), so everything else is one "other".
  static constexpr std::string_view kKnown[] = {"GET",    "HEAD",    "POST", "PUT",
                                                "DELETE", "OPTIONS", "PATCH"};
  for (auto k : kKnown)
    if (method == k) return k;
  return "other";
}

void Metrics::observe_request(const std::string& route, const std::string& method, int status,
                              double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{route, std::string(method_label(method)), status}];
  Histogram& h = latency_[route];
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   std::uint64_t value) {
  out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
}

std::string Metrics::render(const std::string& version, const Extra& extra) {
  std::string out;
  out += "# HELP zaulek_build_info Build information.\n# TYPE zaulek_build_info gauge\n";
  out += fmt::format("zaulek_build_info{{version=\"{}\"}} 1\n", escape(version));
  out += "# HELP zaulek_uptime_seconds Seconds since the service started.\n";
  out += "# TYPE zaulek_uptime_seconds gauge\n";
  out += fmt::format("zaulek_uptime_seconds {:.3f}\n", extra.uptime_seconds);
  out += "# HELP zaulek_http_connections Open HTTP/WebSocket connections.\n";
  out += "# TYPE zaulek_http_connections gauge\n";
  out += fmt::format("zaulek_http_connections {}\n", connections_open.load());
  out +=
      "# HELP zaulek_http_connections_rejected_total Connections refused at accept, by the limit "
      "they were over: total (server.max_connections), per_address, unauthenticated.\n";
  out += "# TYPE zaulek_http_connections_rejected_total counter\n";
  for (std::size_t i = 0; i < kRefusalLabels.size(); ++i)
    out += fmt::format("zaulek_http_connections_rejected_total{{reason=\"{}\"}} {}\n",
                       kRefusalLabels[i], connections_rejected[i].load());
  out +=
      "# HELP zaulek_http_connections_timed_out_total Connections closed by the server because "
      "a timeout ran out: first_byte (nothing sent since it opened), idle (between requests), "
      "read (a request not finished in time).\n";
  out += "# TYPE zaulek_http_connections_timed_out_total counter\n";
  for (std::size_t i = 0; i < kTimedOutLabels.size(); ++i)
    out += fmt::format("zaulek_http_connections_timed_out_total{{reason=\"{}\"}} {}\n",
                       kTimedOutLabels[i], connections_timed_out[i].load());
  if (slow_pool) {
    out +=
        "# HELP zaulek_http_slow_requests Requests of slow routes (onboarding, scans, password "
        "hashing) running or waiting on the slow pool.\n";
    out += "# TYPE zaulek_http_slow_requests gauge\n";
    out += fmt::format("zaulek_http_slow_requests {}\n", slow_pool->in_flight());
    out += "# HELP zaulek_http_slow_requests_max How many slow requests may be in flight.\n";
    out += "# TYPE zaulek_http_slow_requests_max gauge\n";
    out += fmt::format("zaulek_http_slow_requests_max {}\n", slow_pool->max_in_flight());
    append_metric(out, "zaulek_http_slow_requests_total", "counter",
                  "Requests of slow routes handed to the slow pool.", slow_pool->accepted());
    append_metric(out, "zaulek_http_slow_rejected_total", "counter",
                  "Requests of slow routes refused with 503 because the slow pool was full.",
                  slow_pool->rejected());
  }
  out += "# HELP zaulek_auth_login_failures_total Failed logins.\n";
  out += "# TYPE zaulek_auth_login_failures_total counter\n";
  out += fmt::format("zaulek_auth_login_failures_total {}\n", extra.login_failures);
  out += "# HELP zaulek_ws_sessions Open WebSocket sessions.\n# TYPE zaulek_ws_sessions gauge\n";
  out += fmt::format("zaulek_ws_sessions {}\n", extra.ws_sessions);
  out += "# HELP zaulek_ws_ring_bytes Memory the WebSocket replay rings hold (estimated).\n";
  out += "# TYPE zaulek_ws_ring_bytes gauge\n";
  out += fmt::format("zaulek_ws_ring_bytes {}\n", extra.ws_ring_bytes);
  out += "# HELP zaulek_ws_messages_published_total Messages published to the hub.\n";
  out += "# TYPE zaulek_ws_messages_published_total counter\n";
  out += fmt::format("zaulek_ws_messages_published_total {}\n", extra.ws_published);
  out += "# HELP zaulek_ws_overflow_closes_total Sessions closed because they fell behind.\n";
  out += "# TYPE zaulek_ws_overflow_closes_total counter\n";
  out += fmt::format("zaulek_ws_overflow_closes_total {}\n", ws_overflow_closes.load());
  out +=
      "# HELP zaulek_ws_unread_closes_total Sessions closed because they sent messages without "
      "reading the replies.\n";
  out += "# TYPE zaulek_ws_unread_closes_total counter\n";
  out += fmt::format("zaulek_ws_unread_closes_total {}\n", ws_unread_closes.load());
  out +=
      "# HELP zaulek_ws_batch_frames_total Array frames (several messages) sent to consoles "
      "that asked for batches and had fallen behind.\n";
  out += "# TYPE zaulek_ws_batch_frames_total counter\n";
  out += fmt::format("zaulek_ws_batch_frames_total {}\n", ws_batches.load());

  std::lock_guard lock(mu_);
  out += "# HELP zaulek_http_requests_total HTTP requests by route pattern, method and status.\n";
  out += "# TYPE zaulek_http_requests_total counter\n";
  for (auto& [key, n] : requests_) {
    auto& [route, method, status] = key;
    out +=
        fmt::format("zaulek_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                    escape(route), escape(method), status, n);
  }
  out += "# HELP zaulek_http_request_duration_seconds Time to handle a request.\n";
  out += "# TYPE zaulek_http_request_duration_seconds histogram\n";
  for (auto& [route, h] : latency_) {
    std::string r = escape(route);
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
      out +=
          fmt::format("zaulek_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                      r, kBuckets[i], h.buckets[i]);
    out += fmt::format(
        "zaulek_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", r, h.count);
    out +=
        fmt::format("zaulek_http_request_duration_seconds_sum{{route=\"{}\"}} {:.6f}\n", r, h.sum);
    out +=
        fmt::format("zaulek_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", r, h.count);
  }
  return out;
}

}  // namespace zaulek::server
