// GET /api/v1/cameras/{id}/snapshot.jpg: the camera's current picture for
// the console's grid (server/live/snapshots.h does the work). Every role;
// a camera the caller may not see is 404 like an unknown one.
#pragma once

#include "server/api/api.h"

namespace zaulek::server {

// Needs ctx.snapshots and ctx.catalog when serving.
void register_snapshot_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
