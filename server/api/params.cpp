#include "server/api/params.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>

namespace zaulek::server {

std::string time_text(std::int64_t ns) {
  return format_rfc3339(
      WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(ns))});
}

Result<std::int64_t> parse_time(const std::string& text, const std::string& what) {
  WallTime t;
  if (text.size() > 64 || !parse_rfc3339(text, t))
    return make_error(ErrorKind::invalid_argument,
                      what + " must be an RFC 3339 time from " + std::to_string(kMinYear) + " to " +
                          std::to_string(kMaxYear) + ", e.g. 2026-11-25T10:00:00Z");
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

Response bad(std::string message) {
  return error_response(400, "invalid_argument", message);
}

Result<std::int64_t> time_query(const Request& req, const char* name, std::int64_t def) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return def;
  return parse_time(it->second, std::string("query parameter '") + name + "'");
}

Result<std::int64_t> int_query(const Request& req, const char* name, std::int64_t def,
                               std::int64_t min, std::int64_t max) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return def;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc{} || p != it->second.data() + it->second.size() || v < min || v > max)
    return make_error(ErrorKind::invalid_argument,
                      std::string("query parameter '") + name + "' must be an integer from " +
                          std::to_string(min) + " to " + std::to_string(max));
  return v;
}

Result<std::string> camera_query(const Request& req) {
  auto it = req.query.find("camera");
  if (it == req.query.end() || it->second.empty()) return std::string();
  if (!valid_camera_id(it->second))
    return make_error(ErrorKind::invalid_argument, "query parameter 'camera' must be a camera id");
  return it->second;
}

Result<TimeWindow> window_query(const Request& req, std::int64_t default_from,
                                std::int64_t default_to) {
  auto from = time_query(req, "from", default_from);
  if (!from) return from.error();
  auto to = time_query(req, "to", default_to);
  if (!to) return to.error();
  if (*to <= *from) return make_error(ErrorKind::invalid_argument, "'to' must be after 'from'");
  return TimeWindow{*from, *to};
}

Result<Page> page_query(const Request& req, int max_limit) {
  auto limit = int_query(req, "limit", 100, 1, max_limit);
  if (!limit) return limit.error();
  auto after = int_query(req, "after", 0, 0, INT64_MAX);
  if (!after) return after.error();
  return Page{static_cast<int>(*limit), *after};
}

nlohmann::json next_cursor(std::size_t rows, int limit, std::int64_t last_id) {
  if (rows == 0 || rows != static_cast<std::size_t>(limit)) return nullptr;
  return std::to_string(last_id);
}

Result<std::optional<std::string>> optional_string_field(const nlohmann::json& body,
                                                         const char* name, std::size_t max_len) {
  auto field = [&](const char* what) {
    return make_error(ErrorKind::invalid_argument, std::string("'") + name + "' " + what);
  };
  auto it = body.is_object() ? body.find(name) : body.end();
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return field("must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_len) return field(("is longer than " + std::to_string(max_len)).c_str());
  return std::optional<std::string>(s);
}

Result<std::string> string_field(const nlohmann::json& body, const char* name,
                                 std::size_t max_len) {
  auto s = optional_string_field(body, name, max_len);
  if (!s) return s.error();
  if (!*s)
    return make_error(ErrorKind::invalid_argument,
                      std::string("'") + name + "' is required (a string)");
  return std::move(**s);
}

bool has_control_chars(std::string_view text, TextLines lines) {
  for (unsigned char c : text) {
    if (lines == TextLines::many && (c == '\n' || c == '\t')) continue;
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

Result<FootageRange> footage_range(const nlohmann::json& body) {
  constexpr std::size_t kMaxReason = 1024;
  auto invalid = [](std::string m) {
    return make_error(ErrorKind::invalid_argument, std::move(m));
  };
  if (!body.is_object()) return invalid("body must be a JSON object {camera_id, from, to, reason}");
  FootageRange out;
  auto camera = string_field(body, "camera_id", 64);
  if (!camera) return camera.error();
  auto from_text = string_field(body, "from", 64);
  if (!from_text) return from_text.error();
  auto to_text = string_field(body, "to", 64);
  if (!to_text) return to_text.error();
  auto reason = string_field(body, "reason", kMaxReason);
  if (!reason) return reason.error();
  auto from = parse_time(*from_text, "'from'");
  if (!from) return from.error();
  auto to = parse_time(*to_text, "'to'");
  if (!to) return to.error();
  if (*to <= *from) return invalid("'to' must be after 'from'");
  if (reason->empty()) return invalid("'reason' must be 1 to 1024 bytes");
  if (has_control_chars(*reason, TextLines::many))
    return invalid("'reason' has control characters");
  return FootageRange{std::move(*camera), *from, *to, std::move(*reason)};
}

}  // namespace zaulek::server
