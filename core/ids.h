// Identifiers that name things on disk and in URLs.
#pragma once

#include <string_view>

namespace zaulek {

// A camera id: 1 to 64 of [A-Za-z0-9._-], not starting with a dot. It is
// also a directory name under the storage root, so no "..", no hidden names.
// Rule ids use the same alphabet.
bool valid_camera_id(std::string_view id);

}  // namespace zaulek
