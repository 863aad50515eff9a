// Internal to the config module: the shape of the field table (config.cpp).
// One row per key drives parsing (loader.cpp), range checks (checks.cpp), the
// environment names, to_toml() and docs/config.md (schema.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"

namespace zaulek::config {

using Strings = std::vector<std::string>;
// A field's value on its way in or out: the one representation the table speaks.
using Value = std::variant<bool, std::int64_t, std::string, Strings>;

enum class Kind {
  boolean,
  integer,        // min..max
  string,         // checked by Field::check
  path,           // non-empty; relative resolves against the config file's directory
  optional_path,  // like path; unset by default
  string_list,    // min..max entries, each 1..15 characters (an interface name)
  choice,         // one of Field::choices
};

struct Field {
  std::string_view section;
  std::string_view key;
  Kind kind;
  std::int64_t min = 0;
  std::int64_t max = 0;
  std::span<const std::string_view> choices = {};
  // Extra check for strings; returns what is wrong, or empty.
  std::string (*check)(const std::string&) = nullptr;
  std::string_view range_note = {};  // for docs, when min..max does not say it
  std::string_view description;
  Value (*get)(const Config&);
  void (*set)(Config&, Value&&);
};

// Every key, in table (and docs) order.
std::span<const Field> fields();
// The [section] names a file may use besides [[rules]].
std::span<const std::string_view> sections();
// nullptr when there is no such key.
const Field* find_field(std::string_view section, std::string_view key);

std::string dotted(const Field& f);    // "server.listen"
std::string env_name(const Field& f);  // "ZAULEK_SERVER_LISTEN"
std::string upper(std::string_view s);

inline std::int64_t as_int(const Value& v) {
  return std::get<std::int64_t>(v);
}
inline bool is_path_kind(Kind k) {
  return k == Kind::path || k == Kind::optional_path;
}

}  // namespace zaulek::config
