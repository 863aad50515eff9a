// Camera and discovery endpoints (server/cameras/cameras.h does the work):
// POST /api/v1/discovery/scan, GET/POST /api/v1/cameras,
// GET/PATCH/DELETE /api/v1/cameras/{id}.
#pragma once

#include "server/api/api.h"

namespace zaulek::server {

// Needs ctx.cameras, ctx.catalog, ctx.audit when serving (all null for --list-routes).
void register_camera_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
