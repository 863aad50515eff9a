#include "server/api/recordings.h"

#include <spdlog/spdlog.h>
#include "server/api/params.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "server/api/bookmarks.h"
#include "server/recording/recording.h"
#include "server/security/visibility.h"

namespace zaulek::server {

namespace {

using nlohmann::json;

constexpr std::int64_t kSecondNs = 1'000'000'000;
constexpr std::int64_t kDayNs = 86'400 * kSecondNs;
// Segments whose gap is at most this merge into one range (the recorder
// starts a segment where the previous one ended; a reconnect leaves a gap).
constexpr std::int64_t kMergeToleranceNs = kSecondNs;
constexpr int kTimelineBookmarks = 1000;

// A camera in the catalogue, or one deleted whose footage is still kept.
Status camera_known(ApiContext& ctx, const std::string& id) {
  if (!valid_camera_id(id))
    return make_error(ErrorKind::invalid_argument,
                      "'" + id.substr(0, 64) + "' is not a camera id ([A-Za-z0-9._-], 1 to 64)");
  auto c = ctx.catalog->find_camera(id);
  if (c) return {};
  if (c.error().kind != ErrorKind::not_found) return c.error();
  auto any = ctx.catalog->list_segments(id, 0, INT64_MAX, 1);
  if (!any) return any.error();
  if (any->empty()) return make_error(ErrorKind::not_found, "camera '" + id + "' not found");
  return {};
}

}  // namespace

std::optional<Response> footage_camera_refused(ApiContext& ctx, const Request& req,
                                               const std::string& id) {
  auto st = valid_camera_id(id) && !may_see(*req.principal, id)
                ? Status(make_error(ErrorKind::not_found, "invisible"))
                : camera_known(ctx, id);
  if (st) return std::nullopt;
  if (st.error().kind == ErrorKind::not_found)
    return error_response(404, "not_found",
                          "camera '" + id + "' not found (no camera and no footage)");
  return error_response(st.error());
}

namespace {

json range_json(const storage::TimeRange& r) {
  return {{"start", time_text(r.start_ns)}, {"end", time_text(r.end_ns)}};
}

Response recordings(ApiContext& ctx, Request& req) {
  const std::string& id = req.params.at("id");
  if (valid_camera_id(id) && !may_see(*req.principal, id))
    return error_response(404, "not_found", "camera '" + id + "' not found");
  if (auto st = camera_known(ctx, id); !st) return error_response(st.error());
  // The day before `to`, unless `from` says otherwise.
  auto to = time_query(req, "to", to_unix_ns(ctx.clock->realtime()));
  if (!to) return error_response(to.error());
  auto from_q = time_query(req, "from", *to - kDayNs);
  if (!from_q) return error_response(from_q.error());
  if (*to <= *from_q) return error_response(400, "invalid_argument", "'to' must be after 'from'");
  const std::int64_t from = *from_q, to_ns = *to;
  auto t = ctx.catalog->timeline(id, from, to_ns, kMergeToleranceNs);
  if (!t) return error_response(t.error());
  // The live edge: the segment being written, up to its last written frame.
  if (ctx.recording) {
    if (auto st = ctx.recording->status(id); st && st->open_end_ns > st->open_start_ns) {
      std::int64_t s = std::max(st->open_start_ns, from);
      std::int64_t e = std::min(st->open_end_ns, to_ns);
      if (s < e) {
        ++t->segments;
        auto& ranges = t->ranges;
        auto pos = std::find_if(ranges.begin(), ranges.end(),
                                [&](const storage::TimeRange& r) { return r.start_ns > s; });
        ranges.insert(pos, storage::TimeRange{s, e});
        std::vector<storage::TimeRange> merged;
        for (const auto& r : ranges) {
          if (!merged.empty() && r.start_ns - merged.back().end_ns <= kMergeToleranceNs)
            merged.back().end_ns = std::max(merged.back().end_ns, r.end_ns);
          else
            merged.push_back(r);
        }
        ranges = std::move(merged);
        t->gaps.clear();
        std::int64_t at = from;
        for (const auto& r : ranges) {
          if (r.start_ns > at) t->gaps.push_back({at, r.start_ns});
          at = std::max(at, r.end_ns);
        }
        if (at < to_ns) t->gaps.push_back({at, to_ns});
      }
    }
  }
  json ranges = json::array(), gaps = json::array();
  for (const auto& r : t->ranges) ranges.push_back(range_json(r));
  for (const auto& g : t->gaps) gaps.push_back(range_json(g));
  // The bookmarks on the same stretch (the first kTimelineBookmarks by time).
  auto marks = ctx.catalog->list_bookmarks({id, from, to_ns, 0, kTimelineBookmarks});
  if (!marks) return error_response(marks.error());
  json bookmarks = json::array();
  for (const auto& b : *marks) bookmarks.push_back(bookmark_json(b));
  return json_response(200, {{"camera_id", id},
                             {"from", time_text(from)},
                             {"to", time_text(to_ns)},
                             {"ranges", ranges},
                             {"gaps", gaps},
                             {"segments", t->segments},
                             {"bookmarks", bookmarks}});
}

json hold_json(const storage::Hold& h) {
  return {{"id", std::to_string(h.id)},
          {"camera_id", h.camera_id},
          {"from", time_text(h.from_ns)},
          {"to", time_text(h.to_ns)},
          {"reason", h.reason},
          {"created_by", h.created_by},
          {"created", format_rfc3339(h.created)}};
}

Response add_hold(ApiContext& ctx, Request& req) {
  auto range = footage_range(*req.json);
  if (!range) return error_response(range.error());
  const auto& [camera, from, to, reason] = *range;
  if (auto refused = footage_camera_refused(ctx, req, camera)) return *refused;
  storage::Hold h;
  h.camera_id = camera;
  h.from_ns = from;
  h.to_ns = to;
  h.reason = reason;
  h.created_by = req.principal->name;
  auto added = ctx.catalog->add_hold(h);
  if (!added) return error_response(added.error());
  spdlog::info("holds: {} placed hold {} on {} from {} to {}", h.created_by, added->id, h.camera_id,
               time_text(h.from_ns), time_text(h.to_ns));
  ctx.audit->record(req.principal->name, "hold.add", "hold:" + std::to_string(added->id),
                    json{{"camera_id", h.camera_id},
                         {"from", time_text(h.from_ns)},
                         {"to", time_text(h.to_ns)},
                         {"reason", h.reason}}
                        .dump(),
                    req.remote);
  return json_response(201, hold_json(*added));
}

Response list_holds(ApiContext& ctx, Request& req) {
  auto camera = camera_query(req);
  if (!camera) return error_response(camera.error());
  auto holds = ctx.catalog->list_holds(*camera);
  if (!holds) return error_response(holds.error());
  json arr = json::array();
  for (const auto& h : *holds)
    if (may_see(*req.principal, h.camera_id)) arr.push_back(hold_json(h));
  return json_response(200, {{"holds", arr}});
}

Response delete_hold(ApiContext& ctx, Request& req) {
  const std::string& text = req.params.at("id");
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || p != text.data() + text.size() || id < 1)
    return error_response(404, "not_found", "hold '" + text.substr(0, 32) + "' not found");
  auto holds = ctx.catalog->list_holds("");
  if (!holds) return error_response(holds.error());
  auto it = std::find_if(holds->begin(), holds->end(),
                         [id](const storage::Hold& h) { return h.id == id; });
  if (it == holds->end() || !may_see(*req.principal, it->camera_id))
    return error_response(404, "not_found", "hold " + std::to_string(id) + " not found");
  if (auto st = ctx.catalog->delete_hold(id); !st) return error_response(st.error());
  spdlog::info("holds: {} released hold {} on {}", req.principal->name, id, it->camera_id);
  ctx.audit->record(req.principal->name, "hold.delete", "hold:" + std::to_string(id),
                    json{{"camera_id", it->camera_id},
                         {"from", time_text(it->from_ns)},
                         {"to", time_text(it->to_ns)},
                         {"reason", it->reason},
                         {"created_by", it->created_by}}
                        .dump(),
                    req.remote);
  return json_response(200, {{"id", std::to_string(id)}, {"status", "deleted"}});
}

}  // namespace

void register_recording_routes(Router& router, ApiContext& ctx) {
  const RoleSet all = RoleSet::all();
  const RoleSet evidence{Role::administrator, Role::investigator};
  auto h = service_handlers(ctx, "recording",
                            [](const ApiContext& c) { return c.catalog && c.clock && c.audit; });
  router.add(
      {"GET", "/api/v1/cameras/{id}/recordings", Access::roles, all, false, false, h(recordings)});
  router.add({"GET", "/api/v1/holds", Access::roles, evidence, false, false, h(list_holds)});
  router.add({"POST", "/api/v1/holds", Access::roles, evidence, true, false, h(add_hold)});
  router.add(
      {"DELETE", "/api/v1/holds/{id}", Access::roles, evidence, false, false, h(delete_hold)});
}

}  // namespace zaulek::server
