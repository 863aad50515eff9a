#include "server/http/routes.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace zaulek::server {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool match_pattern(std::string_view pattern, std::string_view path,
                   std::map<std::string, std::string>* params) {
  // Trailing slashes are not equivalent: "/api/v1/users/" is not a route.
  if (path.size() > 1 && path.back() == '/') return false;
  auto p = split_path(pattern);
  auto s = split_path(path);
  if (p.size() != s.size()) return false;
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i].size() >= 2 && p[i].front() == '{' && p[i].back() == '}') {
      if (s[i].empty()) return false;
      found.emplace(std::string(p[i].substr(1, p[i].size() - 2)), std::string(s[i]));
    } else if (p[i] != s[i]) {
      return false;
    }
  }
  if (params) *params = std::move(found);
  return true;
}

std::string_view access_name(Access a) {
  switch (a) {
    case Access::public_:
      return "public";
    case Access::roles:
      return "roles";
    case Access::loopback_or_roles:
      return "loopback_or_roles";
  }
  return "roles";
}

}  // namespace

void Router::add(Route route) {
  routes_.push_back(std::move(route));
}

Router::Match Router::match(std::string_view method, std::string_view path,
                            std::map<std::string, std::string>* params) const {
  Match m;
  for (const Route& r : routes_) {
    if (!match_pattern(r.pattern, path, nullptr)) continue;
    m.path_known = true;
    m.allowed_methods.push_back(r.method);
    if (r.method == method && !m.route) {
      m.route = &r;
      match_pattern(r.pattern, path, params);
    }
  }
  return m;
}

std::size_t Router::body_limit(std::string_view method, std::string_view path,
                               std::size_t server_limit) const {
  for (const Route& r : routes_)
    if (r.method == method && match_pattern(r.pattern, path, nullptr))
      return r.max_body_bytes ? r.max_body_bytes : server_limit;
  return server_limit;
}

std::size_t Router::max_body_limit(std::size_t server_limit) const {
  std::size_t most = server_limit;
  for (const Route& r : routes_) most = std::max(most, r.max_body_bytes);
  return most;
}

std::string Router::describe_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const Route& r : routes_) {
    nlohmann::json roles = nlohmann::json::array();
    for (Role role : {Role::operator_, Role::administrator, Role::investigator})
      if (r.access != Access::public_ && r.roles.contains(role)) roles.push_back(to_string(role));
    out.push_back({{"method", r.method},
                   {"path", r.pattern},
                   {"access", access_name(r.access)},
                   {"roles", roles},
                   {"websocket", r.websocket},
                   {"slow", r.speed == Speed::slow}});
  }
  return out.dump(2);
}

int check_access(const Route& route, const std::optional<Principal>& principal,
                 bool remote_loopback) {
  switch (route.access) {
    case Access::public_:
      return 0;
    case Access::loopback_or_roles:
      if (remote_loopback) return 0;
      [[fallthrough]];
    case Access::roles:
      if (!principal) return 401;
      return route.roles.contains(principal->role) ? 0 : 403;
  }
  return 403;
}

}  // namespace zaulek::server
