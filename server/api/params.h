// Request parameters shared by the API handlers: camera ids, RFC 3339 times
// and bounded integers in the query string. Errors are invalid_argument with
// a message naming the parameter.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/error.h"
#include "server/http/http_types.h"

namespace zaulek::server {

// [A-Za-z0-9._-], 1 to 64 characters, not starting with a dot.
bool valid_camera_id(const std::string& id);

// Nanoseconds since the Unix epoch as RFC 3339 UTC, and back ("what" names
// the field in the error).
std::string time_text(std::int64_t ns);
Result<std::int64_t> parse_time(const std::string& text, const std::string& what);

// Query parameter `name` as a time (nanoseconds) or an integer in [min, max];
// `def` when absent or empty.
Result<std::int64_t> time_query(const Request& req, const char* name, std::int64_t def);
Result<std::int64_t> int_query(const Request& req, const char* name, std::int64_t def,
                               std::int64_t min, std::int64_t max);

}  // namespace zaulek::server
