#include "server/security/visibility.h"

#include <algorithm>

namespace zaulek::server {

const std::optional<std::vector<std::string>>& visible_cameras(const Principal& principal) {
  static const std::optional<std::vector<std::string>> kAll;
  if (principal.role == Role::administrator) return kAll;
  return principal.cameras;
}

bool may_see(const std::optional<std::vector<std::string>>& visible, std::string_view camera_id) {
  if (!visible) return true;
  return std::binary_search(visible->begin(), visible->end(), camera_id,
                            [](std::string_view a, std::string_view b) { return a < b; });
}

bool may_see(const Principal& principal, std::string_view camera_id) {
  return may_see(visible_cameras(principal), camera_id);
}

Response camera_not_found(std::string_view camera_id) {
  // The catalogue's own words for an unknown camera (storage find_camera).
  return error_response(404, "not_found", "no camera " + std::string(camera_id.substr(0, 64)));
}

}  // namespace zaulek::server
