// Request parameters shared by the API handlers: camera ids, RFC 3339 times
// and bounded integers in the query string, string fields of JSON bodies,
// and the next page's cursor. Errors are invalid_argument with a message
// naming the parameter or field.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/error.h"
#include "core/ids.h"  // valid_camera_id
#include "server/http/http_types.h"

namespace zaulek::server {

// Nanoseconds since the Unix epoch as RFC 3339 UTC, and back ("what" names
// the field in the error).
std::string time_text(std::int64_t ns);
Result<std::int64_t> parse_time(const std::string& text, const std::string& what);

// 400 invalid_argument with `message`.
Response bad(std::string message);

// Query parameter `name` as a time (nanoseconds) or an integer in [min, max];
// `def` when absent or empty.
Result<std::int64_t> time_query(const Request& req, const char* name, std::int64_t def);
Result<std::int64_t> int_query(const Request& req, const char* name, std::int64_t def,
                               std::int64_t min, std::int64_t max);

// Query parameter `camera`: "" (all cameras) when absent or empty, else a
// camera id.
Result<std::string> camera_query(const Request& req);

// Query parameters `from` and `to` (defaults when absent); `to` after `from`.
struct TimeWindow {
  std::int64_t from_ns = 0;
  std::int64_t to_ns = 0;
};
Result<TimeWindow> window_query(const Request& req, std::int64_t default_from,
                                std::int64_t default_to);

// Query parameters `limit` (1 to max_limit, default 100) and `after` (an id;
// the page starts after it, default 0 = the first page).
struct Page {
  int limit = 100;
  std::int64_t after_id = 0;
};
Result<Page> page_query(const Request& req, int max_limit);

// The cursor of the next page: the last row's id (as a string) when the page
// came back full, else null (this was the last page).
nlohmann::json next_cursor(std::size_t rows, int limit, std::int64_t last_id);

// Body field `name`: a string of at most max_len bytes. Missing ("'x' is
// required (a string)"), not a string ("'x' must be a string") and too long
// are errors naming it.
Result<std::string> string_field(const nlohmann::json& body, const char* name, std::size_t max_len);
// The same for an optional field: absent or null is nullopt.
Result<std::optional<std::string>> optional_string_field(const nlohmann::json& body,
                                                         const char* name, std::size_t max_len);

// The body of a request about one camera's footage over a time range, for a
// reason (an evidence hold, an export): {camera_id, from, to, reason}. Each
// field checked, a 400 naming it: strings, RFC 3339 times with 'to' after
// 'from', a reason of 1 to 1024 bytes without control characters. The camera
// id's form and the camera are the caller's to check (camera_known).
struct FootageRange {
  std::string camera_id;
  std::int64_t from_ns = 0;
  std::int64_t to_ns = 0;
  std::string reason;
};
Result<FootageRange> footage_range(const nlohmann::json& body);

// Whether user text holds control characters (C0 or DEL). Notes and reasons
// may span lines (tab and newline allowed); names may not.
enum class TextLines { one, many };
bool has_control_chars(std::string_view text, TextLines lines);

}  // namespace zaulek::server
