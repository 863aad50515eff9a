// Staged loading: defaults (the Config struct) -> TOML file -> ZAULEK_* environment ->
// cross-field validation. Every error names where the value came from ("FILE:LINE:COL" or
// "environment variable NAME") and the key; the keys themselves are the field table's.
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <system_error>
#include <variant>

#include "config/checks.h"
#include "config/config.h"
#include "config/field_table.h"
#include "config/rules_toml.h"

namespace zaulek::config {
namespace {

namespace fs = std::filesystem;

// A name from the file, safe to print: control characters escaped, no quotes added.
std::string printable(std::string_view s) {
  auto q = toml_quote(s);
  return q.substr(1, q.size() - 2);
}

Error invalid(const std::string& where, const std::string& what) {
  return make_error(ErrorKind::invalid_argument, where + ": " + what);
}

std::string location(std::string_view source, const toml::source_region& r) {
  return std::string(source) + ":" + std::to_string(r.begin.line) + ":" +
         std::to_string(r.begin.column);
}

std::string toml_type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string expected_name(const Field& f) {
  switch (f.kind) {
    case Kind::boolean:
      return "a boolean (true or false)";
    case Kind::integer:
      return "an integer";
    case Kind::string_list:
      return "an array of strings";
    default:
      return "a string";
  }
}

fs::path resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  if (path.is_absolute()) return path.lexically_normal();
  return (base / path).lexically_normal();
}

// Converts a TOML node to the field's Value, or says what is wrong.
std::variant<Value, std::string> from_node(const Field& f, const toml::node& node) {
  auto wrong_type = [&] {
    return "expected " + expected_name(f) + ", got " + toml_type_name(node.type());
  };
  switch (f.kind) {
    case Kind::boolean:
      if (auto* b = node.as_boolean()) return Value{b->get()};
      return wrong_type();
    case Kind::integer:
      if (auto* i = node.as_integer()) return Value{i->get()};
      return wrong_type();
    case Kind::string_list: {
      auto* arr = node.as_array();
      if (!arr) return wrong_type();
      // Bound before copying anything.
      if (arr->size() > static_cast<std::size_t>(f.max))
        return "has " + std::to_string(arr->size()) + " entries; at most " + std::to_string(f.max) +
               " allowed";
      Strings out;
      for (std::size_t i = 0; i < arr->size(); ++i) {
        auto* s = (*arr)[i].as_string();
        if (!s)
          return "entry " + std::to_string(i) + ": expected a string, got " +
                 toml_type_name((*arr)[i].type());
        out.push_back(s->get());
      }
      return Value{std::move(out)};
    }
    default:
      if (auto* s = node.as_string()) return Value{s->get()};
      return wrong_type();
  }
}

std::variant<Value, std::string> from_env(const Field& f, const std::string& text) {
  switch (f.kind) {
    case Kind::boolean:
      if (text == "true" || text == "1") return Value{true};
      if (text == "false" || text == "0") return Value{false};
      return "expected true or false, got " + toml_quote(text);
    case Kind::integer: {
      std::int64_t i = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return "expected an integer, got " + toml_quote(text);
      return Value{i};
    }
    case Kind::string_list: {
      // Comma-separated; spaces around names are ignored; empty text is an empty list.
      Strings out;
      if (text.find_first_not_of(" \t") == std::string::npos) return Value{out};
      std::size_t start = 0;
      while (true) {
        auto comma = text.find(',', start);
        auto item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto b = item.find_first_not_of(" \t");
        auto e = item.find_last_not_of(" \t");
        out.push_back(b == std::string::npos ? std::string() : item.substr(b, e - b + 1));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return Value{std::move(out)};
    }
    default:
      return Value{text};
  }
}

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Result<Config> parse_impl(std::string_view text, std::string_view source, const fs::path& base,
                          const EnvLookup& env) {
  const auto declared = fields();
  const std::size_t n = declared.size();
  std::vector<std::string> origin(n, std::string(source));  // defaults: just the source name
  Config cfg;
  cfg.source = fs::path(source);

  if (text.size() > kMaxFileBytes)
    return invalid(std::string(source), "file is " + std::to_string(text.size()) +
                                            " bytes; at most " + std::to_string(kMaxFileBytes) +
                                            " allowed");

  // Stage 2: the TOML file.
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return invalid(location(source, e.source()), std::string(e.description()));
  }
  // toml++ tables iterate in key order, not file order: collect every error and report the
  // one that comes first in the file.
  struct FileError {
    toml::source_position at;
    std::string where, what;
  };
  std::optional<FileError> first;
  auto fail = [&](const toml::source_region& r, std::string what) {
    if (!first || r.begin < first->at)
      first = FileError{r.begin, location(source, r), std::move(what)};
  };
  for (auto&& [skey, snode] : root) {
    std::string_view sname = skey.str();
    if (sname == "rules") {  // [[rules]]: an array of tables (config/rules.cpp)
      if (auto e = parse_rules(snode, cfg.rules)) fail(e->where, std::move(e->what));
      continue;
    }
    if (std::find(sections().begin(), sections().end(), sname) == sections().end()) {
      fail(skey.source(), snode.is_table() ? "unknown section [" + printable(sname) + "]"
                                           : "unknown key " + printable(sname));
      continue;
    }
    auto* table = snode.as_table();
    if (!table) {
      fail(skey.source(),
           std::string(sname) + ": expected a table, got " + toml_type_name(snode.type()));
      continue;
    }
    for (auto&& [key, node] : *table) {
      const Field* f = find_field(sname, key.str());
      if (!f) {
        fail(key.source(), "unknown key " + std::string(sname) + "." + printable(key.str()));
        continue;
      }
      auto converted = from_node(*f, node);
      if (auto* what = std::get_if<std::string>(&converted)) {
        fail(node.source(), dotted(*f) + ": " + *what);
        continue;
      }
      auto& value = std::get<Value>(converted);
      if (auto what = check_value(*f, value); !what.empty()) {
        fail(node.source(), dotted(*f) + ": " + what);
        continue;
      }
      if (is_path_kind(f->kind)) value = resolve(base, std::get<std::string>(value)).string();
      f->set(cfg, std::move(value));
      origin[static_cast<std::size_t>(f - declared.data())] = location(source, node.source());
    }
  }
  if (first) return invalid(first->where, first->what);

  // Stage 3: ZAULEK_<SECTION>_<KEY>. Other ZAULEK_* names are not ours to judge.
  if (env) {
    for (std::size_t i = 0; i < n; ++i) {
      const Field& f = declared[i];
      auto name = env_name(f);
      auto text = env(name);
      if (!text) continue;
      auto where = "environment variable " + name;
      if (text->size() > 64 * 1024) return invalid(where, dotted(f) + ": value too long");
      auto converted = from_env(f, *text);
      if (auto* what = std::get_if<std::string>(&converted))
        return invalid(where, dotted(f) + ": " + *what);
      auto& value = std::get<Value>(converted);
      if (auto what = check_value(f, value); !what.empty())
        return invalid(where, dotted(f) + ": " + what);
      // Relative paths from the environment are relative to the working directory.
      if (is_path_kind(f.kind))
        value = std::filesystem::absolute(std::get<std::string>(value)).lexically_normal().string();
      f.set(cfg, std::move(value));
      origin[i] = where;
    }
  }

  // Stage 4: rules that span fields, reported where the named key came from.
  if (auto e = check_across_fields(cfg))
    return invalid(
        origin[static_cast<std::size_t>(find_field(e->section, e->key) - declared.data())],
        e->what);
  return cfg;
}

fs::path base_dir(const fs::path& source) {
  std::error_code ec;
  auto abs = fs::absolute(source, ec);
  if (ec) return fs::path(".");
  return abs.parent_path();
}

}  // namespace

Result<Config> parse(std::string_view toml_text, std::string_view source_name,
                     const EnvLookup& env) {
  return parse_impl(toml_text, source_name, base_dir(fs::path(source_name)), env);
}

Result<Config> parse(std::string_view toml_text, std::string_view source_name) {
  return parse(toml_text, source_name, process_env());
}

Result<Config> load_file(const fs::path& path, const EnvLookup& env) {
  const std::string name = path.string();
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    return make_error(
        ec && ec != std::errc::no_such_file_or_directory ? ErrorKind::invalid_argument
                                                         : ErrorKind::not_found,
        name + ": cannot read: " + (ec ? ec.message() : std::string("No such file or directory")));
  if (!fs::is_regular_file(status)) return invalid(name, "not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid(name, "cannot open for reading");
  // Read at most one byte past the limit: the size check is on what was read, so a file that
  // grows while we read cannot slip past it.
  std::string text(kMaxFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return invalid(name, "read error");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes)
    return invalid(name, "file is larger than " + std::to_string(kMaxFileBytes) + " bytes");
  return parse_impl(text, name, base_dir(path), env);
}

Result<Config> load_file(const fs::path& path) {
  return load_file(path, process_env());
}

}  // namespace zaulek::config
