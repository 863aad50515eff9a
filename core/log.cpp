#include "core/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>

#include "core/text/utf8.h"

namespace zaulek::log {

std::string escape_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : to_valid_utf8(text)) {
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
      continue;
    }
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
  }
  return out;
}

namespace {

// %v with escape_line(): a user name, a path or a camera's text holding a
// newline cannot write a line of its own (forged log entries).
class EscapedPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string s = escape_line(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedPayload>();
  }
};

}  // namespace

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
  // journald stamps the time itself.
  const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  auto formatter = std::make_unique<spdlog::pattern_formatter>(
      journal ? spdlog::pattern_time_type::local : spdlog::pattern_time_type::utc);
  formatter->add_flag<EscapedPayload>('*').set_pattern(journal ? "%l: %*"
                                                               : "%Y-%m-%dT%H:%M:%S.%eZ %l %*");
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace zaulek::log
