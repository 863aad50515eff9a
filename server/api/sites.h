// Sites (storage::Site; docs/administrators.md "Sites"): the places the
// cameras watch.
//   GET    /api/v1/sites                 every role: each site with the cameras in it
//                                        that the caller may see and their open alarms
//   POST   /api/v1/sites                 administrator (audited)
//   GET    /api/v1/sites/{id}            every role
//   PATCH  /api/v1/sites/{id}            administrator (audited)
//   DELETE /api/v1/sites/{id}            administrator (audited); 409 while cameras are in it
//   PUT    /api/v1/sites/{id}/plan       administrator (audited): a PNG or JPEG, at most
//                                        kMaxPlanBytes, checked from its own bytes
//                                        (core/image/image.h)
//   GET    /api/v1/sites/{id}/plan       every role: served as the type it was checked to be
//   DELETE /api/v1/sites/{id}/plan       administrator (audited)
// A camera joins a site with POST /api/v1/cameras or PATCH /api/v1/cameras/{id}
// {"site_id", "plan_x", "plan_y"} (server/api/cameras.cpp); GET /api/v1/cameras and /api/v1/alarms
// take ?site=ID|none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "server/api/api.h"

namespace zaulek::server {

inline constexpr std::size_t kMaxPlanBytes = 8 * 1024 * 1024;

// Query parameter `site`: nullopt when absent or empty, 0 for "none" (no
// site), else a site id; invalid_argument naming it otherwise.
Result<std::optional<std::int64_t>> site_query(const Request& req);
// The 404 answer for a `site` filter naming no site, else nullopt (also
// for nullopt and 0). Other catalogue errors are answered as they are.
std::optional<Response> unknown_site(storage::Catalog& catalog,
                                     const std::optional<std::int64_t>& site);
// A site id in a JSON body: a positive integer or a string of one; null is
// "no site" (nullopt). invalid_argument naming `name` otherwise.
Result<std::optional<std::int64_t>> site_id_field(const nlohmann::json& value, const char* name);

// The body fields plan_x and plan_y: absent (nullopt, nothing to change),
// both null (a cleared position: nullopt inside) or both numbers in 0..1.
// invalid_argument naming the field.
Result<std::optional<std::optional<storage::PlanPoint>>> plan_point_fields(
    const nlohmann::json& body);

// Hub messages (docs/events.md) so that consoles follow without a reload:
// {"type":"site", "change": added|updated|plan|deleted, "site_id"} to every
// role, and {"type":"site", "change":"camera", "camera_id", "site_id",
// "previous_site_id", "plan_x", "plan_y"} to those who may see the camera,
// when a camera joins, leaves or moves on a site's plan. Nothing without ctx.hub.
void publish_site(ApiContext& ctx, const char* change, std::int64_t site_id);
void publish_camera_site(ApiContext& ctx, const storage::Camera& camera,
                         std::optional<std::int64_t> previous_site);

// Needs ctx.catalog, ctx.audit, ctx.plans when serving; all null for --list-routes.
void register_site_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
