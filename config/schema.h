// The config schema seen from outside the loader: the generated reference
// (docs/config.md), the environment variable names and the effective config
// as TOML. All of it comes from the one field table in config.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace zaulek::config {

// Every key as "section.key", in table order.
std::vector<std::string> field_keys();

// "server.listen" -> "ZAULEK_SERVER_LISTEN".
std::string env_var_name(std::string_view dotted_key);

// The whole config as TOML, every key (unset optional paths as comments).
// parse(to_toml(c)) gives c back.
std::string to_toml(const Config& config);

// The text of docs/config.md.
std::string reference_markdown();

}  // namespace zaulek::config
