#include "onvif/events/normalize.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace zaulek::onvif {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool has(const std::string& hay, std::string_view needle) {
  return hay.find(needle) != std::string::npos;
}

std::optional<bool> as_bool(std::string_view value, bool strict) {
  std::string v = lower(trim(value));
  if (v == "true") return true;
  if (v == "false") return false;
  if (strict) return std::nullopt;
  if (v == "1" || v == "active" || v == "on" || v == "open") return true;
  if (v == "0" || v == "inactive" || v == "off" || v == "closed") return false;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(EventKind kind) {
  switch (kind) {
    case EventKind::motion:
      return "motion";
    case EventKind::line_crossing:
      return "line_crossing";
    case EventKind::intrusion:
      return "intrusion";
    case EventKind::tamper:
      return "tamper";
    case EventKind::video_loss:
      return "video_loss";
    case EventKind::io_input:
      return "io_input";
    case EventKind::other:
      return "other";
  }
  return "other";
}

std::string_view to_string(EventState state) {
  switch (state) {
    case EventState::start:
      return "start";
    case EventState::stop:
      return "stop";
    case EventState::pulse:
      return "pulse";
  }
  return "pulse";
}

std::string strip_topic_prefixes(std::string_view topic) {
  topic = trim(topic);
  std::string out;
  while (!topic.empty()) {
    auto slash = topic.find('/');
    std::string_view step = topic.substr(0, slash);
    if (auto colon = step.rfind(':'); colon != std::string_view::npos)
      step.remove_prefix(colon + 1);
    if (!out.empty()) out += '/';
    out += trim(step);
    if (slash == std::string_view::npos) break;
    topic.remove_prefix(slash + 1);
  }
  return out;
}

EventKind classify_topic(std::string_view topic) {
  const std::string t = lower(strip_topic_prefixes(topic));
  // Most specific first: "MotionRegionDetector" is motion, "LineDetector" a crossing.
  if (has(t, "linedetector") || has(t, "linecross") || has(t, "tripwire") || has(t, "crossed"))
    return EventKind::line_crossing;
  if (has(t, "fielddetector") || has(t, "intrusion") || has(t, "objectsinside") ||
      has(t, "regionentrance") || has(t, "loitering"))
    return EventKind::intrusion;
  if (has(t, "tamper") || has(t, "globalscenechange") || has(t, "imagetooblurry") ||
      has(t, "imagetoodark") || has(t, "imagetoobright") || has(t, "scenechange"))
    return EventKind::tamper;
  if (has(t, "signalloss") || has(t, "videoloss") || has(t, "signallost") ||
      has(t, "videosource/signal"))
    return EventKind::video_loss;
  if (has(t, "digitalinput") || has(t, "/io/") || t.rfind("io/", 0) == 0 || has(t, "alarminput") ||
      has(t, "inputport"))
    return EventKind::io_input;
  if (has(t, "motion") || has(t, "vmd")) return EventKind::motion;
  return EventKind::other;
}

EventState classify_state(EventKind kind, const Notification& n) {
  (void)kind;
  if (lower(trim(n.property_operation)) == "deleted") return EventState::stop;
  static constexpr std::array<std::string_view, 9> kStateItems = {
      "ismotion",     "state",  "isinside", "istamper", "iscrossing",
      "logicalstate", "active", "value",    "alarm"};
  for (auto name : kStateItems)
    for (const auto& [k, v] : n.data)
      if (lower(trim(k)) == name)
        if (auto b = as_bool(v, false)) return *b ? EventState::start : EventState::stop;
  for (const auto& [k, v] : n.data)
    if (auto b = as_bool(v, true)) return *b ? EventState::start : EventState::stop;
  return EventState::pulse;
}

NormalizedEvent normalize(const Notification& n) {
  NormalizedEvent e;
  e.kind = classify_topic(n.topic);
  e.state = classify_state(e.kind, n);
  e.topic = std::string(trim(n.topic));
  e.property_operation = std::string(trim(n.property_operation));
  e.source = n.source;
  e.source.insert(e.source.end(), n.key.begin(), n.key.end());
  e.data = n.data;
  return e;
}

}  // namespace zaulek::onvif
