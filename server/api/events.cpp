#include "server/api/events.h"

#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include "server/api/params.h"

#include "server/events/events.h"
#include "server/security/visibility.h"

namespace zaulek::server {

namespace {

using nlohmann::json;

constexpr auto kWrittenWait = std::chrono::seconds(1);
constexpr std::int64_t kDayNs = 86'400LL * 1'000'000'000;

Response list_events(ApiContext& ctx, Request& req) {
  storage::EventQuery q;
  auto camera = camera_query(req);
  if (!camera) return error_response(camera.error());
  q.camera_id = std::move(*camera);
  // Default end: a day ahead, so that events stamped by a camera whose clock
  // runs a little fast are still listed.
  auto window = window_query(req, 0, to_unix_ns(ctx.clock->realtime()) + kDayNs);
  if (!window) return error_response(window.error());
  auto page = page_query(req, storage::Catalog::kMaxListLimit);
  if (!page) return error_response(page.error());
  q.from_ns = window->from_ns;
  q.to_ns = window->to_ns;
  q.limit = page->limit;
  q.after_id = page->after_id;
  // Events of a camera the caller may not see are never listed (an empty
  // page, as for a camera without events).
  q.cameras = visible_cameras(*req.principal);
  // Rows follow the consoles by up to 10 ms (server/events/events.h): wait, bounded,
  // for those of the events published so far, so that an event a console
  // has just received is listed. A disk slower than the bound lists them on
  // a later request.
  if (ctx.events) ctx.events->wait_written(kWrittenWait);
  auto rows = ctx.catalog->list_events(q);
  if (!rows) return error_response(rows.error());
  json arr = json::array();
  for (const auto& e : *rows) arr.push_back(event_json(e));
  json body = {{"events", arr}};
  body["next_after"] = next_cursor(rows->size(), q.limit, rows->empty() ? 0 : rows->back().id);
  return json_response(200, body);
}

}  // namespace

void register_event_routes(Router& router, ApiContext& ctx) {
  const RoleSet all = RoleSet::all();
  auto h = service_handlers(ctx, "event", [](const ApiContext& c) { return c.catalog && c.clock; });
  router.add({"GET", "/api/v1/events", Access::roles, all, false, false, h(list_events)});
}

}  // namespace zaulek::server
