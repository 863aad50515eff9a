// One request's way through the service, without sockets: route lookup
// (404/405), credentials (Bearer or cookie; 401), role (403), CSRF for cookie
// sessions (403), content type (415), JSON (400), handler. The HTTP server
// calls handle() and adds transport headers; unit tests call it directly.
#pragma once

#include <string>

#include "server/http/http_types.h"
#include "server/http/routes.h"
#include "server/security/auth.h"

namespace zaulek::server {

inline constexpr std::string_view kSessionCookie = "zaulek_session";
inline constexpr int kMaxJsonDepth = 32;

struct Outcome {
  Response response;
  std::string route_label = "unmatched";  // route pattern for metrics
  bool upgrade = false;                   // WebSocket: authorized, take the socket over
  // From prepare(): every check passed and this route's handler (or its
  // deferred start) is still to run; null when `response` is the answer.
  const Route* pending = nullptr;
  std::shared_ptr<WsSource> source;  // and feed it from this (null: the console's hub)
};

class Dispatcher {
 public:
  Dispatcher(const Router& router, Auth& auth) : router_(router), auth_(auth) {}

  // `request.headers` must hold the lower-case names of every header we read:
  // authorization, cookie, content-type, x-csrf-token, origin, host, upgrade.
  // Runs the handler; a deferred route comes back `pending` (the caller
  // starts it with a Reply).
  Outcome handle(Request& request, bool is_upgrade) const;
  // handle() in two steps, so that the HTTP server can run a Speed::slow
  // route's handler on the slow pool: prepare() does everything up to the
  // handler (sets `pending` when it is to run), run() calls it.
  Outcome prepare(Request& request, bool is_upgrade) const;
  Response run(const Route& route, Request& request) const;

 private:
  const Router& router_;
  Auth& auth_;
};

// Helpers shared with the HTTP layer and tests.
std::string bearer_token(const std::string& authorization);
std::string cookie_value(const std::string& cookie_header, std::string_view name);
bool json_content_type(const std::string& content_type);
// false if JSON text nests deeper than `max_depth` (checked before parsing).
bool json_depth_ok(std::string_view text, int max_depth);
std::string percent_decode(std::string_view in, bool plus_is_space, bool* ok);
void parse_target(const std::string& target, std::string& path,
                  std::map<std::string, std::string>& query, bool* ok);

}  // namespace zaulek::server
