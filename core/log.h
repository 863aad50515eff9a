// Logging setup: spdlog to stderr in a journald-friendly form: one line per
// record; under systemd (JOURNAL_STREAM set) no timestamp, journald adds it.
#pragma once

#include <spdlog/spdlog.h>

#include <optional>
#include <string>
#include <string_view>

namespace zaulek::log {

// Levels: trace, debug, info, warn, error, critical, off.
std::optional<spdlog::level::level_enum> parse_level(std::string_view text);
// `text` as one log line: valid UTF-8, control characters escaped (\n, \r,
// \t, \xNN). Every record's message goes through it.
std::string escape_line(std::string_view text);
// Installs the default logger on stderr.
void init(spdlog::level::level_enum level);

}  // namespace zaulek::log
