#include "server/api/sites.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <map>
#include <mutex>
#include <utility>

#include "core/crypto.h"
#include "core/image/image.h"
#include "server/api/params.h"
#include "server/hub/hub.h"
#include "server/security/visibility.h"
#include "storage/plans.h"

namespace zaulek::server {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxName = 128;
constexpr std::size_t kMaxAddress = 512;

// A pair of numeric fields that come together (latitude and longitude,
// plan_x and plan_y): absent (nullopt), both null (a cleared value) or both
// numbers within their bounds.
struct Bounds {
  const char* name;
  double min, max;
};
using Pair = std::optional<std::pair<double, double>>;

Result<std::optional<Pair>> pair_fields(const json& body, Bounds a, Bounds b) {
  auto ia = body.find(a.name), ib = body.find(b.name);
  const bool has_a = ia != body.end(), has_b = ib != body.end();
  if (!has_a && !has_b) return std::optional<Pair>();
  if (!has_a || !has_b)
    return make_error(ErrorKind::invalid_argument,
                      std::string("'") + a.name + "' and '" + b.name + "' are given together");
  if (ia->is_null() && ib->is_null()) return std::optional<Pair>(Pair());
  double v[2];
  int i = 0;
  for (auto [it, bounds] : {std::pair{ia, a}, std::pair{ib, b}}) {
    // Written so that what is not a finite number in bounds fails.
    if (!it->is_number() || !(it->get<double>() >= bounds.min && it->get<double>() <= bounds.max))
      return make_error(ErrorKind::invalid_argument,
                        std::string("'") + bounds.name + "' must be a number from " +
                            std::to_string(static_cast<int>(bounds.min)) + " to " +
                            std::to_string(static_cast<int>(bounds.max)) +
                            (it->is_null() ? std::string(" (or both null)") : std::string()));
    v[i++] = it->get<double>();
  }
  return std::optional<Pair>(Pair(std::pair(v[0], v[1])));
}

std::optional<std::int64_t> parse_id(const std::string& text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size() || v < 1)
    return std::nullopt;
  return v;
}

Response site_not_found(const std::string& text) {
  return error_response(404, "not_found", "no site '" + text.substr(0, 32) + "'");
}

json opt_number(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

std::string extension(const std::string& content_type) {
  return content_type == "image/png" ? "png" : "jpg";
}

json plan_json(const storage::Site& s) {
  if (!s.plan) return nullptr;
  return {{"content_type", s.plan->content_type},
          {"width", s.plan->width},
          {"height", s.plan->height},
          {"bytes", s.plan->bytes},
          {"sha256", s.plan->sha256},
          {"updated", format_rfc3339(s.plan->updated)},
          {"url", "/api/v1/sites/" + std::to_string(s.id) + "/plan"}};
}

// What a site's row says (the audit's detail too).
json site_fields(const storage::Site& s) {
  return {
      {"name", s.name},
      {"address", s.address},
      {"latitude", opt_number(s.position ? std::optional(s.position->latitude) : std::nullopt)},
      {"longitude", opt_number(s.position ? std::optional(s.position->longitude) : std::nullopt)},
      {"plan_x", opt_number(s.plan_position ? std::optional(s.plan_position->x) : std::nullopt)},
      {"plan_y", opt_number(s.plan_position ? std::optional(s.plan_position->y) : std::nullopt)}};
}

// The cameras of every site that `principal` may see, and the open alarms
// of each camera: read once per request.
struct Members {
  std::map<std::int64_t, std::vector<storage::Camera>> by_site;
  std::map<std::string, std::int64_t> open_alarms;
};

Result<Members> members(ApiContext& ctx, const Principal& principal) {
  auto cams = ctx.catalog->list_cameras();
  if (!cams) return cams.error();
  auto open = ctx.catalog->open_alarm_counts();
  if (!open) return open.error();
  Members m;
  m.open_alarms = std::move(*open);
  for (auto& c : *cams)
    if (c.site_id && may_see(principal, c.id)) m.by_site[*c.site_id].push_back(std::move(c));
  return m;
}

json site_json(const storage::Site& s, const Members& m) {
  json j = site_fields(s);
  j["id"] = std::to_string(s.id);
  j["plan"] = plan_json(s);
  json cams = json::array();
  std::int64_t open_total = 0;
  if (auto it = m.by_site.find(s.id); it != m.by_site.end()) {
    for (const auto& c : it->second) {
      auto a = m.open_alarms.find(c.id);
      const std::int64_t open = a == m.open_alarms.end() ? 0 : a->second;
      open_total += open;
      cams.push_back({{"id", c.id},
                      {"name", c.name},
                      {"plan_x", c.plan_position ? json(c.plan_position->x) : json(nullptr)},
                      {"plan_y", c.plan_position ? json(c.plan_position->y) : json(nullptr)},
                      {"open_alarms", open}});
    }
  }
  j["cameras"] = std::move(cams);
  j["open_alarms"] = open_total;
  j["created"] = format_rfc3339(s.created);
  j["updated"] = format_rfc3339(s.updated);
  return j;
}

Response one_site(ApiContext& ctx, const Request& req, const storage::Site& s, int status) {
  auto m = members(ctx, *req.principal);
  if (!m) return error_response(m.error());
  return json_response(status, site_json(s, *m));
}

Result<storage::Site> find(ApiContext& ctx, const std::string& text) {
  auto id = parse_id(text);
  if (!id) return make_error(ErrorKind::not_found, "no site '" + text.substr(0, 32) + "'");
  return ctx.catalog->find_site(*id);
}

// The fields of a POST or PATCH body into `s` (`create` requires a name);
// the answer when they are wrong.
std::optional<Response> read_site_body(const json& body, storage::Site& s, bool create,
                                       bool& changed) {
  if (!body.is_object())
    return bad(
        "body must be a JSON object {name, address?, latitude?, longitude?, plan_x?, plan_y?}");
  for (const auto& [key, value] : body.items())
    if (key != "name" && key != "address" && key != "latitude" && key != "longitude" &&
        key != "plan_x" && key != "plan_y")
      return bad("unknown field '" + key.substr(0, 64) + "'");
  changed = false;
  if (create || body.contains("name")) {
    auto name = string_field(body, "name", kMaxName);
    if (!name) return error_response(name.error());
    if (name->find_first_not_of(" \t") == std::string::npos ||
        has_control_chars(*name, TextLines::one))
      return bad("'name' must be 1 to 128 bytes of printable text");
    s.name = *name;
    changed = true;
  }
  auto address = optional_string_field(body, "address", kMaxAddress);
  if (!address) return error_response(address.error());
  if (*address) {
    if (has_control_chars(**address, TextLines::many))
      return bad("'address' has control characters");
    s.address = **address;
    changed = true;
  } else if (body.contains("address")) {  // null clears it
    s.address.clear();
    changed = true;
  }
  auto geo = pair_fields(body, {"latitude", -90, 90}, {"longitude", -180, 180});
  if (!geo) return error_response(geo.error());
  if (*geo) {
    s.position =
        **geo ? std::optional(storage::GeoPoint{(**geo)->first, (**geo)->second}) : std::nullopt;
    changed = true;
  }
  auto plan = plan_point_fields(body);
  if (!plan) return error_response(plan.error());
  if (*plan) {
    s.plan_position = **plan;
    changed = true;
  }
  return std::nullopt;
}

// Catalogue errors of a site write: a taken name is 409 naming it.
Response write_error(const Error& e) {
  if (e.kind == ErrorKind::already_exists) return error_response(409, "already_exists", e.message);
  return error_response(e);
}

Response list_sites(ApiContext& ctx, Request& req) {
  auto sites = ctx.catalog->list_sites();
  if (!sites) return error_response(sites.error());
  auto m = members(ctx, *req.principal);
  if (!m) return error_response(m.error());
  json arr = json::array();
  for (const auto& s : *sites) arr.push_back(site_json(s, *m));
  return json_response(200, {{"sites", arr}});
}

Response get_site(ApiContext& ctx, Request& req) {
  auto s = find(ctx, req.params.at("id"));
  if (!s) return error_response(s.error());
  return one_site(ctx, req, *s, 200);
}

Response add_site(ApiContext& ctx, Request& req) {
  storage::Site s;
  bool changed = false;
  if (auto r = read_site_body(*req.json, s, true, changed)) return *r;
  auto added = ctx.catalog->add_site(s);
  if (!added) return write_error(added.error());
  spdlog::info("sites: {} added site {} '{}'", req.principal->name, added->id, added->name);
  ctx.audit->record(req.principal->name, "site.add", "site:" + std::to_string(added->id),
                    site_fields(*added).dump(), req.remote);
  publish_site(ctx, "added", added->id);
  return one_site(ctx, req, *added, 201);
}

Response patch_site(ApiContext& ctx, Request& req) {
  auto before = find(ctx, req.params.at("id"));
  if (!before) return error_response(before.error());
  storage::Site s = *before;
  bool changed = false;
  if (auto r = read_site_body(*req.json, s, false, changed)) return *r;
  if (!changed)
    return bad("nothing to change: give name, address, latitude and longitude, plan_x and plan_y");
  auto updated = ctx.catalog->update_site(s);
  if (!updated) return write_error(updated.error());
  json changes = json::object();
  json was = site_fields(*before), now = site_fields(*updated);
  for (const auto& [key, value] : now.items())
    if (was[key] != value) changes[key] = {{"from", was[key]}, {"to", value}};
  ctx.audit->record(req.principal->name, "site.update", "site:" + std::to_string(s.id),
                    changes.dump(), req.remote);
  publish_site(ctx, "updated", s.id);
  return one_site(ctx, req, *updated, 200);
}

// Plan uploads and removals of one process, one at a time: the file and the
// row change together (a second upload must not remove the first's file
// between its write and its row).
std::mutex& plan_mutex() {
  static std::mutex mu;
  return mu;
}

Response delete_site(ApiContext& ctx, Request& req) {
  auto s = find(ctx, req.params.at("id"));
  if (!s) return error_response(s.error());
  std::lock_guard lock(plan_mutex());
  if (auto st = ctx.catalog->delete_site(s->id); !st) {
    if (st.error().kind == ErrorKind::failed_precondition)
      return error_response(409, "site_not_empty", st.error().message);
    return error_response(st.error());
  }
  // The row is gone: a plan file left by a failure here is only an orphan.
  if (s->plan)
    if (auto st = ctx.plans->remove(s->id, s->plan->sha256, extension(s->plan->content_type)); !st)
      spdlog::warn("sites: site {} deleted, its plan file not: {}", s->id, st.error().message);
  spdlog::info("sites: {} deleted site {} '{}'", req.principal->name, s->id, s->name);
  json detail = site_fields(*s);
  detail["plan"] = plan_json(*s);
  ctx.audit->record(req.principal->name, "site.delete", "site:" + std::to_string(s->id),
                    detail.dump(), req.remote);
  publish_site(ctx, "deleted", s->id);
  return json_response(200, {{"id", std::to_string(s->id)}, {"status", "deleted"}});
}

Response put_plan(ApiContext& ctx, Request& req) {
  std::string declared = req.header("content-type");
  declared = declared.substr(0, declared.find(';'));
  while (!declared.empty() && (declared.back() == ' ' || declared.back() == '\t'))
    declared.pop_back();
  for (auto& c : declared) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (declared != "image/png" && declared != "image/jpeg")
    return error_response(
        415, "unsupported_media_type",
        "a plan is uploaded as the body with Content-Type image/png or image/jpeg");
  if (req.body.empty()) return bad("the body is empty: send the plan image itself");
  if (req.body.size() > kMaxPlanBytes)  // the transport refuses it first (Route::max_body_bytes)
    return error_response(413, "payload_too_large",
                          "a plan image is at most " + std::to_string(kMaxPlanBytes) + " bytes");
  auto image = inspect_image(req.body);
  if (!image) return bad("the plan is not a usable image: " + image.error().message);
  const std::string type(content_type(image->type));
  if (type != declared) return bad("the body is " + type + " but Content-Type says " + declared);
  auto site_id = parse_id(req.params.at("id"));
  if (!site_id) return site_not_found(req.params.at("id"));

  storage::SitePlan plan;
  plan.content_type = type;
  plan.width = image->width;
  plan.height = image->height;
  plan.bytes = static_cast<std::int64_t>(req.body.size());
  plan.sha256 = crypto::sha256_hex(req.body);

  std::lock_guard lock(plan_mutex());
  auto before = ctx.catalog->find_site(*site_id);
  if (!before) return error_response(before.error());
  // New file first, then the row, then the old file: a crash in between
  // leaves an orphan file, never a row without its file.
  if (auto st = ctx.plans->write(*site_id, plan.sha256, extension(type), req.body); !st)
    return error_response(st.error());
  auto updated = ctx.catalog->set_site_plan(*site_id, plan);
  if (!updated) {
    (void)ctx.plans->remove(*site_id, plan.sha256, extension(type));
    return error_response(updated.error());
  }
  const auto& old = before->plan;
  if (old && (old->sha256 != plan.sha256 || old->content_type != plan.content_type))
    if (auto st = ctx.plans->remove(*site_id, old->sha256, extension(old->content_type)); !st)
      spdlog::warn("sites: the old plan file of site {} stays: {}", *site_id, st.error().message);
  spdlog::info("sites: {} uploaded a {}x{} {} plan for site {} ({} bytes)", req.principal->name,
               plan.width, plan.height, type, *site_id, plan.bytes);
  ctx.audit->record(req.principal->name, "site.plan", "site:" + std::to_string(*site_id),
                    json{{"content_type", type},
                         {"width", plan.width},
                         {"height", plan.height},
                         {"bytes", plan.bytes},
                         {"sha256", plan.sha256},
                         {"replaced", old ? json(old->sha256) : json(nullptr)}}
                        .dump(),
                    req.remote);
  publish_site(ctx, "plan", *site_id);
  return one_site(ctx, req, *updated, old ? 200 : 201);
}

Response get_plan(ApiContext& ctx, Request& req) {
  auto s = find(ctx, req.params.at("id"));
  if (!s) return error_response(s.error());
  if (!s->plan)
    return error_response(404, "not_found", "site " + std::to_string(s->id) + " has no plan");
  auto bytes =
      ctx.plans->read(s->id, s->plan->sha256, extension(s->plan->content_type), s->plan->bytes);
  if (!bytes) {
    spdlog::warn("sites: the plan of site {}: {}", s->id, bytes.error().message);
    if (bytes.error().kind == ErrorKind::not_found)
      return error_response(404, "not_found",
                            "the plan file of site " + std::to_string(s->id) + " is missing");
    return error_response(bytes.error());
  }
  Response r;
  r.content_type = s->plan->content_type;  // what the upload was checked to be, never guessed
  r.body = std::move(*bytes);
  // nosniff and the Content-Security-Policy come with every answer (transport.h).
  r.headers.emplace_back("ETag", "\"" + s->plan->sha256 + "\"");
  r.headers.emplace_back("Content-Disposition", "inline; filename=\"site-" + std::to_string(s->id) +
                                                    "-plan." + extension(s->plan->content_type) +
                                                    "\"");
  return r;
}

Response delete_plan(ApiContext& ctx, Request& req) {
  auto site_id = parse_id(req.params.at("id"));
  if (!site_id) return site_not_found(req.params.at("id"));
  std::lock_guard lock(plan_mutex());
  auto before = ctx.catalog->find_site(*site_id);
  if (!before) return error_response(before.error());
  if (!before->plan)
    return error_response(404, "not_found", "site " + std::to_string(*site_id) + " has no plan");
  auto updated = ctx.catalog->set_site_plan(*site_id, std::nullopt);
  if (!updated) return error_response(updated.error());
  if (auto st =
          ctx.plans->remove(*site_id, before->plan->sha256, extension(before->plan->content_type));
      !st)
    spdlog::warn("sites: the removed plan file of site {} stays: {}", *site_id, st.error().message);
  ctx.audit->record(req.principal->name, "site.plan_delete", "site:" + std::to_string(*site_id),
                    json{{"sha256", before->plan->sha256}}.dump(), req.remote);
  publish_site(ctx, "plan", *site_id);
  return one_site(ctx, req, *updated, 200);
}

}  // namespace

Result<std::optional<std::int64_t>> site_query(const Request& req) {
  auto it = req.query.find("site");
  if (it == req.query.end() || it->second.empty()) return std::optional<std::int64_t>();
  if (it->second == "none") return std::optional<std::int64_t>(0);
  auto id = parse_id(it->second);
  if (!id)
    return make_error(ErrorKind::invalid_argument,
                      "query parameter 'site' must be a site id or none");
  return std::optional<std::int64_t>(*id);
}

std::optional<Response> unknown_site(storage::Catalog& catalog,
                                     const std::optional<std::int64_t>& site) {
  if (!site || *site == 0) return std::nullopt;
  auto s = catalog.find_site(*site);
  if (s) return std::nullopt;
  return error_response(s.error());
}

Result<std::optional<std::int64_t>> site_id_field(const json& value, const char* name) {
  if (value.is_null()) return std::optional<std::int64_t>();
  std::optional<std::int64_t> id;
  if (value.is_number_integer() && value.get<std::int64_t>() >= 1)
    id = value.get<std::int64_t>();
  else if (value.is_string())
    id = parse_id(value.get<std::string>());
  if (!id)
    return make_error(ErrorKind::invalid_argument,
                      std::string("'") + name + "' must be a site id or null");
  return std::optional<std::int64_t>(*id);
}

Result<std::optional<std::optional<storage::PlanPoint>>> plan_point_fields(const json& body) {
  auto p = pair_fields(body, {"plan_x", 0, 1}, {"plan_y", 0, 1});
  if (!p) return p.error();
  using Out = std::optional<std::optional<storage::PlanPoint>>;
  if (!*p) return Out();
  if (!**p) return Out(std::optional<storage::PlanPoint>());
  return Out(std::optional(storage::PlanPoint{(**p)->first, (**p)->second}));
}

void publish_site(ApiContext& ctx, const char* change, std::int64_t site_id) {
  if (!ctx.hub) return;
  ctx.hub->publish("site", {{"change", change}, {"site_id", std::to_string(site_id)}});
}

void publish_camera_site(ApiContext& ctx, const storage::Camera& camera,
                         std::optional<std::int64_t> previous_site) {
  if (!ctx.hub) return;
  auto id = [](const std::optional<std::int64_t>& v) {
    return v ? json(std::to_string(*v)) : json(nullptr);
  };
  const auto& p = camera.plan_position;
  ctx.hub->publish("site",
                   {{"change", "camera"},
                    {"camera_id", camera.id},
                    {"site_id", id(camera.site_id)},
                    {"previous_site_id", id(previous_site)},
                    {"plan_x", p ? json(p->x) : json(nullptr)},
                    {"plan_y", p ? json(p->y) : json(nullptr)}},
                   RoleSet::all(), camera.id);
}

void register_site_routes(Router& router, ApiContext& ctx) {
  const RoleSet all = RoleSet::all();
  const RoleSet admin{Role::administrator};
  auto h = service_handlers(ctx, "site",
                            [](const ApiContext& c) { return c.catalog && c.audit && c.plans; });
  router.add({"GET", "/api/v1/sites", Access::roles, all, false, false, h(list_sites)});
  router.add({"POST", "/api/v1/sites", Access::roles, admin, true, false, h(add_site)});
  router.add({"GET", "/api/v1/sites/{id}", Access::roles, all, false, false, h(get_site)});
  router.add({"PATCH", "/api/v1/sites/{id}", Access::roles, admin, true, false, h(patch_site)});
  router.add({"DELETE", "/api/v1/sites/{id}", Access::roles, admin, false, false, h(delete_site)});
  Route put{"PUT", "/api/v1/sites/{id}/plan", Access::roles, admin, false, false, h(put_plan)};
  put.max_body_bytes = kMaxPlanBytes;
  router.add(std::move(put));
  router.add({"GET", "/api/v1/sites/{id}/plan", Access::roles, all, false, false, h(get_plan)});
  router.add(
      {"DELETE", "/api/v1/sites/{id}/plan", Access::roles, admin, false, false, h(delete_plan)});
}

}  // namespace zaulek::server
