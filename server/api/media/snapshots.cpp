#include "server/api/media/snapshots.h"

#include "server/live/snapshots.h"
#include "server/security/visibility.h"

namespace zaulek::server {

namespace {

// The camera's failure as the operator should read it: always 502 (the
// camera, not zaulekd, failed), the code saying which kind of failure.
Response camera_failure(const std::string& id, const SnapshotResult& r) {
  std::string_view code = "camera_bad_reply";
  switch (r.error_kind) {
    case ErrorKind::unauthenticated:
      code = "camera_unauthorized";
      break;
    case ErrorKind::unavailable:
      code = "camera_unreachable";
      break;
    case ErrorKind::deadline_exceeded:
      code = "camera_timeout";
      break;
    default:
      break;
  }
  return error_response(502, code, "snapshot of camera " + id + ": " + r.error);
}

void snapshot(ApiContext& ctx, Request& req, Reply reply) {
  if (!ctx.snapshots || !ctx.catalog)
    return reply(error_response(503, "unavailable", "the snapshot service is not running"));
  const std::string id = req.params.at("id");
  if (!may_see(*req.principal, id)) return reply(camera_not_found(id));
  auto row = ctx.catalog->find_camera(id);
  if (!row) return reply(error_response(row.error()));
  SnapshotCamera camera;
  camera.row = std::move(*row);
  if (auto streams = ctx.catalog->list_streams(id); streams) {
    for (const auto& s : *streams)
      if (s.kind == storage::StreamKind::main) camera.profile_token = s.profile_token;
  }
  ctx.snapshots->get(std::move(camera), [id, reply = std::move(reply)](SnapshotResult r) {
    switch (r.kind) {
      case SnapshotResult::Kind::ok: {
        Response resp;
        resp.content_type = "image/jpeg";
        resp.body = *r.jpeg;
        return reply(std::move(resp));
      }
      case SnapshotResult::Kind::busy: {
        Response resp = error_response(
            503, "unavailable", "too many camera snapshots are being fetched; try again shortly");
        resp.headers.emplace_back("Retry-After", "1");
        return reply(std::move(resp));
      }
      case SnapshotResult::Kind::stopped:
        return reply(error_response(503, "unavailable", "server shutting down"));
      case SnapshotResult::Kind::failed:
        return reply(camera_failure(id, r));
    }
  });
}

}  // namespace

void register_snapshot_routes(Router& router, ApiContext& ctx) {
  Route route{
      "GET",  "/api/v1/cameras/{id}/snapshot.jpg", Access::roles, RoleSet::all(), false, false,
      nullptr};
  route.deferred = [&ctx](Request& r, Reply reply) { snapshot(ctx, r, std::move(reply)); };
  router.add(std::move(route));
}

}  // namespace zaulek::server
