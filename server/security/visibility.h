// Per-user camera visibility (issue 7): the one place that answers "may this
// caller see camera X" and "which cameras does it see". An administrator
// sees every camera; any other user sees every camera unless an administrator
// restricted them to a set (PATCH /api/v1/users/{id} {"cameras": [...]}).
// A camera the caller may not see answers 404 exactly as an unknown one, so
// that its existence does not leak.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/http_types.h"

namespace zaulek::server {

// nullopt: every camera; otherwise the sorted set the caller may see.
const std::optional<std::vector<std::string>>& visible_cameras(const Principal& principal);

bool may_see(const Principal& principal, std::string_view camera_id);
bool may_see(const std::optional<std::vector<std::string>>& visible, std::string_view camera_id);

// The 404 of a camera that does not exist (the same for one the caller may not see).
Response camera_not_found(std::string_view camera_id);

}  // namespace zaulek::server
