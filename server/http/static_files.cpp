#include "server/http/static_files.h"

#include <fstream>
#include <sstream>

namespace zaulek::server {

namespace {

std::string content_type_for(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

Response not_found() {
  return error_response(404, "not_found", "no such file");
}

}  // namespace

Response serve_static(const std::filesystem::path& root, const std::string& path) {
  if (path.empty() || path.front() != '/')
    return error_response(400, "invalid_argument", "bad path");
  std::string rel = path == "/" ? std::string("index.html") : path.substr(1);
  // Check every segment before touching the file system.
  std::size_t start = 0;
  while (start <= rel.size()) {
    std::size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string_view seg = std::string_view(rel).substr(start, end - start);
    if (seg.empty() || seg == "." || seg == ".." || seg.front() == '.' ||
        seg.find('\\') != std::string_view::npos || seg.find('\0') != std::string_view::npos)
      return not_found();
    start = end + 1;
  }
  std::error_code ec;
  auto canon_root = std::filesystem::canonical(root, ec);
  if (ec) return not_found();
  auto file = std::filesystem::canonical(canon_root / rel, ec);
  if (ec) return not_found();
  // Symlinks must not lead outside the root.
  auto [r, f] = std::mismatch(canon_root.begin(), canon_root.end(), file.begin(), file.end());
  if (r != canon_root.end()) return not_found();
  if (!std::filesystem::is_regular_file(file, ec)) return not_found();
  auto size = std::filesystem::file_size(file, ec);
  if (ec || size > kMaxStaticFileBytes) return not_found();
  std::ifstream in(file, std::ios::binary);
  if (!in) return not_found();
  std::ostringstream ss;
  ss << in.rdbuf();
  Response resp;
  resp.content_type = content_type_for(file);
  resp.body = ss.str();
  return resp;
}

}  // namespace zaulek::server
