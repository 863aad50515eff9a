// Internal to the config loader: [[rules]] from TOML (config/rules.cpp).
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/rules.h"

namespace zaulek::config {

struct RuleError {
  toml::source_region where;
  std::string what;
};

// `node` is the value of the top-level key "rules": an array of tables.
std::optional<RuleError> parse_rules(const toml::node& node, std::vector<Rule>& out);
// The rules as TOML ([[rules]] tables), for to_toml().
std::string rules_toml(const std::vector<Rule>& rules);
// The [[rules]] part of docs/config.md.
std::string rules_markdown();
// `s` as a TOML basic string, quotes included (also used in error messages).
std::string toml_quote(std::string_view s);

}  // namespace zaulek::config
