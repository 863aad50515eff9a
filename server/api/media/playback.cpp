// GET /api/v1/cameras/{id}/playback?from=T[&speed=S]: a WebSocket of the
// camera's recorded footage from T (server/playback/playback.h). Every role
// that may read /recordings (all of them); a camera the caller may not see
// is 404 like an unknown one; 404 too when there is no footage at or after
// T (nothing to play; a gap within the footage is a message on the socket).
#include "server/api/media/playback.h"

#include "server/api/api.h"
#include "server/api/params.h"
#include "server/playback/playback.h"
#include "server/security/visibility.h"

namespace zaulek::server {
namespace {

Response playback_socket(ApiContext& ctx, Request& req) {
  const std::string& id = req.params.at("id");
  if (!valid_camera_id(id) || !may_see(*req.principal, id)) return camera_not_found(id);
  auto from_q = req.query.find("from");
  if (from_q == req.query.end() || from_q->second.empty())
    return bad("query parameter 'from' is required (RFC 3339)");
  auto from = parse_time(from_q->second, "from");
  if (!from) return error_response(from.error());
  auto speed = int_query(req, "speed", 1, 1, 8);
  if (!speed || !playback::valid_speed(static_cast<int>(*speed)))
    return bad("query parameter 'speed' must be 1, 2, 4 or 8");
  // A deleted camera whose footage is kept plays too.
  if (auto c = ctx.catalog->find_camera(id); !c && c.error().kind != ErrorKind::not_found)
    return error_response(c.error());
  auto any = ctx.playback->has_footage(id, *from);
  if (!any) return error_response(any.error());
  if (!*any) {
    if (auto c = ctx.catalog->find_camera(id); !c) return camera_not_found(id);
    return error_response(404, "not_found",
                          "camera " + id + " has no footage at or after " + time_text(*from));
  }
  Response r;
  r.websocket = ctx.playback->viewer(id, *from, static_cast<int>(*speed), req.principal->name);
  return r;
}

}  // namespace

void register_playback_routes(Router& router, ApiContext& ctx) {
  auto h = service_handlers(ctx, "playback",
                            [](const ApiContext& c) { return c.playback && c.catalog; });
  // An upgrade route with a handler: it decides before the upgrade.
  router.add({"GET", "/api/v1/cameras/{id}/playback", Access::roles, RoleSet::all(), false, true,
              h(playback_socket)});
}

}  // namespace zaulek::server
