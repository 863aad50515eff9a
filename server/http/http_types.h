// What a route handler sees: a request and a response without Beast types, so
// handlers and the dispatcher are plain code that unit tests call directly.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/role.h"

namespace zaulek::server {

// The authenticated caller of a request.
struct Principal {
  std::int64_t user_id = 0;
  std::string name;
  Role role = Role::operator_;
  std::string token_hash;       // identifies the session (for logout); never the token
  std::int64_t session_id = 0;  // the session's catalogue id (shown; the token never is)
  std::chrono::system_clock::time_point session_expires{};  // a WebSocket closes then
  std::string csrf_token;
  bool via_cookie = false;  // cookie auth needs X-CSRF-Token on state changes
  // The cameras this user may see (sorted); nullopt: every camera. Use
  // server/security/visibility.h, never this field directly.
  std::optional<std::vector<std::string>> cameras = std::nullopt;
  // Clock::monotonic() just before the user's row was read (Hub::close_user).
  std::chrono::steady_clock::time_point authenticated{};
};

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as received, with query
  std::string path;                            // percent-decoded path without the query
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> params;   // {name} segments of the route pattern
  std::map<std::string, std::string> headers;  // lower-case names (the few we read)
  std::string body;
  std::shared_ptr<nlohmann::json> json;  // parsed body for routes that take JSON
  std::string remote;                    // client address, no port
  bool remote_loopback = false;
  bool tls = false;
  std::optional<Principal> principal;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

// A WebSocket route other than the console's (/api/v1/ws) hands the
// transport a source of messages (server/live: a live view). The transport
// (server/http/ws_session.cpp) accepts the upgrade, then calls open() with
// its side; no Beast types cross.
class WsPeer {
 public:
  virtual ~WsPeer() = default;
  // Any thread: queue one message. The source keeps its own bound: it sends
  // again only after written() (a few control messages may go ahead).
  virtual void send(std::shared_ptr<const std::string> message, bool binary) = 0;
  virtual void close(std::string reason) = 0;
};
class WsSource {
 public:
  virtual ~WsSource() = default;
  // The upgrade is done. From the transport's strand; must not block.
  virtual void open(std::shared_ptr<WsPeer> peer) = 0;
  // One message given to send() has been written to the socket.
  virtual void written() = 0;
  // The connection is gone; nothing more will be written.
  virtual void closed() = 0;
  // A text message from the client that the transport does not answer
  // itself (it answers ping): a JSON object with a string "type". From the
  // transport's strand; must not block. nullopt when taken, else the error
  // text the transport sends back ({"type":"error","message":...}).
  virtual std::optional<std::string> message(const nlohmann::json& message) {
    (void)message;
    return "unknown message type";
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // Instead of `body`: a file sent from disk block by block (an export's
  // ZIP: gigabytes never held in memory). "" = body.
  std::string file;
  // A WebSocket route's handler: take the upgrade, with this source (set
  // only by such a handler; then status, body and headers are unused).
  std::shared_ptr<WsSource> websocket;
};

// {"error":{"code":code,"message":message}}
Response error_response(int status, std::string_view code, std::string_view message);
// Maps the error space to HTTP (the one place that does; docs/design/errors.md).
int http_status(ErrorKind kind);
Response error_response(const Error& error);
Response json_response(int status, const nlohmann::json& body);

// Who sent a request. From a peer in `trusted_proxies` (server.trusted_proxies:
// IPs and CIDRs) the client is the right-most X-Forwarded-For entry that is
// not itself a trusted proxy; an entry that is not an IP literal stops the walk
// at the proxy that added it. From any other peer the header is ignored.
// `peer` is the TCP peer's address text; `forwarded_for` every X-Forwarded-For
// header joined by commas ("" when none).
struct ClientAddress {
  std::string address;
  bool loopback = false;
};
ClientAddress client_address(const std::string& peer, const std::string& forwarded_for,
                             const std::vector<std::string>& trusted_proxies);
// Whether the TCP peer `peer` (address text) is one of `trusted_proxies`.
bool is_trusted_proxy(const std::string& peer, const std::vector<std::string>& trusted_proxies);

}  // namespace zaulek::server
