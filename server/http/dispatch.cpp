#include "server/http/dispatch.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/text/text.h"

namespace zaulek::server {

namespace {

// HTTP's optional whitespace (RFC 9110 5.6.3).
std::string_view trim_ows(std::string_view s) {
  return zaulek::trim(s, " \t");
}

bool state_changing(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

// The Origin of a cookie-authenticated WebSocket must be this very server.
bool same_origin(const Request& r) {
  std::string origin = r.header("origin");
  std::string host = r.header("host");
  if (origin.empty() || host.empty()) return false;
  return origin == (r.tls ? "https://" : "http://") + host;
}

}  // namespace

std::string bearer_token(const std::string& authorization) {
  std::string_view a = trim_ows(authorization);
  if (a.size() < 7 || ascii_lower(a.substr(0, 7)) != "bearer ") return {};
  return std::string(trim_ows(a.substr(7)));
}

std::string cookie_value(const std::string& cookie_header, std::string_view name) {
  std::string_view rest = cookie_header;
  while (!rest.empty()) {
    std::size_t semi = rest.find(';');
    std::string_view part = trim_ows(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim_ows(part.substr(0, eq)) == name) return std::string(trim_ows(part.substr(eq + 1)));
  }
  return {};
}

bool json_content_type(const std::string& content_type) {
  std::string_view ct = content_type;
  ct = trim_ows(ct.substr(0, ct.find(';')));
  return ascii_lower(ct) == "application/json";
}

bool json_depth_ok(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

std::string percent_decode(std::string_view in, bool plus_is_space, bool* ok) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        if (ok) *ok = false;
        return {};
      }
      int h = hex(in[i + 1]), l = hex(in[i + 2]);
      if (h < 0 || l < 0) {
        if (ok) *ok = false;
        return {};
      }
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

void parse_target(const std::string& target, std::string& path,
                  std::map<std::string, std::string>& query, bool* ok) {
  std::size_t q = target.find('?');
  bool good = true;
  path = percent_decode(std::string_view(target).substr(0, q), false, &good);
  if (good && path.find('\0') != std::string::npos) good = false;
  if (good && q != std::string::npos) {
    std::string_view rest = std::string_view(target).substr(q + 1);
    while (good && !rest.empty()) {
      std::size_t amp = rest.find('&');
      std::string_view part = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      if (part.empty()) continue;
      std::size_t eq = part.find('=');
      std::string k = percent_decode(part.substr(0, eq), true, &good);
      std::string v = eq == std::string_view::npos
                          ? std::string{}
                          : percent_decode(part.substr(eq + 1), true, &good);
      query.emplace(std::move(k), std::move(v));
    }
  }
  if (ok) *ok = good;
}

Outcome Dispatcher::handle(Request& req, bool is_upgrade) const {
  Outcome out = prepare(req, is_upgrade);
  if (out.pending && out.pending->handler) {  // a deferred route stays pending
    out.response = run(*out.pending, req);
    out.pending = nullptr;
  }
  return out;
}

Response Dispatcher::run(const Route& route, Request& req) const {
  if (!route.handler) {  // a deferred route: only the HTTP session starts those
    spdlog::error("http: {} {} is deferred; run() cannot answer it", req.method, route.pattern);
    return error_response(500, "internal", "internal error");
  }
  try {
    return route.handler(req);
  } catch (const std::exception& e) {
    spdlog::error("http: {} {} failed: {}", req.method, route.pattern, e.what());
    return error_response(500, "internal", "internal error");
  }
}

Outcome Dispatcher::prepare(Request& req, bool is_upgrade) const {
  Outcome out;
  auto m = router_.match(req.method, req.path, &req.params);
  if (!m.route) {
    if (m.path_known) {
      out.route_label = "unmatched";
      out.response = error_response(405, "method_not_allowed", "method not allowed on this path");
      std::string allow;
      for (auto& a : m.allowed_methods) allow += (allow.empty() ? "" : ", ") + a;
      out.response.headers.emplace_back("Allow", allow);
    } else {
      out.response = error_response(404, "not_found", "no such endpoint");
    }
    return out;
  }
  const Route& route = *m.route;
  out.route_label = route.pattern;

  if (route.access != Access::public_) {
    std::string token = bearer_token(req.header("authorization"));
    bool via_cookie = false;
    if (token.empty()) {
      token = cookie_value(req.header("cookie"), kSessionCookie);
      via_cookie = !token.empty();
    }
    if (!token.empty()) {
      auto p = auth_.authenticate(token);
      if (p) {
        req.principal = std::move(*p);
        req.principal->via_cookie = via_cookie;
      } else if (p.error().kind != ErrorKind::unauthenticated) {
        out.response = error_response(p.error());
        return out;
      } else if (route.access == Access::roles) {
        out.response = error_response(401, "unauthenticated", "invalid or expired token");
        out.response.headers.emplace_back("WWW-Authenticate", "Bearer");
        return out;
      }
    }
    int denied = check_access(route, req.principal, req.remote_loopback);
    if (denied == 401) {
      out.response = error_response(401, "unauthenticated", "authentication required");
      out.response.headers.emplace_back("WWW-Authenticate", "Bearer");
      return out;
    }
    if (denied == 403) {
      out.response = error_response(403, "permission_denied", "your role may not do this");
      return out;
    }
    if (req.principal && req.principal->via_cookie) {
      if (state_changing(req.method) &&
          !crypto::equal_constant_time(req.header("x-csrf-token"), req.principal->csrf_token)) {
        out.response =
            error_response(403, "permission_denied", "missing or wrong X-CSRF-Token header");
        return out;
      }
      if (route.websocket && !same_origin(req)) {
        out.response = error_response(403, "permission_denied",
                                      "cookie-authenticated WebSocket needs a same-origin Origin");
        return out;
      }
    }
  }

  if (route.websocket) {
    if (is_upgrade) {
      // A route with a handler decides (404 for a camera one may not see)
      // and names the source of its messages.
      if (route.handler) {
        Response r = route.handler(req);
        if (!r.websocket) {
          out.response = std::move(r);
          return out;
        }
        out.source = std::move(r.websocket);
      }
      out.upgrade = true;
      return out;
    }
    out.response = error_response(426, "upgrade_required", "this endpoint is a WebSocket");
    out.response.headers.emplace_back("Upgrade", "websocket");
    return out;
  }

  if (route.json_body) {
    if (!json_content_type(req.header("content-type"))) {
      out.response =
          error_response(415, "unsupported_media_type", "Content-Type must be application/json");
      return out;
    }
    if (!json_depth_ok(req.body, kMaxJsonDepth)) {
      out.response = error_response(400, "invalid_argument", "JSON nests too deeply");
      return out;
    }
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded()) {
      out.response = error_response(400, "invalid_argument", "request body is not valid JSON");
      return out;
    }
    if (!j.is_object()) {
      out.response = error_response(400, "invalid_argument", "request body must be a JSON object");
      return out;
    }
    req.json = std::make_shared<nlohmann::json>(std::move(j));
  }

  out.pending = &route;
  return out;
}

}  // namespace zaulek::server
