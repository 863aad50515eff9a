// The foundation's endpoints (auth, users, audit, health, metrics, the
// WebSocket route) registered into the route table.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/clock.h"
#include "server/http/metrics.h"
#include "server/http/routes.h"
#include "server/hub/hub.h"
#include "server/security/audit.h"
#include "server/security/auth.h"
#include "storage/catalog.h"

namespace zaulek::storage {
class PlanFiles;  // storage/plans.h
}

namespace zaulek::evidence {
class SigningKey;  // evidence/signing_key.h
}

namespace zaulek::server {

class Cameras;           // server/cameras/cameras.h
class RecordingService;  // server/recording/recording.h
class AlarmRouter;       // server/alarms/alarms.h
class EventService;      // server/events/events.h
class NotifyConsumers;   // server/events/notify.h
class Snapshots;         // server/live/snapshots.h
class LiveService;       // server/live/live.h
class ExportService;     // server/export/export.h
class PlaybackService;   // server/playback/playback.h

// Pointers, all set when serving; all null for --list-routes, which only
// reads the table and never calls a handler.
struct ApiContext {
  storage::Catalog* catalog = nullptr;
  AuditLog* audit = nullptr;
  Auth* auth = nullptr;
  Hub* hub = nullptr;
  Metrics* metrics = nullptr;
  Clock* clock = nullptr;
  Cameras* cameras = nullptr;             // camera registry (server/cameras/cameras.h)
  RecordingService* recording = nullptr;  // recorders (server/recording/recording.h)
  AlarmRouter* alarms = nullptr;          // rules and alarms (server/alarms/alarms.h)
  EventService* events =
      nullptr;  // camera events (server/events/events.h): /metrics, read-your-writes
  NotifyConsumers* notify = nullptr;    // Basic Notification consumer (server/events/notify.h)
  Snapshots* snapshots = nullptr;       // camera snapshots (server/live/snapshots.h)
  LiveService* live = nullptr;          // live view (server/live/live.h)
  PlaybackService* playback = nullptr;  // playback (server/playback/playback.h)
  const evidence::SigningKey* signing_key = nullptr;  // signs export manifests
  storage::PlanFiles* plans = nullptr;                // site plan images (storage/plans.h)
  ExportService* exports = nullptr;                   // export jobs (server/export/export.h)
  std::string version;
  MonoTime started;
  bool tls = false;
  std::chrono::seconds session_ttl{3600};
};

// A route handler of one service: `handler(fn)` calls fn(ctx, request) while
// `running(ctx)` holds, else answers 503 "the <service> service is not running"
// (a context without that service: --list-routes, or a unit test's).
using ApiHandler = Response (*)(ApiContext&, Request&);
inline auto service_handlers(ApiContext& ctx, const char* service,
                             bool (*running)(const ApiContext&)) {
  return [&ctx, service, running](ApiHandler fn) {
    return [&ctx, service, running, fn](Request& r) {
      if (!running(ctx))
        return error_response(503, "unavailable",
                              std::string("the ") + service + " service is not running");
      return fn(ctx, r);
    };
  };
}

// The answer refusing a request for camera `id`'s footage, if any: 400 for
// what is not a camera id, 404 "camera 'x' not found (no camera and no
// footage)" for one the caller may not see, or that is neither in the
// catalogue nor deleted with footage kept (server/api/recordings.cpp).
std::optional<Response> footage_camera_refused(ApiContext& ctx, const Request& req,
                                               const std::string& id);

// `ctx` must outlive the router.
void register_routes(Router& router, ApiContext& ctx);
// PATCH /api/v1/users/{id}: a user's visible cameras and whether the user is
// disabled (server/api/visibility.cpp).
void register_visibility_routes(Router& router, ApiContext& ctx);
// Own password and sessions, an administrator's reset, session revocation
// (server/api/accounts.cpp).
void register_account_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
