// Alarm rules: the shape shared by [[rules]] in the config file and by rules
// made over the API (POST /api/v1/rules); one validator for both. What a
// rule does is server/alarms/alarms.h; the syntax is in docs/events.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zaulek::config {

struct Rule {
  std::string id;                    // [A-Za-z0-9._-]{1,64}
  std::vector<std::string> cameras;  // camera ids; empty = every camera
  std::vector<std::string> kinds;    // event kinds; empty = every kind
  std::vector<int> days;             // 0 = Monday .. 6 = Sunday, local time; empty = every day
  // Local time window [from, to) in minutes after midnight; from == to: all
  // day; from > to wraps past midnight ("22:00-06:00").
  int from_minute = 0, to_minute = 0;
  std::int64_t debounce_ms = 0;  // 0..86400000
  int priority = 3;              // 1 (lowest) .. 5 (most urgent)
  bool enabled = true;
  // Events-mode recording around the events this rule matches (see
  // server/alarms/alarms.h: once any armed rule has record, only such rules start
  // events-mode recording).
  bool record = false;
  // With record: 0 = the recording follows the event (start to stop, a
  // pulse around it); N = it lasts N seconds from the event's start (a stop
  // does not end it sooner, a start without a stop no longer), 1..3600.
  int record_seconds = 0;
  // A bookmark at the event's time for every alarm this rule raises (not
  // for repeats folded into it).
  bool bookmark = false;
  bool operator==(const Rule&) const = default;
};

inline constexpr std::size_t kMaxRules = 256;
inline constexpr std::size_t kMaxRuleCameras = 1024;
inline constexpr std::int64_t kMaxDebounceMs = 86'400'000;
inline constexpr int kMaxRecordSeconds = 3600;

// The event kinds a rule may name (DESIGN.md plus zaulekd's own `health`).
const std::vector<std::string_view>& event_kinds();

// What is wrong with the rule, naming the field; empty when valid.
std::string check_rule(const Rule& rule);
// "mon".."sun" -> 0..6; what is wrong, or empty.
std::string parse_days(const std::vector<std::string>& names, std::vector<int>& days);
std::vector<std::string> day_names(const std::vector<int>& days);
// "HH:MM-HH:MM" (24 h) -> minutes; what is wrong, or empty.
std::string parse_hours(std::string_view text, int& from_minute, int& to_minute);
std::string hours_text(const Rule& rule);  // "" when all day

}  // namespace zaulek::config
