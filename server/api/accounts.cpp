// Account lifecycle: a user's own password, sessions and console
// preferences; an administrator's reset of another's password, a user's
// sessions, revoking any session.
// Disabling a user is PATCH /api/v1/users/{id} (server/api/visibility.cpp).
// Session ids are catalogue ids, never a token or its hash. A session that
// ends here closes its WebSockets (close reasons in server/hub/hub.h).
#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "server/api/api.h"
#include "server/api/params.h"
#include "server/http/dispatch.h"
#include "server/security/users.h"

namespace zaulek::server {

namespace {

using nlohmann::json;

// A path id of 1.. as an integer; nullopt otherwise.
std::optional<std::int64_t> path_id(const Request& req) {
  const std::string& text = req.params.at("id");
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || p != text.data() + text.size() || id < 1) return std::nullopt;
  return id;
}

Status only_fields(const json& body, std::initializer_list<const char*> allowed) {
  for (const auto& item : body.items()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || item.key() == a;
    if (!ok)
      return make_error(ErrorKind::invalid_argument,
                        "unknown field '" + item.key().substr(0, 64) + "'");
  }
  return {};
}

void close_sessions(ApiContext& ctx, const std::vector<std::int64_t>& ids, const char* reason) {
  if (!ctx.hub) return;
  for (auto id : ids) ctx.hub->close_session(id, reason);
}

// POST /api/v1/auth/password {"current_password", "new_password"}: the
// caller's own; their other sessions end, this one stays.
Response change_own_password(ApiContext& ctx, Request& req) {
  const json& body = *req.json;
  if (auto st = only_fields(body, {"current_password", "new_password"}); !st)
    return error_response(st.error());
  auto current = string_field(body, "current_password", kMaxPasswordLength);
  if (!current) return error_response(current.error());
  auto fresh = string_field(body, "new_password", kMaxPasswordLength);
  if (!fresh) return error_response(fresh.error());
  // The new one is checked first: a bad new password costs no guess.
  if (auto st = validate_password(*fresh); !st) return bad("'new_password': " + st.error().message);
  const Principal& p = *req.principal;
  std::optional<LoginRefusal> refusal;
  if (auto st = ctx.auth->check_password(p, *current, req.remote, &refusal); !st) {
    Response resp = error_response(st.error());
    if (refusal && refusal->retry_after)
      resp.headers.emplace_back("Retry-After", std::to_string(refusal->retry_after->count()));
    return resp;
  }
  auto user = ctx.catalog->find_user(p.user_id);
  if (!user) return error_response(user.error());
  auto ended =
      change_password(*ctx.catalog, *ctx.audit, *user, *fresh, ctx.auth->password_hash_cost(),
                      p.session_id, "user.password", p.name, req.remote);
  if (!ended) return error_response(ended.error());
  close_sessions(ctx, *ended, close_reason::kPasswordChanged);
  return json_response(200, {{"status", "password_changed"}, {"sessions_ended", ended->size()}});
}

// POST /api/v1/users/{id}/password {"password"}: an administrator's reset;
// every session of the user ends (but the caller's own, when resetting their own).
Response reset_password(ApiContext& ctx, Request& req) {
  auto id = path_id(req);
  if (!id) return error_response(404, "not_found", "no user " + req.params.at("id").substr(0, 32));
  const json& body = *req.json;
  if (auto st = only_fields(body, {"password"}); !st) return error_response(st.error());
  auto fresh = string_field(body, "password", kMaxPasswordLength);
  if (!fresh) return error_response(fresh.error());
  if (auto st = validate_password(*fresh); !st) return bad("'password': " + st.error().message);
  auto user = ctx.catalog->find_user(*id);
  if (!user) return error_response(user.error());
  const Principal& p = *req.principal;
  auto ended = change_password(
      *ctx.catalog, *ctx.audit, *user, *fresh, ctx.auth->password_hash_cost(),
      user->id == p.user_id ? p.session_id : 0, "user.password_reset", p.name, req.remote);
  if (!ended) return error_response(ended.error());
  close_sessions(ctx, *ended, close_reason::kPasswordChanged);
  return json_response(200, {{"status", "password_reset"}, {"sessions_ended", ended->size()}});
}

Response sessions_of(ApiContext& ctx, const storage::User& user, std::int64_t current) {
  auto sessions = ctx.catalog->list_user_sessions(user.id);
  if (!sessions) return error_response(sessions.error());
  json arr = json::array();
  for (const auto& s : *sessions) arr.push_back(session_json(s, user.name, current));
  return json_response(200, {{"sessions", arr}});
}

// GET /api/v1/auth/sessions: the caller's own.
Response list_own_sessions(ApiContext& ctx, Request& req) {
  auto user = ctx.catalog->find_user(req.principal->user_id);
  if (!user) return error_response(user.error());
  return sessions_of(ctx, *user, req.principal->session_id);
}

// GET /api/v1/users/{id}/sessions: administrators.
Response list_user_sessions(ApiContext& ctx, Request& req) {
  auto id = path_id(req);
  if (!id) return error_response(404, "not_found", "no user " + req.params.at("id").substr(0, 32));
  auto user = ctx.catalog->find_user(*id);
  if (!user) return error_response(user.error());
  return sessions_of(ctx, *user, req.principal->session_id);
}

// DELETE /api/v1/sessions/{id}: one's own session, or (administrators) anyone's.
// Someone else's session is "no session N" to a non-administrator, exactly
// as one that does not exist: ids tell nothing about other users.
Response revoke_session(ApiContext& ctx, Request& req) {
  const std::string shown = req.params.at("id").substr(0, 32);
  auto id = path_id(req);
  if (!id) return error_response(404, "not_found", "no session " + shown);
  const Principal& p = *req.principal;
  auto session = ctx.catalog->find_session_by_id(*id);
  if (!session || (session->user_id != p.user_id && p.role != Role::administrator)) {
    if (!session && session.error().kind != ErrorKind::not_found)
      return error_response(session.error());
    return error_response(404, "not_found", "no session " + shown);
  }
  auto owner = ctx.catalog->find_user(session->user_id);
  if (!owner) return error_response(owner.error());
  if (auto st = ctx.catalog->delete_session_by_id(*id); !st) {
    if (st.error().kind == ErrorKind::not_found)  // revoked meanwhile
      return error_response(404, "not_found", "no session " + shown);
    return error_response(st.error());
  }
  ctx.audit->record(p.name, "session.revoke", "user:" + owner->name,
                    json{{"session", std::to_string(*id)}}.dump(), req.remote);
  close_sessions(ctx, {*id}, close_reason::kSessionRevoked);
  return json_response(200, {{"status", "revoked"}, {"id", std::to_string(*id)}});
}

// A user's console preferences (GET/PUT/PATCH /api/v1/me/preferences): one
// JSON object, per user, kept for any console they log in at. Its members
// are named [a-z][a-z0-9_.-]{0,63}, at most kMaxPreferenceMembers in a
// request, nested at most kMaxPreferenceDepth deep, 16 KiB stored in all.
// The members the console reads are checked for their shape: grid and
// grid.<more> (a grid of its own, e.g. per site), lang; an unknown member is
// kept as it is, for a newer console. Not audited: a layout is nobody's
// evidence, and it changes often.
constexpr std::size_t kMaxPreferenceMembers = 64;
constexpr int kMaxPreferenceDepth = 8;
constexpr std::size_t kGridTiles = 16;

bool preference_name(const std::string& k) {
  if (k.empty() || k.size() > 64 || k[0] < 'a' || k[0] > 'z') return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

int json_depth(const json& j) {
  int d = 0;
  if (j.is_structured())
    for (const auto& v : j) d = std::max(d, json_depth(v));
  return d + (j.is_structured() ? 1 : 0);
}

// "" when the member is acceptable (null: to be removed by a merge), else why not.
std::string check_preference(const std::string& name, const json& v) {
  if (v.is_null()) return "";
  // "grid", and "grid.<more>" (a grid of its own, e.g. one per site filter).
  if (name == "grid" || name.rfind("grid.", 0) == 0) {
    const std::string q = "'" + name;
    if (!v.is_object()) return q + "' must be an object {layout, cells}";
    for (const auto& item : v.items())
      if (item.key() != "layout" && item.key() != "cells")
        return q + "." + item.key().substr(0, 64) + "' is not a grid member (layout, cells)";
    auto layout = v.find("layout");
    if (layout == v.end() || !layout->is_number_integer() ||
        (*layout != 1 && *layout != 4 && *layout != 9 && *layout != 16))
      return q + ".layout' must be 1, 4, 9 or 16";
    auto cells = v.find("cells");
    if (cells == v.end() || !cells->is_array() || cells->size() > kGridTiles)
      return q + ".cells' must be an array of at most 16 camera ids or nulls";
    for (const auto& c : *cells)
      if (!c.is_null() && !(c.is_string() && valid_camera_id(c.get<std::string>())))
        return q + ".cells' must hold camera ids or nulls";
    return "";
  }
  if (name == "lang") return v == "pl" || v == "en" ? "" : "'lang' must be \"pl\" or \"en\"";
  return "";
}

Response preferences_answer(const Result<std::string>& stored) {
  if (!stored) return error_response(stored.error());
  auto j = json::parse(*stored, nullptr, false);
  if (j.is_discarded()) j = json::object();
  return json_response(200, {{"preferences", j}});
}

Response get_preferences(ApiContext& ctx, Request& req) {
  return preferences_answer(ctx.catalog->preferences(req.principal->user_id));
}

// PUT replaces them; PATCH merges (RFC 7396: a member set to null is removed).
Response put_preferences(ApiContext& ctx, Request& req, bool merge) {
  const json& body = *req.json;
  if (!body.is_object()) return bad("body must be a JSON object of preferences");
  if (body.size() > kMaxPreferenceMembers)
    return bad("at most " + std::to_string(kMaxPreferenceMembers) + " preferences");
  if (json_depth(body) > kMaxPreferenceDepth)
    return bad("preferences nest at most " + std::to_string(kMaxPreferenceDepth) + " deep");
  for (const auto& item : body.items()) {
    if (!preference_name(item.key()))
      return bad("preference name '" + item.key().substr(0, 64) +
                 "' must be [a-z][a-z0-9_.-]{0,63}");
    if (auto why = check_preference(item.key(), item.value()); !why.empty()) return bad(why);
  }
  auto stored = ctx.catalog->set_preferences(req.principal->user_id, body.dump(), merge);
  return preferences_answer(stored);
}

Response replace_preferences(ApiContext& ctx, Request& req) {
  return put_preferences(ctx, req, false);
}
Response merge_preferences(ApiContext& ctx, Request& req) {
  return put_preferences(ctx, req, true);
}

}  // namespace

void register_account_routes(Router& router, ApiContext& ctx) {
  const RoleSet all = RoleSet::all();
  const RoleSet admin{Role::administrator};
  auto h = [&ctx](ApiHandler fn) {
    return [&ctx, fn](Request& r) {
      if (!ctx.catalog || !ctx.audit || !ctx.auth)
        return error_response(503, "unavailable", "the catalogue is not open");
      return fn(ctx, r);
    };
  };
  // Both password routes hash (Argon2id): on the slow pool, as login is.
  Route change{"POST", "/api/v1/auth/password", Access::roles, all, true,
               false,  h(change_own_password)};
  change.speed = Speed::slow;
  router.add(std::move(change));
  router.add(
      {"GET", "/api/v1/auth/sessions", Access::roles, all, false, false, h(list_own_sessions)});
  Route reset{"POST",           "/api/v1/users/{id}/password", Access::roles, admin, true, false,
              h(reset_password)};
  reset.speed = Speed::slow;
  router.add(std::move(reset));
  router.add({"GET", "/api/v1/users/{id}/sessions", Access::roles, admin, false, false,
              h(list_user_sessions)});
  router.add(
      {"DELETE", "/api/v1/sessions/{id}", Access::roles, all, false, false, h(revoke_session)});
  router.add(
      {"GET", "/api/v1/me/preferences", Access::roles, all, false, false, h(get_preferences)});
  router.add(
      {"PUT", "/api/v1/me/preferences", Access::roles, all, true, false, h(replace_preferences)});
  router.add(
      {"PATCH", "/api/v1/me/preferences", Access::roles, all, true, false, h(merge_preferences)});
}

}  // namespace zaulek::server
