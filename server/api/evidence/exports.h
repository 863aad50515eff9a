// Evidence exports (server/export/export.h), administrators and investigators:
//   POST   /api/v1/exports {camera_id, from, to, reason}  202 {id, state, ...}
//   GET    /api/v1/exports[?camera=&limit=&before=]       newest first, next_before
//   GET    /api/v1/exports/{id}                           {state, progress, bytes, error, ...}
//   GET    /api/v1/exports/{id}/download                  the ZIP, streamed from its file
//   DELETE /api/v1/exports/{id}                           package, hold and row removed
// A camera the caller may not see is 404, as if it did not exist. Creating,
// downloading and deleting are audited.
#pragma once

#include "server/api/api.h"

namespace zaulek::server {

// Needs ctx.exports (and catalog, audit) when serving; 503 without.
void register_export_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
