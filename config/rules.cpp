#include "config/rules.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "config/rules_toml.h"
#include "core/ids.h"

namespace zaulek::config {

namespace {

constexpr const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

std::string list_toml(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) out += (out.size() > 1 ? ", " : "") + toml_quote(s);
  return out + "]";
}

}  // namespace

std::string toml_quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

const std::vector<std::string_view>& event_kinds() {
  static const std::vector<std::string_view> kinds = {"motion", "line_crossing", "intrusion",
                                                      "tamper", "video_loss",    "io_input",
                                                      "health", "other"};
  return kinds;
}

std::string check_rule(const Rule& r) {
  if (!valid_camera_id(r.id))
    return "id: must be 1 to 64 characters of A-Z a-z 0-9 . _ - (not leading .)";
  if (r.cameras.size() > kMaxRuleCameras)
    return "cameras: at most " + std::to_string(kMaxRuleCameras) + " entries";
  for (const auto& c : r.cameras)
    if (!valid_camera_id(c)) return "cameras: " + toml_quote(c) + " is not a camera id";
  for (const auto& k : r.kinds) {
    const auto& all = event_kinds();
    if (std::find(all.begin(), all.end(), k) == all.end()) {
      std::string names;
      for (auto n : all) names += (names.empty() ? "" : ", ") + std::string(n);
      return "kinds: unknown kind " + toml_quote(k) + "; expected one of " + names;
    }
  }
  for (int d : r.days)
    if (d < 0 || d > 6) return "days: day numbers are 0 (Monday) to 6 (Sunday)";
  if (r.from_minute < 0 || r.from_minute >= 1440 || r.to_minute < 0 || r.to_minute >= 1440)
    return "hours: times must be 00:00 to 23:59";
  if (r.debounce_ms < 0 || r.debounce_ms > kMaxDebounceMs)
    return "debounce_ms: " + std::to_string(r.debounce_ms) + " is out of range 0.." +
           std::to_string(kMaxDebounceMs);
  if (r.priority < 1 || r.priority > 5)
    return "priority: " + std::to_string(r.priority) + " is out of range 1..5";
  if (r.record_seconds < 0 || r.record_seconds > kMaxRecordSeconds)
    return "record_seconds: " + std::to_string(r.record_seconds) + " is out of range 0.." +
           std::to_string(kMaxRecordSeconds);
  if (r.record_seconds > 0 && !r.record) return "record_seconds: needs record = true";
  return {};
}

std::string parse_days(const std::vector<std::string>& names, std::vector<int>& days) {
  std::set<int> seen;
  for (const auto& n : names) {
    auto it = std::find(std::begin(kDays), std::end(kDays), n);
    if (it == std::end(kDays))
      return "days: unknown day " + toml_quote(n) + "; expected mon, tue, wed, thu, fri, sat, sun";
    seen.insert(static_cast<int>(it - std::begin(kDays)));
  }
  days.assign(seen.begin(), seen.end());
  return {};
}

std::vector<std::string> day_names(const std::vector<int>& days) {
  std::vector<std::string> out;
  for (int d : days)
    if (d >= 0 && d <= 6) out.emplace_back(kDays[d]);
  return out;
}

std::string parse_hours(std::string_view text, int& from_minute, int& to_minute) {
  auto bad = [&] {
    return "hours: expected \"HH:MM-HH:MM\" (24-hour local time), got " + toml_quote(text);
  };
  if (text.size() != 11 || text[2] != ':' || text[5] != '-' || text[8] != ':') return bad();
  auto two = [&](std::size_t at, int& out) {
    if (text[at] < '0' || text[at] > '9' || text[at + 1] < '0' || text[at + 1] > '9') return false;
    out = (text[at] - '0') * 10 + (text[at + 1] - '0');
    return true;
  };
  int h1 = 0, m1 = 0, h2 = 0, m2 = 0;
  if (!two(0, h1) || !two(3, m1) || !two(6, h2) || !two(9, m2)) return bad();
  if (h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59) return bad();
  from_minute = h1 * 60 + m1;
  to_minute = h2 * 60 + m2;
  return {};
}

std::string hours_text(const Rule& r) {
  if (r.from_minute == r.to_minute) return {};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d-%02d:%02d", (r.from_minute / 60) % 100,
                r.from_minute % 60, (r.to_minute / 60) % 100, r.to_minute % 60);
  return buf;
}

std::optional<RuleError> parse_rules(const toml::node& node, std::vector<Rule>& out) {
  const auto* arr = node.as_array();
  if (!arr || !arr->is_array_of_tables())
    return RuleError{node.source(), "rules: expected an array of tables ([[rules]])"};
  if (arr->size() > kMaxRules)
    return RuleError{node.source(), "rules: at most " + std::to_string(kMaxRules) + " rules"};
  std::set<std::string> ids;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto& table = *(*arr)[i].as_table();
    const std::string where = "rules[" + std::to_string(i) + "]";
    Rule r;
    std::optional<RuleError> err;
    auto fail = [&](const toml::node& n, std::string what) {
      if (!err) err = RuleError{n.source(), where + "." + what};
    };
    auto strings = [&](const toml::node& n, const char* key, std::vector<std::string>& v) {
      const auto* a = n.as_array();
      if (!a) return fail(n, std::string(key) + ": expected an array of strings");
      if (a->size() > kMaxRuleCameras)
        return fail(n,
                    std::string(key) + ": at most " + std::to_string(kMaxRuleCameras) + " entries");
      for (const auto& e : *a) {
        if (!e.is_string()) return fail(e, std::string(key) + ": expected an array of strings");
        v.push_back(e.as_string()->get());
      }
    };
    for (auto&& [key, value] : table) {
      std::string_view k = key.str();
      if (k == "id") {
        if (!value.is_string())
          fail(value, "id: expected a string");
        else
          r.id = value.as_string()->get();
      } else if (k == "cameras") {
        strings(value, "cameras", r.cameras);
      } else if (k == "kinds") {
        strings(value, "kinds", r.kinds);
      } else if (k == "days") {
        std::vector<std::string> names;
        strings(value, "days", names);
        if (auto what = parse_days(names, r.days); !what.empty()) fail(value, what);
      } else if (k == "hours") {
        if (!value.is_string())
          fail(value, "hours: expected a string \"HH:MM-HH:MM\"");
        else if (auto what = parse_hours(value.as_string()->get(), r.from_minute, r.to_minute);
                 !what.empty())
          fail(value, what);
      } else if (k == "debounce_ms" || k == "priority" || k == "record_seconds") {
        if (!value.is_integer()) {
          fail(value, std::string(k) + ": expected an integer");
          continue;
        }
        auto v = value.as_integer()->get();
        if (k == "debounce_ms") {
          r.debounce_ms = v;
        } else if (k == "record_seconds") {
          if (v < 0 || v > kMaxRecordSeconds)
            fail(value, "record_seconds: " + std::to_string(v) + " is out of range 0.." +
                            std::to_string(kMaxRecordSeconds));
          else
            r.record_seconds = static_cast<int>(v);
        } else if (v < 1 || v > 5) {
          fail(value, "priority: " + std::to_string(v) + " is out of range 1..5");
        } else {
          r.priority = static_cast<int>(v);
        }
      } else if (k == "enabled" || k == "record" || k == "bookmark") {
        if (!value.is_boolean())
          fail(value, std::string(k) + ": expected a boolean (true or false)");
        else
          (k == "enabled"  ? r.enabled
           : k == "record" ? r.record
                           : r.bookmark) = value.as_boolean()->get();
      } else {
        fail(value, "unknown key " + toml_quote(k).substr(1, toml_quote(k).size() - 2));
      }
    }
    if (err) return err;
    if (!table.contains("id")) return RuleError{table.source(), where + ": id is required"};
    if (auto what = check_rule(r); !what.empty()) {
      std::string field = what.substr(0, what.find(':'));
      const toml::node* at = table.get(field);
      return RuleError{at ? at->source() : table.source(), where + "." + what};
    }
    if (!ids.insert(r.id).second)
      return RuleError{table.get("id")->source(),
                       where + ".id: duplicate rule id " + toml_quote(r.id)};
    out.push_back(std::move(r));
  }
  return std::nullopt;
}

std::string rules_toml(const std::vector<Rule>& rules) {
  std::string out;
  for (const auto& r : rules) {
    out += "\n[[rules]]\nid = " + toml_quote(r.id) + "\n";
    if (!r.cameras.empty()) out += "cameras = " + list_toml(r.cameras) + "\n";
    if (!r.kinds.empty()) out += "kinds = " + list_toml(r.kinds) + "\n";
    if (!r.days.empty()) out += "days = " + list_toml(day_names(r.days)) + "\n";
    if (auto h = hours_text(r); !h.empty()) out += "hours = " + toml_quote(h) + "\n";
    out += "debounce_ms = " + std::to_string(r.debounce_ms) + "\n";
    out += "priority = " + std::to_string(r.priority) + "\n";
    out += std::string("enabled = ") + (r.enabled ? "true" : "false") + "\n";
    if (r.record) out += "record = true\n";
    if (r.record_seconds) out += "record_seconds = " + std::to_string(r.record_seconds) + "\n";
    if (r.bookmark) out += "bookmark = true\n";
  }
  return out;
}

std::string rules_markdown() {
  return "\n## [[rules]]\n\n"
         "Alarm rules: an array of tables, none by default (tampering, video loss and camera "
         "health raise an alarm even without rules). Each event is matched against every "
         "enabled rule; the matching rule with the highest priority raises the alarm. "
         "Rules can also be made over the API (`POST /api/v1/rules`); see "
         "[events.md](events.md) for what they do. Not settable from the environment. "
         "At most " +
         std::to_string(kMaxRules) +
         " rules.\n\n"
         "| key | type | default | allowed | description |\n"
         "| --- | --- | --- | --- | --- |\n"
         "| `id` | string | required | 1..64 of `A-Z a-z 0-9 . _ -`, unique | Names the rule in "
         "alarms and in the API. |\n"
         "| `cameras` | array of strings | `[]` (every camera) | camera ids | Cameras the rule "
         "watches. |\n"
         "| `kinds` | array of strings | `[]` (every kind) | `motion`, `line_crossing`, "
         "`intrusion`, `tamper`, `video_loss`, `io_input`, `health`, `other` | Event kinds that "
         "raise the alarm. |\n"
         "| `days` | array of strings | `[]` (every day) | `mon` .. `sun` | Days (local time) on "
         "which the rule is armed. |\n"
         "| `hours` | string | unset (all day) | `\"HH:MM-HH:MM\"`, may wrap past midnight | Local "
         "time window in which the rule is armed; the end is exclusive. |\n"
         "| `debounce_ms` | integer | `0` | 0.." +
         std::to_string(kMaxDebounceMs) +
         " | Events from the same source closer than this to the last one taken are "
         "ignored. |\n"
         "| `priority` | integer | `3` | 1..5 | Alarm priority, 5 most urgent. |\n"
         "| `enabled` | boolean | `true` | `true`, `false` | A disabled rule matches nothing. |\n"
         "| `record` | boolean | `false` | `true`, `false` | Events the rule matches start "
         "recording on cameras in mode `events` (from `[recording] pre_event_s` before the event "
         "to `post_event_s` after its end). Once any enabled rule has `record = true`, only such "
         "rules start events-mode recording; with none, every motion, line crossing, intrusion, "
         "tamper and I/O event does. No effect on `continuous` cameras. |\n"
         "| `record_seconds` | integer | `0` | 0.." +
         std::to_string(kMaxRecordSeconds) +
         ", only with `record = true` | 0: the recording follows the event (start to stop, a "
         "pulse around it). N: it lasts N seconds from the event's start, whatever its stop "
         "(then `post_event_s`); a start whose stop never comes records no longer. |\n"
         "| `bookmark` | boolean | `false` | `true`, `false` | Every alarm the rule raises (not "
         "a repeat folded into an open alarm) makes a bookmark at the event's time, linked to "
         "the alarm. |\n";
}

}  // namespace zaulek::config
