// The route table: every endpoint declared once with its method, path
// pattern, who may call it and its handler. The dispatcher enforces access
// from this table; `zaulekd --list-routes` prints it; a test compares it
// with docs/api/openapi.yaml and walks every route with every role.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/role.h"
#include "server/http/http_types.h"

namespace zaulek::server {

enum class Access {
  public_,            // anyone, no credentials
  roles,              // an authenticated user whose role is in `roles`
  loopback_or_roles,  // anonymous from a loopback address, else as `roles` (/metrics)
};

// Speed::slow marks a route whose handler blocks for long: ONVIF round trips
// (onboarding, moves, probing edits), network scans, Argon2id hashing (login,
// setting a password). Its handler runs on the slow pool
// (server/http/slow_pool.h), never on the HTTP workers that answer every
// other call (/healthz, an alarm acknowledgement); when the pool is full the
// caller gets 503 with Retry-After. Any new route that hashes a password or
// waits for a camera through a blocking call must say Speed::slow; one that
// can wait asynchronously is better `deferred` (below), holding no thread.
enum class Speed { fast, slow };

// A deferred route's answer: called exactly once, from any thread.
using Reply = std::function<void(Response)>;

struct Route {
  std::string method;   // GET, POST, PUT, PATCH, DELETE
  std::string pattern;  // "/api/v1/users/{id}"
  Access access = Access::roles;
  RoleSet roles;
  bool json_body = false;  // needs Content-Type: application/json and a JSON body
  bool websocket = false;  // upgrade route; the HTTP server takes over after auth
  std::function<Response(Request&)> handler;
  Speed speed = Speed::fast;  // Speed::slow: see above (not for deferred routes)
  // Instead of `handler`, for a route that waits on the network (a camera)
  // rather than on CPU or SQLite: it runs on an HTTP worker like a handler,
  // may do quick blocking work there, starts asynchronous work and returns;
  // `reply` answers later (the worker is free meanwhile). The request is
  // valid only during the call.
  std::function<void(Request&, Reply)> deferred = nullptr;
  // The largest body this route takes, when it is not server.max_body_bytes
  // (0): an upload (a site's plan image). The transport applies it once the
  // request's header names the route, before any body byte is read.
  std::size_t max_body_bytes = 0;
};

class Router {
 public:
  void add(Route route);
  const std::vector<Route>& routes() const { return routes_; }

  struct Match {
    const Route* route = nullptr;  // null: no route for this method
    bool path_known = false;       // some route has this path (405 vs 404)
    std::vector<std::string> allowed_methods;
  };
  // Fills request.params on a match.
  Match match(std::string_view method, std::string_view path,
              std::map<std::string, std::string>* params) const;

  // The body limit of a request for `method` `path`: its route's own
  // max_body_bytes, else `server_limit`; and the largest of them all (what
  // may be read before the header is parsed).
  std::size_t body_limit(std::string_view method, std::string_view path,
                         std::size_t server_limit) const;
  std::size_t max_body_limit(std::size_t server_limit) const;

  // [{"method","path","access","roles":[...]}] for --list-routes.
  std::string describe_json() const;

 private:
  std::vector<Route> routes_;
};

// 0 if allowed, else 401 (no or bad credentials) or 403 (role may not).
int check_access(const Route& route, const std::optional<Principal>& principal,
                 bool remote_loopback);

}  // namespace zaulek::server
