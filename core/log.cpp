#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>

namespace zaulek::log {

std::optional<spdlog::level::level_enum> parse_level(std::string_view text) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
      {"off", spdlog::level::off}};
  for (auto& [name, level] : kLevels)
    if (name == text) return level;
  return std::nullopt;
}

void init(spdlog::level::level_enum level) {
  auto logger =
      std::make_shared<spdlog::logger>("zaulek", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (std::getenv("JOURNAL_STREAM")) {
    // journald stamps the time itself.
    logger->set_pattern("%l: %v");
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace zaulek::log
