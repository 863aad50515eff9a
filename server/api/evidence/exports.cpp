#include "server/api/evidence/exports.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "server/api/params.h"
#include "server/export/export.h"
#include "server/security/visibility.h"

namespace zaulek::server {
namespace {

using nlohmann::json;

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;
constexpr int kQueueFullRetryS = 30;

// "exp-<n>" -> n; 0 when it is not one.
std::int64_t export_number(std::string_view id) {
  if (id.size() < 5 || id.substr(0, 4) != "exp-") return 0;
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(id.data() + 4, id.data() + id.size(), n);
  return ec == std::errc{} && p == id.data() + id.size() && n > 0 ? n : 0;
}

json export_json(const ExportStatus& s) {
  const storage::Export& x = s.job;
  return {{"id", x.id},
          {"camera_id", x.camera_id},
          {"from", time_text(x.from_ns)},
          {"to", time_text(x.to_ns)},
          {"state", std::string(storage::to_string(x.state))},
          {"progress", s.progress},
          {"bytes", x.bytes},
          {"sha256", x.sha256.empty() ? json(nullptr) : json(x.sha256)},
          {"error", x.error.empty() ? json(nullptr) : json(x.error)},
          {"created_by", x.created_by},
          {"created", format_rfc3339(x.created)},
          {"finished", x.finished ? json(format_rfc3339(*x.finished)) : json(nullptr)},
          {"hold_id", x.hold_id ? json(std::to_string(*x.hold_id)) : json(nullptr)}};
}

// The export named in the path, if it exists and the caller may see its camera.
Result<storage::Export> visible_export(ApiContext& ctx, Request& req) {
  const std::string& id = req.params.at("id");
  if (export_number(id) == 0)
    return make_error(ErrorKind::not_found, "export '" + id.substr(0, 64) + "' not found");
  auto x = ctx.catalog->find_export(id);
  if (!x) {
    if (x.error().kind == ErrorKind::not_found)
      return make_error(ErrorKind::not_found, "export '" + id + "' not found");
    return x.error();
  }
  if (!may_see(*req.principal, x->camera_id))
    return make_error(ErrorKind::not_found, "export '" + id + "' not found");
  return x;
}

Response add_export(ApiContext& ctx, Request& req) {
  auto range = footage_range(*req.json);
  if (!range) return error_response(range.error());
  const auto& [camera, from, to, reason] = *range;
  const auto max_range = ctx.exports->options().max_range;
  if (to - from > std::chrono::nanoseconds(max_range).count())
    return bad("'to' is more than " + std::to_string(max_range.count()) +
               " h after 'from' (export.max_range_hours); export shorter ranges");
  if (!valid_camera_id(camera))
    return bad("'camera_id' is not a camera id ([A-Za-z0-9._-], 1 to 64)");
  if (auto refused = footage_camera_refused(ctx, req, camera)) return *refused;
  auto added = ctx.exports->submit({camera, from, to, reason, req.principal->name, req.remote});
  if (!added) {
    Response r = error_response(added.error());
    if (added.error().kind == ErrorKind::resource_exhausted) {
      r = error_response(503, "unavailable", added.error().message);
      r.headers.emplace_back("Retry-After", std::to_string(kQueueFullRetryS));
    }
    return r;
  }
  spdlog::info("export: {} asked for {} of {} from {} to {}", req.principal->name, added->id,
               camera, time_text(from), time_text(to));
  ctx.audit->record(req.principal->name, "export.add", "export:" + added->id,
                    json{{"camera_id", camera},
                         {"from", time_text(from)},
                         {"to", time_text(to)},
                         {"reason", reason}}
                        .dump(),
                    req.remote);
  return json_response(202, export_json(ctx.exports->status_of(*added)));
}

Response list_exports(ApiContext& ctx, Request& req) {
  auto camera = camera_query(req);
  if (!camera) return error_response(camera.error());
  auto limit = int_query(req, "limit", kDefaultLimit, 1, kMaxLimit);
  if (!limit) return error_response(limit.error());
  std::int64_t before = 0;
  if (auto it = req.query.find("before"); it != req.query.end() && !it->second.empty()) {
    before = export_number(it->second);
    if (before == 0) return bad("query parameter 'before' must be an export id (exp-<n>)");
  }
  if (!camera->empty() && !may_see(*req.principal, *camera))
    return json_response(200, {{"exports", json::array()}, {"next_before", nullptr}});
  // Only the caller's cameras, chosen in the query: a page is full whenever
  // more of them exist.
  auto rows = ctx.catalog->list_exports(*camera, static_cast<int>(*limit), before,
                                        visible_cameras(*req.principal));
  if (!rows) return error_response(rows.error());
  json arr = json::array();
  for (const auto& x : *rows) arr.push_back(export_json(ctx.exports->status_of(x)));
  json next = nullptr;
  if (!rows->empty() && rows->size() == static_cast<std::size_t>(*limit)) next = rows->back().id;
  return json_response(200, {{"exports", arr}, {"next_before", next}});
}

Response get_export(ApiContext& ctx, Request& req) {
  auto x = visible_export(ctx, req);
  if (!x) return error_response(x.error());
  return json_response(200, export_json(ctx.exports->status_of(*x)));
}

Response download_export(ApiContext& ctx, Request& req) {
  auto x = visible_export(ctx, req);
  if (!x) return error_response(x.error());
  auto file = ctx.exports->package(*x);
  if (!file) return error_response(file.error());  // 409 unless done
  ctx.audit->record(req.principal->name, "export.download", "export:" + x->id,
                    json{{"camera_id", x->camera_id}, {"bytes", x->bytes}}.dump(), req.remote);
  Response r;
  r.content_type = "application/zip";
  r.file = file->string();
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + x->id + ".zip\"");
  return r;
}

Response delete_export(ApiContext& ctx, Request& req) {
  auto x = visible_export(ctx, req);
  if (!x) return error_response(x.error());
  if (auto st = ctx.exports->remove(x->id); !st) return error_response(st.error());
  spdlog::info("export: {} deleted {} (its hold released)", req.principal->name, x->id);
  ctx.audit->record(req.principal->name, "export.delete", "export:" + x->id,
                    json{{"camera_id", x->camera_id},
                         {"from", time_text(x->from_ns)},
                         {"to", time_text(x->to_ns)},
                         {"state", std::string(storage::to_string(x->state))}}
                        .dump(),
                    req.remote);
  return json_response(200, {{"id", x->id}, {"status", "deleted"}});
}

}  // namespace

void register_export_routes(Router& router, ApiContext& ctx) {
  const RoleSet evidence{Role::administrator, Role::investigator};
  auto h = service_handlers(ctx, "export",
                            [](const ApiContext& c) { return c.exports && c.catalog && c.audit; });
  router.add({"POST", "/api/v1/exports", Access::roles, evidence, true, false, h(add_export)});
  router.add({"GET", "/api/v1/exports", Access::roles, evidence, false, false, h(list_exports)});
  router.add({"GET", "/api/v1/exports/{id}", Access::roles, evidence, false, false, h(get_export)});
  router.add({"GET", "/api/v1/exports/{id}/download", Access::roles, evidence, false, false,
              h(download_export)});
  // Slow: deleting a running job waits until its worker has stopped.
  router.add({"DELETE", "/api/v1/exports/{id}", Access::roles, evidence, false, false,
              h(delete_export), Speed::slow});
}

}  // namespace zaulek::server
