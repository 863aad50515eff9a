// Bookmarks (storage::Bookmark; docs/events.md "Bookmarks"):
//   GET    /api/v1/bookmarks?camera=&from=&to=&after=&limit=  every role
//   POST   /api/v1/bookmarks {camera_id, time, until?, note?} every role (audited)
//   DELETE /api/v1/bookmarks/{id}                             administrator, investigator (audited)
// Rules with bookmark = true make them too (server/alarms/alarms.h).
#pragma once

#include <nlohmann/json.hpp>

#include "server/api/api.h"

namespace zaulek::server {

// A bookmark as the API shows it (also in GET /api/v1/cameras/{id}/recordings).
nlohmann::json bookmark_json(const storage::Bookmark& b);

// Needs ctx.catalog, ctx.audit, ctx.clock when serving; all null for --list-routes.
void register_bookmark_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
