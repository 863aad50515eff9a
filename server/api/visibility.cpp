// PATCH /api/v1/users/{id} {"cameras": [...] | null, "disabled": bool,
// "role": R}: an administrator restricts a user to some cameras, or lifts the
// restriction (server/security/visibility.h); disables or enables the user (a
// disabled user's sessions end at once, their WebSockets too); changes the
// user's role (it counts from the user's next request; open WebSockets,
// subscribed with the old role's audience, close so that they subscribe again).
#include <spdlog/spdlog.h>
#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "server/api/api.h"
#include "server/api/params.h"
#include "server/http/dispatch.h"
#include "server/security/users.h"
#include "server/security/visibility.h"

namespace zaulek::server {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxCameras = 1024;

json cameras_json(const std::optional<std::vector<std::string>>& c) {
  return c ? json(*c) : json(nullptr);
}

Response patch_user(ApiContext& ctx, Request& req) {
  const std::string& text = req.params.at("id");
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || p != text.data() + text.size() || id < 1)
    return error_response(404, "not_found", "no user " + text.substr(0, 32));
  const json& body = *req.json;
  for (const auto& item : body.items())
    if (item.key() != "cameras" && item.key() != "disabled" && item.key() != "role")
      return bad("'" + item.key().substr(0, 64) + "' cannot be changed here");
  auto it = body.find("cameras");
  auto dis = body.find("disabled");
  auto role_field = body.find("role");
  if (it == body.end() && dis == body.end() && role_field == body.end())
    return bad("nothing to change: give 'cameras' (a list of ids, or null), 'disabled' or 'role'");
  if (dis != body.end() && !dis->is_boolean()) return bad("'disabled' must be true or false");
  std::optional<Role> role;
  if (role_field != body.end()) {
    role = role_field->is_string() ? parse_role(role_field->get_ref<const std::string&>())
                                   : std::nullopt;
    if (!role) return bad("'role' must be operator, investigator or administrator");
  }
  std::optional<std::vector<std::string>> cameras;
  if (it != body.end() && !it->is_null()) {
    if (!it->is_array()) return bad("'cameras' must be a list of camera ids, or null for all");
    if (it->size() > kMaxCameras)
      return bad("'cameras' has more than " + std::to_string(kMaxCameras) + " ids");
    auto known = ctx.catalog->list_cameras();
    if (!known) return error_response(known.error());
    std::vector<std::string> ids;
    for (const auto& e : *it) {
      if (!e.is_string() || !valid_camera_id(e.get_ref<const std::string&>()))
        return bad("'cameras' must hold camera ids ([A-Za-z0-9._-], 1 to 64)");
      const auto& cid = e.get_ref<const std::string&>();
      bool exists = std::any_of(known->begin(), known->end(),
                                [&](const storage::Camera& c) { return c.id == cid; });
      if (!exists) return bad("'cameras': no camera " + cid);
      ids.push_back(cid);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    cameras = std::move(ids);
  }
  auto user = ctx.catalog->find_user(id);
  if (!user) return error_response(user.error());
  if (cameras && role.value_or(user->role) == Role::administrator)
    return bad("user '" + user->name +
               "' is an administrator; administrators always see every camera");
  if (dis != body.end()) {
    const bool disabled = dis->get<bool>();
    if (disabled && id == req.principal->user_id)
      return error_response(409, "failed_precondition", "you cannot disable your own account");
    if (disabled != user->disabled) {
      auto ended =
          set_disabled(*ctx.catalog, *ctx.audit, *user, disabled, req.principal->name, req.remote);
      if (!ended) return error_response(ended.error());
      // Its sessions are gone from the catalogue; its open consoles close now.
      if (disabled && ctx.hub) ctx.hub->close_user(id, close_reason::kUserDisabled);
      user->disabled = disabled;
    }
  }
  if (role && *role != user->role) {
    if (id == req.principal->user_id)
      return error_response(409, "failed_precondition", "you cannot change your own role");
    if (auto st = ctx.catalog->set_user_role(id, *role); !st) return error_response(st.error());
    spdlog::info("users: '{}' made user '{}' {} (was {})", req.principal->name, user->name,
                 to_string(*role), to_string(user->role));
    ctx.audit->record(req.principal->name, "user.role", "user:" + user->name,
                      json{{"from", to_string(user->role)}, {"to", to_string(*role)}}.dump(),
                      req.remote);
    if (ctx.hub) ctx.hub->close_user(id, close_reason::kRoleChanged);
    user->role = *role;
  }
  if (it == body.end()) return json_response(200, user_json(*user));
  if (auto st = ctx.catalog->set_user_cameras(id, cameras); !st) return error_response(st.error());
  ctx.audit->record(
      req.principal->name, "user.cameras", "user:" + user->name,
      json{{"from", cameras_json(user->cameras)}, {"to", cameras_json(cameras)}}.dump(),
      req.remote);
  // Open consoles of the user reconnect and subscribe with the new set.
  if (ctx.hub) ctx.hub->close_user(id, close_reason::kCamerasChanged);
  user->cameras = cameras;
  return json_response(200, user_json(*user));
}

}  // namespace

void register_visibility_routes(Router& router, ApiContext& ctx) {
  router.add({"PATCH", "/api/v1/users/{id}", Access::roles, RoleSet{Role::administrator}, true,
              false, [&ctx](Request& r) {
                if (!ctx.catalog || !ctx.audit)
                  return error_response(503, "unavailable", "the catalogue is not open");
                return patch_user(ctx, r);
              }});
}

}  // namespace zaulek::server
