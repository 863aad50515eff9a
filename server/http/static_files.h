// The console's static files from server.web_root. Only regular files under
// the root are served: ".." segments, backslashes, hidden files and symlinks
// leading outside the root are refused.
#pragma once

#include <filesystem>
#include <string>

#include "server/http/http_types.h"

namespace zaulek::server {

inline constexpr std::uintmax_t kMaxStaticFileBytes = 16 * 1024 * 1024;

// `path` is the percent-decoded request path ("/" serves index.html).
Response serve_static(const std::filesystem::path& root, const std::string& path);

}  // namespace zaulek::server
