// Internal to the config module: what a value must be. Each returns what is
// wrong (the text after "FILE:LINE:COL: section.key: "), or empty when valid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/field_table.h"

namespace zaulek::config {

inline constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

// An IP network "ADDRESS[/BITS]" (core/network.h).
std::string check_network(const std::string& text);
// "host:port" or "[v6]:port"; host must be an IP literal (the server binds it as is).
std::string split_listen(const std::string& text, std::string& host, std::uint16_t& port);
std::string check_listen(const std::string& text);
// "" or http(s)://host[:port][/path] without query, fragment, user info or spaces.
std::string check_notify_url(const std::string& text);
// 127.0.0.0/8, ::1 and ::ffff:127.x.y.z.
bool is_loopback_host(const std::string& host);

// A value against its field's declaration: type-specific range, choices,
// emptiness, the field's own check.
std::string check_value(const Field& f, const Value& v);

// Stage 4, rules that span fields: the first one broken, named by the key
// whose origin the error should cite.
struct CrossFieldError {
  std::string_view section, key;
  std::string what;
};
std::optional<CrossFieldError> check_across_fields(const Config& cfg);

}  // namespace zaulek::config
