// GET /api/v1/cameras/{id}/live?stream=main|sub: a WebSocket of the
// camera's live picture (server/live/live.h). Every role; a camera the
// caller may not see is 404 like an unknown one.
#include "server/api/media/live.h"

#include "server/api/api.h"
#include "server/live/live.h"
#include "server/security/visibility.h"

namespace zaulek::server {
namespace {

Response live(ApiContext& ctx, Request& req) {
  const std::string& id = req.params.at("id");
  auto q = req.query.find("stream");
  const std::string stream = q == req.query.end() ? "main" : q->second;
  if (stream != "main" && stream != "sub")
    return error_response(400, "invalid_argument", "'stream' must be main or sub");
  if (!may_see(*req.principal, id)) return camera_not_found(id);
  if (auto c = ctx.catalog->find_camera(id); !c) return error_response(c.error());
  auto source = ctx.live->viewer(id, stream, req.principal->name);
  if (!source)
    return error_response(409, "failed_precondition",
                          "camera " + id + " has no stream pulled (recording off or not started)");
  Response r;
  r.websocket = std::move(source);
  return r;
}

}  // namespace

void register_live_routes(Router& router, ApiContext& ctx) {
  auto h = service_handlers(ctx, "live", [](const ApiContext& c) { return c.live && c.catalog; });
  // An upgrade route with a handler: it decides before the upgrade.
  router.add(
      {"GET", "/api/v1/cameras/{id}/live", Access::roles, RoleSet::all(), false, true, h(live)});
}

}  // namespace zaulek::server
