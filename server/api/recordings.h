// Recorded footage and evidence holds:
//   GET /api/v1/cameras/{id}/recordings?from=&to=   (every role; with the bookmarks)
//   GET/POST /api/v1/holds, DELETE /api/v1/holds/{id} (administrator, investigator; audited)
#pragma once

#include "server/api/api.h"

namespace zaulek::server {

// Needs ctx.catalog, ctx.audit, ctx.clock when serving; ctx.recording (the
// live edge) may be null. All null for --list-routes.
void register_recording_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
