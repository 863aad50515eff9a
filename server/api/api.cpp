#include "server/api/api.h"

#include "server/api/params.h"
#include "server/security/visibility.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/camera_faults.h"
#include "server/api/alarms.h"
#include "server/api/bookmarks.h"
#include "server/api/cameras.h"
#include "server/api/events.h"
#include "server/api/evidence/exports.h"
#include "server/api/keys.h"
#include "server/api/media/live.h"
#include "server/api/media/playback.h"
#include "server/api/media/snapshots.h"
#include "server/api/recordings.h"
#include "server/api/sites.h"
#include "server/events/events.h"
#include "server/events/notify.h"
#include "server/http/dispatch.h"
#include "server/live/live.h"
#include "server/live/snapshots.h"
#include "server/playback/playback.h"
#include "server/recording/recording.h"
#include "server/security/users.h"

namespace zaulek::server {

namespace {

using nlohmann::json;

std::string session_cookie(const std::string& token, std::chrono::seconds max_age, bool tls) {
  std::string c = std::string(kSessionCookie) + "=" + token +
                  "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + std::to_string(max_age.count());
  if (tls) c += "; Secure";
  return c;
}

Response login(ApiContext& ctx, Request& req) {
  auto user = string_field(*req.json, "username", kMaxUserNameLength);
  if (!user) return error_response(user.error());
  auto password = string_field(*req.json, "password", kMaxPasswordLength);
  if (!password) return error_response(password.error());
  std::optional<LoginRefusal> refusal;
  auto r = ctx.auth->login(*user, *password, req.remote, &refusal);
  if (!r) {
    Response resp = error_response(r.error());
    if (refusal && refusal->retry_after)
      resp.headers.emplace_back("Retry-After", std::to_string(refusal->retry_after->count()));
    if (resp.status == 401) resp.headers.emplace_back("WWW-Authenticate", "Bearer");
    return resp;
  }
  Response resp = json_response(200, {{"token", r->token},
                                      {"role", to_string(r->role)},
                                      {"user", r->user_name},
                                      {"csrf_token", r->csrf_token},
                                      {"expires", format_rfc3339(r->expires)}});
  resp.headers.emplace_back("Set-Cookie", session_cookie(r->token, ctx.session_ttl, ctx.tls));
  return resp;
}

Response logout(ApiContext& ctx, Request& req) {
  if (auto st = ctx.auth->logout(*req.principal, req.remote); !st)
    return error_response(st.error());
  // The WebSockets opened with this token end with it.
  if (ctx.hub) ctx.hub->close_session(req.principal->session_id, close_reason::kLoggedOut);
  Response resp = json_response(200, {{"status", "logged_out"}});
  // Expire the cookie too (harmless for Bearer clients).
  std::string c = std::string(kSessionCookie) + "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0";
  if (ctx.tls) c += "; Secure";
  resp.headers.emplace_back("Set-Cookie", c);
  return resp;
}

Response me(ApiContext&, Request& req) {
  const Principal& p = *req.principal;
  return json_response(200, {{"id", std::to_string(p.user_id)},
                             {"name", p.name},
                             {"role", to_string(p.role)},
                             {"csrf_token", p.csrf_token}});
}

Response list_users(ApiContext& ctx, Request&) {
  auto users = ctx.catalog->list_users();
  if (!users) return error_response(users.error());
  json arr = json::array();
  for (auto& u : *users) arr.push_back(user_json(u));
  return json_response(200, {{"users", arr}});
}

Response add_user(ApiContext& ctx, Request& req) {
  auto name = string_field(*req.json, "name", kMaxUserNameLength);
  if (!name) return error_response(name.error());
  auto password = string_field(*req.json, "password", kMaxPasswordLength);
  if (!password) return error_response(password.error());
  auto role_text = string_field(*req.json, "role", 32);
  if (!role_text) return error_response(role_text.error());
  auto role = parse_role(*role_text);
  if (!role)
    return error_response(400, "invalid_argument",
                          "'role' must be operator, administrator or investigator");
  auto u = create_user(*ctx.catalog, *ctx.audit, *name, *role, *password,
                       ctx.auth->password_hash_cost(), req.principal->name, req.remote);
  if (!u) return error_response(u.error());
  return json_response(201, user_json(*u));
}

Response list_audit(ApiContext& ctx, Request& req) {
  auto after = int_query(req, "after", 0, 0, INT64_MAX);
  if (!after) return error_response(after.error());
  auto limit = int_query(req, "limit", 100, 1, 1000);
  if (!limit) return error_response(limit.error());
  // A user restricted to some cameras reads nothing about the others.
  auto rows =
      ctx.catalog->list_audit(*after, static_cast<int>(*limit), visible_cameras(*req.principal));
  if (!rows) return error_response(rows.error());
  json arr = json::array();
  std::int64_t last = *after;
  for (auto& e : *rows) {
    auto detail = json::parse(e.detail, nullptr, false);
    if (detail.is_discarded()) detail = json::object();
    arr.push_back({{"id", std::to_string(e.id)},
                   {"time", format_rfc3339(e.time)},
                   {"actor", e.actor},
                   {"action", e.action},
                   {"target", e.target},
                   {"detail", detail},
                   {"remote", e.remote},
                   // Not prev_hash: for a user restricted to some cameras it
                   // is the hash of an entry they may not see, a target for
                   // guessing that entry (low-entropy fields, a known time window).
                   {"hash", e.hash}});
    last = std::max(last, e.id);
  }
  return json_response(200, {{"entries", arr}, {"next_after", std::to_string(last)}});
}

Response metrics(ApiContext& ctx, Request&) {
  Metrics::Extra extra;
  extra.uptime_seconds =
      std::chrono::duration<double>(ctx.clock->monotonic() - ctx.started).count();
  extra.login_failures = ctx.auth->login_failures();
  if (ctx.hub) {
    extra.ws_published = ctx.hub->published();
    extra.ws_sessions = ctx.hub->sessions();
    extra.ws_ring_bytes = ctx.hub->ring_bytes();
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = ctx.metrics->render(ctx.version, extra);
  if (ctx.recording) r.body += ctx.recording->metrics_text();
  if (ctx.events) r.body += ctx.events->metrics_text();
  if (ctx.notify) r.body += ctx.notify->metrics_text();
  if (ctx.snapshots) r.body += ctx.snapshots->metrics_text();
  if (ctx.live) r.body += ctx.live->metrics_text();
  if (ctx.playback) r.body += ctx.playback->metrics_text();
  r.body += camera_faults_metrics();  // zaulek_camera_faults_total{kind}
  return r;
}

}  // namespace

void register_routes(Router& router, ApiContext& ctx) {
  const RoleSet all = RoleSet::all();
  const RoleSet admin{Role::administrator};
  auto h = [&ctx](Response (*fn)(ApiContext&, Request&)) {
    return [&ctx, fn](Request& r) { return fn(ctx, r); };
  };
  // Argon2id: login and a new user's password hash on the slow pool.
  router.add(
      {"POST", "/api/v1/auth/login", Access::public_, {}, true, false, h(login), Speed::slow});
  router.add({"POST", "/api/v1/auth/logout", Access::roles, all, false, false, h(logout)});
  router.add({"GET", "/api/v1/auth/me", Access::roles, all, false, false, h(me)});
  router.add({"GET", "/api/v1/users", Access::roles, admin, false, false, h(list_users)});
  router.add(
      {"POST", "/api/v1/users", Access::roles, admin, true, false, h(add_user), Speed::slow});
  register_visibility_routes(router, ctx);
  register_account_routes(router, ctx);
  router.add({"GET", "/api/v1/audit", Access::roles,
              RoleSet{Role::administrator, Role::investigator}, false, false, h(list_audit)});
  // The upgrade itself is done by the HTTP server once the dispatcher allows it.
  router.add({"GET", "/api/v1/ws", Access::roles, all, false, true, nullptr});
  router.add({"GET", "/healthz", Access::public_, {}, false, false, [](Request&) {
                return json_response(200, {{"status", "ok"}});
              }});
  // Prometheus scrapes locally without credentials; from elsewhere, administrators only.
  router.add({"GET", "/metrics", Access::loopback_or_roles, admin, false, false, h(metrics)});
  register_camera_routes(router, ctx);
  register_snapshot_routes(router, ctx);
  register_event_routes(router, ctx);
  register_recording_routes(router, ctx);
  register_alarm_routes(router, ctx);
  register_notify_routes(router, ctx);
  register_bookmark_routes(router, ctx);
  register_live_routes(router, ctx);
  register_playback_routes(router, ctx);
  register_key_routes(router, ctx);
  register_site_routes(router, ctx);
  register_export_routes(router, ctx);
}

}  // namespace zaulek::server
