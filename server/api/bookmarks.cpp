#include "server/api/bookmarks.h"

#include "server/api/params.h"
#include "server/security/visibility.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace zaulek::server {

namespace {

using nlohmann::json;

constexpr std::int64_t kDayNs = 86'400LL * 1'000'000'000;
constexpr std::size_t kMaxNote = 4096;

Response list_bookmarks(ApiContext& ctx, Request& req) {
  storage::BookmarkQuery q;
  auto camera = camera_query(req);
  if (!camera) return error_response(camera.error());
  if (!camera->empty()) {
    if (!may_see(*req.principal, *camera)) return camera_not_found(*camera);
    q.camera_id = std::move(*camera);
  }
  q.cameras = visible_cameras(*req.principal);
  // Default end a day ahead, as for events (a camera clock running fast).
  auto window = window_query(req, 0, to_unix_ns(ctx.clock->realtime()) + kDayNs);
  if (!window) return error_response(window.error());
  auto page = page_query(req, storage::Catalog::kMaxListLimit);
  if (!page) return error_response(page.error());
  q.from_ns = window->from_ns;
  q.to_ns = window->to_ns;
  q.limit = page->limit;
  q.after_id = page->after_id;
  auto rows = ctx.catalog->list_bookmarks(q);
  if (!rows) return error_response(rows.error());
  json arr = json::array();
  for (const auto& b : *rows) arr.push_back(bookmark_json(b));
  json body = {{"bookmarks", arr}};
  body["next_after"] = next_cursor(rows->size(), q.limit, rows->empty() ? 0 : rows->back().id);
  return json_response(200, body);
}

Response add_bookmark(ApiContext& ctx, Request& req) {
  const json& body = *req.json;
  if (!body.is_object()) return bad("body must be a JSON object {camera_id, time, until?, note?}");
  for (const auto& [key, value] : body.items()) {
    if (key != "camera_id" && key != "time" && key != "until" && key != "note")
      return bad("unknown field '" + key.substr(0, 64) + "'");
  }
  auto camera = string_field(body, "camera_id", 64);
  if (!camera) return error_response(camera.error());
  auto time_text_in = string_field(body, "time", 64);
  if (!time_text_in) return error_response(time_text_in.error());
  auto until_text = optional_string_field(body, "until", 64);
  if (!until_text) return error_response(until_text.error());
  auto note = optional_string_field(body, "note", kMaxNote);
  if (!note) return error_response(note.error());
  if (!valid_camera_id(*camera))
    return bad("'camera_id' must be a camera id ([A-Za-z0-9._-], 1 to 64)");
  auto time = parse_time(*time_text_in, "'time'");
  if (!time) return error_response(time.error());
  storage::Bookmark b;
  b.camera_id = *camera;
  b.time_ns = *time;
  if (*until_text) {
    auto until = parse_time(**until_text, "'until'");
    if (!until) return error_response(until.error());
    if (*until <= *time) return bad("'until' must be after 'time'");
    b.until_ns = *until;
  }
  if (*note) {
    if (has_control_chars(**note, TextLines::many)) return bad("'note' has control characters");
    b.note = **note;
  }
  if (!may_see(*req.principal, b.camera_id)) return camera_not_found(b.camera_id);
  if (auto c = ctx.catalog->find_camera(b.camera_id); !c) {
    if (c.error().kind == ErrorKind::not_found)
      return error_response(404, "not_found", "camera '" + b.camera_id + "' not found");
    return error_response(c.error());
  }
  b.created_by = req.principal->name;
  auto added = ctx.catalog->add_bookmark(b);
  if (!added) return error_response(added.error());
  spdlog::info("bookmarks: {} marked {} at {} (bookmark {})", b.created_by, b.camera_id,
               time_text(b.time_ns), added->id);
  ctx.audit->record(req.principal->name, "bookmark.add", "bookmark:" + std::to_string(added->id),
                    json{{"camera_id", b.camera_id},
                         {"time", time_text(b.time_ns)},
                         {"until", b.until_ns ? json(time_text(*b.until_ns)) : json(nullptr)},
                         {"note", b.note}}
                        .dump(),
                    req.remote);
  return json_response(201, bookmark_json(*added));
}

Response delete_bookmark(ApiContext& ctx, Request& req) {
  const std::string& text = req.params.at("id");
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || p != text.data() + text.size() || id < 1)
    return error_response(404, "not_found", "bookmark '" + text.substr(0, 32) + "' not found");
  auto found = ctx.catalog->find_bookmark(id);
  if (!found) return error_response(found.error());
  if (!may_see(*req.principal, found->camera_id))  // as if it did not exist
    return error_response(404, "not_found", "bookmark '" + text.substr(0, 32) + "' not found");
  if (auto st = ctx.catalog->delete_bookmark(id); !st) return error_response(st.error());
  spdlog::info("bookmarks: {} deleted bookmark {} on {}", req.principal->name, id,
               found->camera_id);
  ctx.audit->record(req.principal->name, "bookmark.delete", "bookmark:" + std::to_string(id),
                    bookmark_json(*found).dump(), req.remote);
  return json_response(200, {{"id", std::to_string(id)}, {"status", "deleted"}});
}

}  // namespace

json bookmark_json(const storage::Bookmark& b) {
  return {{"id", std::to_string(b.id)},
          {"camera_id", b.camera_id},
          {"time", time_text(b.time_ns)},
          {"until", b.until_ns ? json(time_text(*b.until_ns)) : json(nullptr)},
          {"alarm_id", b.alarm_id ? json(std::to_string(*b.alarm_id)) : json(nullptr)},
          {"rule_id", b.rule_id ? json(*b.rule_id) : json(nullptr)},
          {"note", b.note},
          {"created_by", b.created_by},
          {"created", format_rfc3339(b.created)}};
}

void register_bookmark_routes(Router& router, ApiContext& ctx) {
  const RoleSet all = RoleSet::all();
  const RoleSet evidence{Role::administrator, Role::investigator};
  auto h = service_handlers(ctx, "bookmark",
                            [](const ApiContext& c) { return c.catalog && c.clock && c.audit; });
  router.add({"GET", "/api/v1/bookmarks", Access::roles, all, false, false, h(list_bookmarks)});
  router.add({"POST", "/api/v1/bookmarks", Access::roles, all, true, false, h(add_bookmark)});
  router.add({"DELETE", "/api/v1/bookmarks/{id}", Access::roles, evidence, false, false,
              h(delete_bookmark)});
}

}  // namespace zaulek::server
