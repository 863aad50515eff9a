#include "server/api/cameras.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "onvif/client/client.h"
#include "server/api/params.h"
#include "server/api/sites.h"
#include "server/cameras/cameras.h"
#include "server/recording/recording.h"
#include "server/security/visibility.h"

namespace zaulek::server {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxName = 128;
constexpr std::size_t kMaxUrl = 2048;
constexpr std::size_t kMaxUsername = 128;
constexpr std::size_t kMaxPassword = 256;
constexpr std::size_t kMaxTargets = 256;
constexpr std::size_t kMaxProfileToken = 64;  // ONVIF ReferenceToken: at most 64 characters

// recording {mode, retention_days} (either may be absent); fills what is given.
bool read_recording(const json& body, int max_age_days, std::optional<storage::RecordingMode>& mode,
                    std::optional<int>& days, std::string& error) {
  auto it = body.find("recording");
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_object()) {
    error = "'recording' must be an object {mode, retention_days}";
    return false;
  }
  if (auto m = it->find("mode"); m != it->end()) {
    auto parsed = m->is_string() ? storage::parse_recording_mode(m->get<std::string>())
                                 : std::optional<storage::RecordingMode>();
    if (!parsed) {
      error = "'recording.mode' must be continuous, events or off";
      return false;
    }
    mode = parsed;
  }
  if (auto d = it->find("retention_days"); d != it->end()) {
    if (!d->is_number_integer() || d->get<std::int64_t>() < 1 ||
        d->get<std::int64_t>() > max_age_days) {
      error = "'recording.retention_days' must be an integer from 1 to " +
              std::to_string(max_age_days) + " (retention.max_age_days)";
      return false;
    }
    days = static_cast<int>(d->get<std::int64_t>());
  }
  return true;
}

json stream_json(const storage::Stream& s) {
  return {{"kind", std::string(storage::to_string(s.kind))},
          {"profile_token", s.profile_token},
          {"rtsp_uri", s.rtsp_uri},
          {"codec", s.codec},
          {"width", s.width},
          {"height", s.height}};
}

json sighting_json(const Sighting& s) {
  return {{"onvif_url", s.onvif_url},
          {"endpoint", s.endpoint},
          {"via", s.via},
          {"first_seen", format_rfc3339(s.first_seen)},
          {"last_seen", format_rfc3339(s.last_seen)}};
}

// An optional boolean field: nullopt when absent; error text when wrong.
std::optional<bool> opt_bool(const json& body, const char* name, std::string& error) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) {
    error = std::string("'") + name + "' must be true or false";
    return std::nullopt;
  }
  return it->get<bool>();
}

// How the camera is pulled (migration 0016): "rtsp_transport" and
// "sub_pull"; nullopt when absent, error text when wrong.
template <typename T>
std::optional<T> opt_choice(const json& body, const char* name,
                            std::optional<T> (*parse)(std::string_view), const char* choices,
                            std::string& error) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  std::optional<T> v = it->is_string() ? parse(it->get<std::string>()) : std::nullopt;
  if (!v) error = std::string("'") + name + "' must be " + choices;
  return v;
}

std::optional<storage::RtspTransport> opt_transport(const json& body, std::string& error) {
  return opt_choice(body, "rtsp_transport", storage::parse_rtsp_transport, "tcp or udp", error);
}

std::optional<storage::SubPull> opt_sub_pull(const json& body, std::string& error) {
  return opt_choice(body, "sub_pull", storage::parse_sub_pull, "watched or always", error);
}

// Never the password, never the user name: credentials stay in the server.
json camera_json(const storage::Camera& c, const std::vector<storage::Stream>& streams,
                 const std::optional<CameraState>& st) {
  json s = json::array();
  for (const auto& x : streams) s.push_back(stream_json(x));
  json j = {{"id", c.id},
            {"name", c.name},
            {"onvif_url", c.onvif_url},
            {"manufacturer", c.manufacturer},
            {"model", c.model},
            {"serial", c.serial},
            {"hardware_id", c.hardware_id},
            {"endpoint", c.endpoint_ref},
            {"recording",
             {{"mode", std::string(storage::to_string(c.recording_mode))},
              {"retention_days", c.retention_days}}},
            {"streams", s},
            {"allow_basic_auth", c.allow_basic_auth},
            {"rtsp_transport", std::string(storage::to_string(c.rtsp_transport))},
            {"sub_pull", std::string(storage::to_string(c.sub_pull))},
            {"site_id", c.site_id ? json(std::to_string(*c.site_id)) : json(nullptr)},
            {"plan_x", c.plan_position ? json(c.plan_position->x) : json(nullptr)},
            {"plan_y", c.plan_position ? json(c.plan_position->y) : json(nullptr)},
            {"created", format_rfc3339(c.created)},
            {"updated", format_rfc3339(c.updated)}};
  if (st) {
    j["status"] = std::string(to_string(st->status));
    j["status_reason"] = st->reason;
    j["status_since"] = format_rfc3339(st->since);
    j["last_seen"] =
        st->last_seen == WallTime{} ? json(nullptr) : json(format_rfc3339(st->last_seen));
    j["clock_offset_s"] = st->clock_offset_s;
    j["snapshot_uri"] = st->snapshot_uri.empty() ? json(nullptr) : json(st->snapshot_uri);
    j["sighting"] = st->sighting ? sighting_json(*st->sighting) : json(nullptr);
  } else {
    j["status"] = "connecting";
    j["status_reason"] = "";
    j["status_since"] = format_rfc3339(c.created);
    j["last_seen"] = nullptr;
    j["clock_offset_s"] = 0;
    j["snapshot_uri"] = nullptr;
    j["sighting"] = nullptr;
  }
  return j;
}

// ONVIF errors while adding a camera, as the administrator should read them.
Response onboarding_error(const Error& e) {
  switch (e.kind) {
    case ErrorKind::unauthenticated:
      return error_response(422, "camera_unauthorized",
                            "the camera refused the username or password: " + e.message);
    case ErrorKind::unavailable:
      return error_response(502, "camera_unreachable", "cannot reach the camera: " + e.message);
    case ErrorKind::deadline_exceeded:
      return error_response(504, "camera_timeout",
                            "the camera did not answer in time: " + e.message);
    case ErrorKind::invalid_argument:
    case ErrorKind::resource_exhausted:
      return error_response(502, "camera_bad_reply",
                            "the camera's reply could not be used: " + e.message);
    case ErrorKind::failed_precondition:
      return error_response(502, "camera_error", "the camera refused a request: " + e.message);
    case ErrorKind::already_exists:
      return error_response(409, "already_exists", e.message);
    default:
      return error_response(e);
  }
}

std::vector<storage::Stream> streams_of(ApiContext& ctx, const std::string& id) {
  auto s = ctx.catalog->list_streams(id);
  return s ? *s : std::vector<storage::Stream>{};
}

// A discovered device as scans and the device list show it; `known` tells
// whether a catalogued camera has its endpoint reference or one of its XAddrs.
json device_json(const onvif::DiscoveryTarget& d,
                 const Result<std::vector<storage::Camera>>& known) {
  std::string name, hardware;
  for (const auto& s : d.scopes) {
    auto take = [&](std::string_view prefix, std::string& out) {
      if (s.rfind(prefix, 0) == 0 && out.empty()) out = s.substr(prefix.size());
    };
    take("onvif://www.onvif.org/name/", name);
    take("onvif://www.onvif.org/hardware/", hardware);
  }
  std::string known_id;
  if (known)
    for (const auto& c : *known)
      if ((!c.endpoint_ref.empty() && c.endpoint_ref == d.endpoint) ||
          std::find(d.xaddrs.begin(), d.xaddrs.end(), c.onvif_url) != d.xaddrs.end())
        known_id = c.id;
  return {{"endpoint", d.endpoint},
          {"xaddrs", d.xaddrs},
          {"scopes", d.scopes},
          {"name", name},
          {"hardware", hardware},
          {"known", !known_id.empty()},
          {"camera_id", known_id.empty() ? json(nullptr) : json(known_id)}};
}

Response discovered_devices(ApiContext& ctx, Request&) {
  auto known = ctx.catalog->list_cameras();
  json devices = json::array();
  for (const auto& d : ctx.cameras->discovered()) {
    json j = device_json(d.target, known);
    j["via"] = d.via;
    j["first_seen"] = format_rfc3339(d.first_seen);
    j["last_seen"] = format_rfc3339(d.last_seen);
    devices.push_back(std::move(j));
  }
  return json_response(200, {{"devices", devices}});
}

Response scan(ApiContext& ctx, Request& req) {
  const json& body = *req.json;
  if (!body.is_object()) return bad("body must be a JSON object");
  auto timeout = ctx.cameras->options().discovery_timeout;
  if (auto it = body.find("timeout_ms"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 100 ||
        it->get<std::int64_t>() > 30000)
      return bad("'timeout_ms' must be an integer from 100 to 30000");
    timeout = std::chrono::milliseconds(it->get<std::int64_t>());
  }
  std::vector<std::string> targets;
  if (auto it = body.find("targets"); it != body.end() && !it->is_null()) {
    if (!it->is_array() || it->size() > kMaxTargets)
      return bad("'targets' must be an array of at most " + std::to_string(kMaxTargets) +
                 " IPv4 addresses");
    for (const auto& t : *it) {
      if (!t.is_string()) return bad("'targets' must hold strings");
      auto p = onvif::parse_target(t.get<std::string>(), 3702);
      if (!p) return bad(p.error().message);
      targets.push_back(t.get<std::string>());
    }
  }
  std::vector<Cameras::Moved> moved;
  auto r = ctx.cameras->scan(timeout, targets, &moved);
  if (!r) return error_response(503, "discovery_failed", r.error().message);
  for (const auto& m : moved)
    ctx.audit->record(
        req.principal->name, m.followed ? "camera.moved" : "camera.sighted", "camera:" + m.id,
        json{{"from", m.from}, {"to", m.to}, {"endpoint", m.endpoint}, {"via", m.via}}.dump(),
        req.remote);
  auto known = ctx.catalog->list_cameras();
  json devices = json::array();
  for (const auto& d : r->devices) devices.push_back(device_json(d, known));
  ctx.audit->record(req.principal->name, "discovery.scan", "discovery",
                    json{{"targets", targets.size()},
                         {"timeout_ms", timeout.count()},
                         {"devices", r->devices.size()}}
                        .dump(),
                    req.remote);
  return json_response(
      200, {{"devices", devices}, {"warnings", r->warnings}, {"multicast", r->multicast_sent}});
}

Response list_cameras(ApiContext& ctx, Request& req) {
  // ?site=ID|none: the cameras of one site, or of none.
  auto site = site_query(req);
  if (!site) return error_response(site.error());
  if (auto missing = unknown_site(*ctx.catalog, *site)) return *missing;
  auto cams = ctx.catalog->list_cameras();
  if (!cams) return error_response(cams.error());
  auto states = ctx.cameras->states();
  json arr = json::array();
  for (const auto& c : *cams) {
    if (!may_see(*req.principal, c.id)) continue;
    if (*site && c.site_id.value_or(0) != **site) continue;
    auto it = states.find(c.id);
    arr.push_back(camera_json(c, streams_of(ctx, c.id),
                              it == states.end() ? std::nullopt : std::optional(it->second)));
  }
  return json_response(200, {{"cameras", arr}});
}

Response get_camera(ApiContext& ctx, Request& req) {
  const std::string& id = req.params.at("id");
  if (!may_see(*req.principal, id)) return camera_not_found(id);
  auto c = ctx.catalog->find_camera(id);
  if (!c) return error_response(c.error());
  json j = camera_json(*c, streams_of(ctx, id), ctx.cameras->state(id));
  // The recorder's state: recording, connecting, backoff (with why), or off.
  auto rec = ctx.recording ? ctx.recording->status(id) : std::nullopt;
  json& r = j["recording"];
  if (rec) {
    r["state"] = rec->state;
    r["state_detail"] = rec->detail;
    r["state_since"] = format_rfc3339(rec->since);
    r["segments"] = rec->segments;
    r["frames"] = rec->frames;
    r["restarts"] = rec->restarts;
    r["packets_lost"] = rec->packets_lost;
  } else {
    r["state"] = c->recording_mode == storage::RecordingMode::off ? "off" : "stopped";
  }
  return json_response(200, j);
}

Response add_camera(ApiContext& ctx, Request& req) {
  const json& body = *req.json;
  if (!body.is_object()) return bad("body must be a JSON object");
  std::string err;
  AddCamera a;
  auto url_field = optional_string_field(body, "onvif_url", kMaxUrl);
  if (!url_field) return error_response(url_field.error());
  auto& url = *url_field;
  if (!url) return bad("'onvif_url' is required (http://HOST[:PORT]/onvif/device_service)");
  if (auto u = onvif::parse_http_url(*url); !u) return bad(u.error().message);
  a.onvif_url = *url;
  auto user_field = optional_string_field(body, "username", kMaxUsername);
  if (!user_field) return error_response(user_field.error());
  auto& user = *user_field;
  auto password_field = optional_string_field(body, "password", kMaxPassword);
  if (!password_field) return error_response(password_field.error());
  auto& password = *password_field;
  if (!user || !password)
    return bad(
        "'username' and 'password' are required (empty strings for a camera without "
        "authentication)");
  if (has_control_chars(*user, TextLines::one)) return bad("'username' has control characters");
  a.username = *user;
  a.password = *password;
  auto name_field = optional_string_field(body, "name", kMaxName);
  if (!name_field) return error_response(name_field.error());
  auto& name = *name_field;
  if (name) {
    if (name->empty() || has_control_chars(*name, TextLines::one))
      return bad("'name' must be 1 to 128 printable characters");
    a.name = *name;
  }
  auto endpoint_field = optional_string_field(body, "endpoint", 256);
  if (!endpoint_field) return error_response(endpoint_field.error());
  auto& endpoint = *endpoint_field;
  if (endpoint) {
    if (has_control_chars(*endpoint, TextLines::one))
      return bad("'endpoint' has control characters");
    a.endpoint = *endpoint;
  }
  int max_age = ctx.cameras->options().max_age_days;
  std::optional<storage::RecordingMode> mode;
  std::optional<int> days;
  if (!read_recording(body, max_age, mode, days, err)) return bad(err);
  a.mode = mode.value_or(storage::RecordingMode::continuous);
  a.retention_days = days.value_or(max_age);
  auto basic = opt_bool(body, "allow_basic_auth", err);
  if (!err.empty()) return bad(err);
  a.allow_basic_auth = basic.value_or(false);
  // The site it watches and its place on the plan, as PATCH takes them.
  if (auto it = body.find("site_id"); it != body.end()) {
    auto v = site_id_field(*it, "site_id");
    if (!v) return error_response(v.error());
    a.site_id = *v;
  }
  auto point = plan_point_fields(body);
  if (!point) return error_response(point.error());
  if (*point && **point) {
    if (!a.site_id) return bad("'plan_x' and 'plan_y' need the camera in a site (site_id)");
    a.plan_position = **point;
  }
  if (a.site_id)  // before the device is asked anything
    if (auto s = ctx.catalog->find_site(*a.site_id); !s) return error_response(s.error());
  auto transport = opt_transport(body, err);
  auto sub_pull = opt_sub_pull(body, err);
  if (!err.empty()) return bad(err);
  a.rtsp_transport = transport.value_or(storage::RtspTransport::tcp);
  a.sub_pull = sub_pull.value_or(storage::SubPull::watched);

  auto added = ctx.cameras->add(a);
  if (!added) {
    spdlog::info("cameras: adding {} failed: {}", a.onvif_url, added.error().message);
    ctx.audit->record(req.principal->name, "camera.add_failed", "camera_url:" + a.onvif_url,
                      json{{"onvif_url", a.onvif_url},
                           {"error", std::string(to_string(added.error().kind))},
                           {"message", added.error().message}}
                          .dump(),
                      req.remote);
    return onboarding_error(added.error());
  }
  const auto& c = added->camera;
  ctx.audit->record(req.principal->name, "camera.add", "camera:" + c.id,
                    json{{"name", c.name},
                         {"onvif_url", c.onvif_url},
                         {"manufacturer", c.manufacturer},
                         {"model", c.model},
                         {"recording_mode", std::string(storage::to_string(c.recording_mode))},
                         {"retention_days", c.retention_days},
                         {"allow_basic_auth", c.allow_basic_auth},
                         {"site_id", c.site_id ? json(std::to_string(*c.site_id)) : json(nullptr)},
                         {"rtsp_transport", std::string(storage::to_string(c.rtsp_transport))},
                         {"sub_pull", std::string(storage::to_string(c.sub_pull))}}
                        .dump(),
                    req.remote);
  if (c.site_id) publish_camera_site(ctx, c, std::nullopt);
  return json_response(201, camera_json(c, added->streams, added->state));
}

Response patch_camera(ApiContext& ctx, Request& req) {
  const json& body = *req.json;
  if (!body.is_object()) return bad("body must be a JSON object");
  std::string err;
  auto name_field = optional_string_field(body, "name", kMaxName);
  if (!name_field) return error_response(name_field.error());
  auto& name = *name_field;
  if (name && (name->empty() || has_control_chars(*name, TextLines::one)))
    return bad("'name' must be 1 to 128 printable characters");
  std::optional<storage::RecordingMode> mode;
  std::optional<int> days;
  if (!read_recording(body, ctx.cameras->options().max_age_days, mode, days, err)) return bad(err);
  auto basic = opt_bool(body, "allow_basic_auth", err);
  if (!err.empty()) return bad(err);
  auto transport = opt_transport(body, err);
  auto sub_pull = opt_sub_pull(body, err);
  if (!err.empty()) return bad(err);
  if (body.contains("onvif_url"))
    return bad("'onvif_url' is changed by POST /api/v1/cameras/{id}/move, which checks the device");
  for (const char* secret : {"password", "username"})
    if (body.contains(secret))
      return bad(std::string("'") + secret +
                 "' cannot be changed; delete the camera and add it again");
  // The site (a site id or null) and the place on its plan (plan_x and
  // plan_y in 0..1, or both null).
  std::optional<std::optional<std::int64_t>> site;
  if (auto it = body.find("site_id"); it != body.end()) {
    auto v = site_id_field(*it, "site_id");
    if (!v) return error_response(v.error());
    site = *v;
  }
  auto point = plan_point_fields(body);
  if (!point) return error_response(point.error());
  if (!name && !mode && !days && !basic && !site && !*point && !transport && !sub_pull)
    return bad(
        "nothing to change: give name, recording, allow_basic_auth, rtsp_transport, sub_pull, "
        "site_id and/or plan_x and plan_y");
  const std::string& id = req.params.at("id");
  auto c = ctx.catalog->find_camera(id);
  if (!c) return error_response(c.error());
  if (site && *site) {
    if (auto s = ctx.catalog->find_site(**site); !s) return error_response(s.error());
  }
  json changes = json::object();
  const std::optional<std::int64_t> before_site = c->site_id;
  if (site && *site != c->site_id) {
    auto text = [](const std::optional<std::int64_t>& v) {
      return v ? json(std::to_string(*v)) : json(nullptr);
    };
    changes["site_id"] = {{"from", text(c->site_id)}, {"to", text(*site)}};
    c->site_id = *site;
    // A place on the old site's plan means nothing on the new one.
    if (!*point && c->plan_position) {
      changes["plan_position"] = {{"from", json::array({c->plan_position->x, c->plan_position->y})},
                                  {"to", nullptr}};
      c->plan_position.reset();
    }
  }
  if (*point) {
    const auto& p = **point;
    if (p && !c->site_id) return bad("'plan_x' and 'plan_y' need the camera in a site (site_id)");
    if (p != c->plan_position) {
      auto text = [](const std::optional<storage::PlanPoint>& v) {
        return v ? json::array({v->x, v->y}) : json(nullptr);
      };
      changes["plan_position"] = {{"from", text(c->plan_position)}, {"to", text(p)}};
      c->plan_position = p;
    }
  }
  if (name) {
    changes["name"] = {{"from", c->name}, {"to", *name}};
    c->name = *name;
  }
  if (mode) {
    changes["recording_mode"] = {{"from", std::string(storage::to_string(c->recording_mode))},
                                 {"to", std::string(storage::to_string(*mode))}};
    c->recording_mode = *mode;
  }
  if (days) {
    changes["retention_days"] = {{"from", c->retention_days}, {"to", *days}};
    c->retention_days = *days;
  }
  if (basic) {
    changes["allow_basic_auth"] = {{"from", c->allow_basic_auth}, {"to", *basic}};
    c->allow_basic_auth = *basic;
  }
  if (transport) {
    changes["rtsp_transport"] = {{"from", std::string(storage::to_string(c->rtsp_transport))},
                                 {"to", std::string(storage::to_string(*transport))}};
    c->rtsp_transport = *transport;
  }
  if (sub_pull) {
    changes["sub_pull"] = {{"from", std::string(storage::to_string(c->sub_pull))},
                           {"to", std::string(storage::to_string(*sub_pull))}};
    c->sub_pull = *sub_pull;
  }
  auto u = ctx.cameras->update(*c);
  if (!u) return error_response(u.error());
  ctx.audit->record(req.principal->name, "camera.update", "camera:" + id, changes.dump(),
                    req.remote);
  if (changes.contains("site_id") || changes.contains("plan_position"))
    publish_camera_site(ctx, *u, before_site);
  return json_response(200, camera_json(*u, streams_of(ctx, id), ctx.cameras->state(id)));
}

// An administrator confirms a move (a sighting, or a camera re-addressed by
// hand): onboarded at the new address before anything is stored.
Response move_camera(ApiContext& ctx, Request& req) {
  const json& body = *req.json;
  if (!body.is_object()) return bad("body must be a JSON object");
  auto url_field = optional_string_field(body, "onvif_url", kMaxUrl);
  if (!url_field) return error_response(url_field.error());
  auto& url = *url_field;
  if (!url) return bad("'onvif_url' is required (http://HOST[:PORT]/onvif/device_service)");
  if (auto u = onvif::parse_http_url(*url); !u) return bad(u.error().message);
  const std::string& id = req.params.at("id");
  auto before = ctx.catalog->find_camera(id);
  if (!before) return error_response(before.error());
  auto moved = ctx.cameras->move(id, *url);
  if (!moved) {
    ctx.audit->record(req.principal->name, "camera.move_failed", "camera:" + id,
                      json{{"from", before->onvif_url},
                           {"to", *url},
                           {"error", std::string(to_string(moved.error().kind))},
                           {"message", moved.error().message}}
                          .dump(),
                      req.remote);
    if (moved.error().kind == ErrorKind::failed_precondition &&
        moved.error().message.find("is not camera") != std::string::npos)
      return error_response(409, "camera_identity_mismatch", moved.error().message);
    if (moved.error().kind == ErrorKind::not_found) return error_response(moved.error());
    return onboarding_error(moved.error());
  }
  ctx.audit->record(
      req.principal->name, "camera.moved", "camera:" + id,
      json{{"from", before->onvif_url}, {"to", *url}, {"via", "administrator"}}.dump(), req.remote);
  return json_response(200, camera_json(moved->camera, moved->streams, moved->state));
}

// GET /api/v1/cameras/{id}/profiles: the camera's media profiles as it
// lists them now (asked over ONVIF) and the ones its streams use.
Response camera_profiles(ApiContext& ctx, Request& req) {
  const std::string& id = req.params.at("id");
  auto got = ctx.cameras->profiles(id);
  if (!got) {
    if (got.error().kind == ErrorKind::not_found) return error_response(got.error());
    return onboarding_error(got.error());
  }
  json arr = json::array();
  for (const auto& p : got->profiles)
    arr.push_back({{"token", p.token},
                   {"name", p.name},
                   {"encoding", p.encoding},
                   {"width", p.width},
                   {"height", p.height}});
  json streams = json::array();
  for (const auto& s : streams_of(ctx, id)) streams.push_back(stream_json(s));
  return json_response(200, {{"camera_id", id},
                             {"profiles", arr},
                             {"main_profile", got->main.token},
                             {"sub_profile", got->sub.token},
                             {"streams", streams}});
}

// PUT /api/v1/cameras/{id}/streams {main_profile, sub_profile}: the
// profiles the main and sub streams use; their URIs are asked of the camera
// before anything is stored.
Response choose_streams(ApiContext& ctx, Request& req) {
  const json& body = *req.json;
  if (!body.is_object()) return bad("body must be a JSON object {main_profile, sub_profile}");
  for (const auto& item : body.items())
    if (item.key() != "main_profile" && item.key() != "sub_profile")
      return bad("unknown field '" + item.key().substr(0, 64) + "' (main_profile, sub_profile)");
  onvif::ProfileWish wish;
  const std::pair<const char*, std::string*> fields[] = {{"main_profile", &wish.main},
                                                         {"sub_profile", &wish.sub}};
  for (auto [name, out] : fields) {
    auto v = string_field(body, name, kMaxProfileToken);
    if (!v) return error_response(v.error());
    if (v->empty() || has_control_chars(*v, TextLines::one))
      return bad(std::string("'") + name + "' must be a profile token (1 to 64 printable bytes)");
    *out = *v;
  }
  const std::string& id = req.params.at("id");
  std::vector<storage::Stream> before = streams_of(ctx, id);
  auto chosen = ctx.cameras->choose_streams(id, wish);
  if (!chosen) {
    if (chosen.error().kind == ErrorKind::not_found) return error_response(chosen.error());
    if (chosen.error().kind == ErrorKind::invalid_argument &&
        chosen.error().message.find("has no profile") != std::string::npos)
      return error_response(chosen.error());
    return onboarding_error(chosen.error());
  }
  auto token_of = [](const std::vector<storage::Stream>& streams, storage::StreamKind kind) {
    for (const auto& s : streams)
      if (s.kind == kind) return json(s.profile_token);
    return json(nullptr);
  };
  json changes = json::object();
  const std::pair<storage::StreamKind, const char*> kinds[] = {
      {storage::StreamKind::main, "main_profile"}, {storage::StreamKind::sub, "sub_profile"}};
  for (auto [kind, name] : kinds)
    changes[name] = {{"from", token_of(before, kind)}, {"to", token_of(chosen->streams, kind)}};
  ctx.audit->record(req.principal->name, "camera.streams", "camera:" + id, changes.dump(),
                    req.remote);
  return json_response(200, camera_json(chosen->camera, chosen->streams, chosen->state));
}

Response delete_camera(ApiContext& ctx, Request& req) {
  const std::string& id = req.params.at("id");
  auto c = ctx.catalog->find_camera(id);
  if (!c) return error_response(c.error());
  if (auto st = ctx.cameras->remove(id); !st) return error_response(st.error());
  ctx.audit->record(req.principal->name, "camera.delete", "camera:" + id,
                    json{{"name", c->name}, {"onvif_url", c->onvif_url}}.dump(), req.remote);
  return json_response(200, {{"id", id}, {"status", "deleted"}});
}

}  // namespace

void register_camera_routes(Router& router, ApiContext& ctx) {
  const RoleSet all = RoleSet::all();
  const RoleSet admin{Role::administrator};
  auto h = service_handlers(ctx, "camera",
                            [](const ApiContext& c) { return c.cameras && c.catalog && c.audit; });
  // Scans and anything that talks to a camera before answering (onboarding,
  // a move) run on the slow pool (server/http/routes.h, Speed::slow).
  router.add(
      {"POST", "/api/v1/discovery/scan", Access::roles, admin, true, false, h(scan), Speed::slow});
  router.add({"GET", "/api/v1/discovery/devices", Access::roles, admin, false, false,
              h(discovered_devices)});
  router.add({"GET", "/api/v1/cameras", Access::roles, all, false, false, h(list_cameras)});
  router.add(
      {"POST", "/api/v1/cameras", Access::roles, admin, true, false, h(add_camera), Speed::slow});
  router.add({"GET", "/api/v1/cameras/{id}", Access::roles, all, false, false, h(get_camera)});
  // PATCH stores only (a new address goes through /move, which probes).
  router.add({"PATCH", "/api/v1/cameras/{id}", Access::roles, admin, true, false, h(patch_camera)});
  router.add(
      {"DELETE", "/api/v1/cameras/{id}", Access::roles, admin, false, false, h(delete_camera)});
  router.add({"POST", "/api/v1/cameras/{id}/move", Access::roles, admin, true, false,
              h(move_camera), Speed::slow});
  // Both ask the camera (ONVIF) before they answer.
  router.add({"GET", "/api/v1/cameras/{id}/profiles", Access::roles, admin, false, false,
              h(camera_profiles), Speed::slow});
  router.add({"PUT", "/api/v1/cameras/{id}/streams", Access::roles, admin, true, false,
              h(choose_streams), Speed::slow});
}

}  // namespace zaulek::server
