// zaulekd's ONVIF Basic Notification consumer: POST /onvif/notify/{token},
// where cameras without a PullPoint send wsnt:Notify (server/events/events.cpp
// falls back to it per camera).
//
// Security: cameras cannot log in, so the URL is the credential. Each
// subscription gets its own random 256-bit token (64 hex characters) in
// its consumer URL; it is retired when the subscription fails or stops, so
// a leaked or stale URL stops working at the next re-subscription. Only the
// token's SHA-256 is kept (like session tokens), and it is never logged.
// Unknown token -> 404, body over kMaxNotifyBytes -> 413, a Content-Type
// other than SOAP/XML or a body that is not a wsnt:Notify -> 400; nothing a
// camera (or anyone) sends can do more than that.
//
// Untrusted bodies: zaulekd's HTTP server bounds every request body
// (server.max_body_bytes, refused from the header), this handler 256 KiB;
// only a POST with a valid token is parsed, and parse_notify pre-scans the
// XML and makes its text valid UTF-8 (docs/design/onvif.md, "Untrusted
// replies").
//
// Threading: route handlers are synchronous and run on the HTTP worker pool
// (never an I/O thread), so the token table is behind a mutex (held only for
// the lookup); a sink is called on the handler's thread outside the lock
// and must only post.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "onvif/events/normalize.h"
#include "server/api/api.h"
#include "server/http/http_types.h"
#include "server/http/routes.h"

namespace zaulek::server {

// Most bytes of one Notify we accept (a camera sends one or a few messages).
inline constexpr std::size_t kMaxNotifyBytes = 256 * 1024;
// Most consumer URLs open at once (one per Basic Notification camera).
inline constexpr std::size_t kMaxNotifyConsumers = 10000;

class NotifyConsumers {
 public:
  using Sink = std::function<void(const std::string& url, std::vector<onvif::Notification>)>;

  // "http://127.0.0.1:8080" (no trailing slash); consumer URLs are this +
  // "/onvif/notify/" + token. Empty: Basic Notification is unavailable.
  void set_base_url(std::string base);
  std::string base_url() const;

  // A fresh consumer URL whose Notifies go to `sink`; "" when there is no
  // base URL or kMaxNotifyConsumers are open.
  std::string open(Sink sink);
  void close(const std::string& url);

  // The route handler.
  Response handle(const Request& req);

  std::size_t open_count() const;
  // Prometheus text: open consumers and Notifies by outcome.
  std::string metrics_text() const;

 private:
  mutable std::mutex mu_;
  std::string base_;
  std::map<std::string, Sink> sinks_;  // sha256_hex(token) -> sink
  std::atomic<std::uint64_t> accepted_{0}, unknown_{0}, rejected_{0}, messages_{0};
};

// POST /onvif/notify/{token} (public: the token authenticates). Uses
// ctx.notify; 503 when it is null.
void register_notify_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
