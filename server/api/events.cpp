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

Response bad(std::string message) {
  return error_response(400, "invalid_argument", message);
}

Response list_events(ApiContext& ctx, Request& req) {
  storage::EventQuery q;
  if (auto it = req.query.find("camera"); it != req.query.end()) {
    const std::string& id = it->second;
    if (id.size() > 64 ||
        id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789._-") != std::string::npos)
      return bad("query parameter 'camera' must be a camera id");
    q.camera_id = id;
  }
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(ctx.clock->realtime().time_since_epoch())
          .count();
  auto from = time_query(req, "from", 0);
  if (!from) return error_response(from.error());
  // Default end: a day ahead, so that events stamped by a camera whose clock
  // runs a little fast are still listed.
  auto to = time_query(req, "to", now_ns + std::int64_t{86400} * 1'000'000'000);
  if (!to) return error_response(to.error());
  if (*to <= *from) return bad("'to' must be after 'from'");
  auto limit = int_query(req, "limit", 100, 1, storage::Catalog::kMaxListLimit);
  if (!limit) return error_response(limit.error());
  auto after = int_query(req, "after", 0, 0, INT64_MAX);
  if (!after) return error_response(after.error());
  q.from_ns = *from;
  q.to_ns = *to;
  q.limit = static_cast<int>(*limit);
  q.after_id = *after;
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
  body["next_after"] = rows->size() == static_cast<std::size_t>(q.limit) && !rows->empty()
                           ? json(std::to_string(rows->back().id))
                           : json(nullptr);
  return json_response(200, body);
}

}  // namespace

void register_event_routes(Router& router, ApiContext& ctx) {
  const RoleSet all = RoleSet::all();
  auto h = [&ctx](Response (*fn)(ApiContext&, Request&)) {
    return [&ctx, fn](Request& r) {
      if (!ctx.catalog || !ctx.clock)
        return error_response(503, "unavailable", "the event service is not running");
      return fn(ctx, r);
    };
  };
  router.add({"GET", "/api/v1/events", Access::roles, all, false, false, h(list_events)});
}

}  // namespace zaulek::server
