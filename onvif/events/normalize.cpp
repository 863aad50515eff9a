#include "onvif/events/normalize.h"

#include <algorithm>
#include <array>
#include <optional>

#include "core/text/text.h"

namespace zaulek::onvif {
namespace {

bool has(const std::string& hay, std::string_view needle) {
  return hay.find(needle) != std::string::npos;
}

std::optional<bool> as_bool(std::string_view value, bool strict) {
  std::string v = ascii_lower(trim(value));
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

namespace {

using K = EventKind;
using S = StateFrom;

// Vendors' topics, each verified against a message the vendor sends (the
// fixture and its source are in tests/unit/onvif_events/normalize_test.cpp).
// Object detections map to what they mean: a person or vehicle anywhere in
// the picture is motion, in an area intrusion, over a line line_crossing.
// Audio has no kind of its own (kinds are fixed in the catalogue's CHECK
// constraint): it is other, with its state read properly.
constexpr TopicRule kTopicRules[] = {
    // ONVIF topics as Hikvision, Dahua, Uniview, Axis and others send them.
    {"VideoSource/MotionAlarm", K::motion, S::items, "State", "ONVIF (Hikvision, Axis)"},
    {"RuleEngine/CellMotionDetector/Motion", K::motion, S::items, "IsMotion", "ONVIF (Hikvision)"},
    {"RuleEngine/MotionRegionDetector/Motion", K::motion, S::items, "State", "ONVIF (Axis)"},
    {"RuleEngine/LineDetector/Crossed", K::line_crossing, S::pulse, "",
     "ONVIF (Uniview, Hikvision, Dahua)"},
    {"RuleEngine/FieldDetector/ObjectsInside", K::intrusion, S::items, "IsInside",
     "ONVIF (Hikvision)"},
    {"RuleEngine/TamperDetector/Tamper", K::tamper, S::items, "IsTamper", "ONVIF (Hikvision)"},
    {"VideoSource/GlobalSceneChange", K::tamper, S::items, "State", "ONVIF (Hikvision, Axis)"},
    {"VideoSource/ImageTooDark", K::tamper, S::items, "State", "ONVIF (Hikvision)"},
    {"Device/Trigger/DigitalInput", K::io_input, S::items, "LogicalState", "ONVIF (Axis, Dahua)"},
    // Axis: AXIS Camera Application Platform applications and device topics.
    {"CameraApplicationPlatform/VMD", K::motion, S::items, "active", "Axis VMD4"},
    {"RuleEngine/VMD3", K::motion, S::items, "active", "Axis VMD3"},
    {"CameraApplicationPlatform/MotionGuard", K::motion, S::items, "active", "Axis Motion Guard"},
    {"CameraApplicationPlatform/FenceGuard", K::line_crossing, S::items, "active",
     "Axis Fence Guard"},
    {"CameraApplicationPlatform/LoiteringGuard", K::intrusion, S::items, "active",
     "Axis Loitering Guard"},
    // A scenario's type (area, line, ...) is not in the topic; "object in
    // area" is the application's default scenario.
    {"CameraApplicationPlatform/ObjectAnalytics", K::intrusion, S::items, "active",
     "AXIS Object Analytics"},
    {"Device/Sensor/PIR", K::motion, S::items, "state", "Axis PIR sensor"},
    {"Device/IO/Port", K::io_input, S::items, "state", "Axis I/O port"},
    {"Device/IO/VirtualInput", K::io_input, S::items, "active", "Axis virtual input"},
    {"Device/IO/VirtualPort", K::io_input, S::items, "state", "Axis manual trigger"},
    // Not a property: one message per tampering, "tampering" is an integer.
    {"VideoSource/Tampering", K::tamper, S::pulse, "", "Axis tampering"},
    {"AudioSource/TriggerLevel", K::other, S::items, "triggered", "Axis audio detection"},
    // Hikvision.
    {"Device/Trigger/AlarmIn", K::io_input, S::items, "State", "Hikvision alarm input"},
    // Dahua (Imou firmware puts the digital input under VideoSource).
    {"VideoSource/Device/Trigger/DigitalInput", K::io_input, S::items, "LogicalState",
     "Dahua (Imou)"},
    // Hanwha (Samsung) Wisenet; the old Axis VMD has the same path.
    {"VideoAnalytics/MotionDetection", K::motion, S::any, "", "Hanwha (Samsung)"},
    // TP-Link Tapo and VIGI.
    {"RuleEngine/CellMotionDetector/LineCross", K::line_crossing, S::items, "IsLineCross",
     "TP-Link"},
    {"RuleEngine/LineCrossDetector/LineCross", K::line_crossing, S::items, "IsLineCross",
     "TP-Link"},
    {"RuleEngine/CellMotionDetector/Intrusion", K::intrusion, S::items, "IsIntrusion", "TP-Link"},
    {"RuleEngine/CellMotionDetector/Tamper", K::tamper, S::items, "IsTamper", "TP-Link"},
    {"RuleEngine/CellMotionDetector/People", K::motion, S::items, "IsPeople", "TP-Link"},
    {"RuleEngine/PeopleDetector/People", K::motion, S::items, "IsPeople", "TP-Link"},
    {"RuleEngine/TPSmartEventDetector/TPSmartEvent", K::motion, S::items,
     "IsPeople|IsVehicle|IsPet", "TP-Link"},
    {"RuleEngine/CellMotionDetector/TpSmartEvent", K::motion, S::items, "IsPeople|IsVehicle|IsPet",
     "TP-Link"},
    // Reolink AI detections.
    {"RuleEngine/MyRuleDetector/PeopleDetect", K::motion, S::any, "", "Reolink"},
    {"RuleEngine/MyRuleDetector/VehicleDetect", K::motion, S::any, "", "Reolink"},
    {"RuleEngine/MyRuleDetector/Package", K::other, S::items, "State", "Reolink"},
};

// Topics no row knows: a keyword in the lower-case path (with '/' around it)
// decides, most specific first ("MotionRegionDetector" is motion, "LineDetector"
// a crossing).
struct Keyword {
  std::string_view word;
  EventKind kind;
};
constexpr Keyword kKeywords[] = {
    {"linedetector", K::line_crossing},
    {"linecross", K::line_crossing},
    {"tripwire", K::line_crossing},
    {"crossed", K::line_crossing},
    {"fielddetector", K::intrusion},
    {"intrusion", K::intrusion},
    {"objectsinside", K::intrusion},
    {"regionentrance", K::intrusion},
    {"loitering", K::intrusion},
    {"tamper", K::tamper},
    {"globalscenechange", K::tamper},
    {"imagetooblurry", K::tamper},
    {"imagetoodark", K::tamper},
    {"imagetoobright", K::tamper},
    {"scenechange", K::tamper},
    {"signalloss", K::video_loss},
    {"videoloss", K::video_loss},
    {"signallost", K::video_loss},
    {"/videosource/signal", K::video_loss},
    {"digitalinput", K::io_input},
    {"/io/", K::io_input},
    {"alarminput", K::io_input},
    {"inputport", K::io_input},
    {"motion", K::motion},
    {"vmd", K::motion},
};

// The part of `list` before the first `sep`, removed from it with the separator.
std::string_view next_part(std::string_view& list, char sep) {
  auto at = list.find(sep);
  std::string_view part = list.substr(0, at);
  list = at == std::string_view::npos ? std::string_view{} : list.substr(at + 1);
  return part;
}
std::string_view next_step(std::string_view& path) {
  return next_part(path, '/');
}
std::string_view next_item(std::string_view& names) {
  return next_part(names, '|');
}

// Number of steps of `rule` if it matches the start of `topic`, else 0.
size_t match_steps(std::string_view rule, std::string_view topic) {
  size_t n = 0;
  while (!rule.empty()) {
    if (topic.empty()) return 0;
    std::string_view want = next_step(rule), have = next_step(topic);
    if (want != "*" && !iequals(want, have)) return 0;
    ++n;
  }
  return n;
}

std::optional<EventState> from_bool(std::string_view value) {
  if (auto b = as_bool(value, false)) return *b ? EventState::start : EventState::stop;
  return std::nullopt;
}

EventState generic_state(const Notification& n) {
  static constexpr std::array<std::string_view, 9> kStateItems = {
      "ismotion",     "state",  "isinside", "istamper", "iscrossing",
      "logicalstate", "active", "value",    "alarm"};
  for (auto name : kStateItems)
    for (const auto& [k, v] : n.data)
      if (iequals(trim(k), name))
        if (auto s = from_bool(v)) return *s;
  for (const auto& [k, v] : n.data)
    if (auto b = as_bool(v, true)) return *b ? EventState::start : EventState::stop;
  return EventState::pulse;
}

}  // namespace

std::span<const TopicRule> topic_rules() {
  return kTopicRules;
}

const TopicRule* find_topic_rule(std::string_view topic) {
  const std::string t = strip_topic_prefixes(topic);
  const TopicRule* best = nullptr;
  size_t best_steps = 0;
  for (const auto& rule : kTopicRules)
    if (size_t n = match_steps(rule.path, t); n > best_steps) {
      best = &rule;
      best_steps = n;
    }
  return best;
}

namespace {

EventKind kind_for(const TopicRule* rule, std::string_view topic) {
  if (rule) return rule->kind;
  const std::string t = "/" + ascii_lower(strip_topic_prefixes(topic)) + "/";
  for (const auto& k : kKeywords)
    if (has(t, k.word)) return k.kind;
  return EventKind::other;
}

EventState state_for(const TopicRule* rule, const Notification& n) {
  if (iequals(trim(n.property_operation), "deleted")) return EventState::stop;
  if (rule && rule->state == StateFrom::pulse) return EventState::pulse;
  if (rule && rule->state == StateFrom::items)
    for (std::string_view names = rule->items; !names.empty();) {
      std::string_view name = next_item(names);
      for (const auto& [k, v] : n.data)
        if (iequals(trim(k), name))
          if (auto s = from_bool(v)) return *s;
    }
  return generic_state(n);
}

}  // namespace

EventKind classify_topic(std::string_view topic) {
  return kind_for(find_topic_rule(topic), topic);
}

EventState classify_state(const Notification& n) {
  return state_for(find_topic_rule(n.topic), n);
}

bool is_occurrence(const NormalizedEvent& e) {
  return !(e.state == EventState::pulse && iequals(e.property_operation, "initialized"));
}

NormalizedEvent normalize(const Notification& n) {
  NormalizedEvent e;
  const TopicRule* rule = find_topic_rule(n.topic);
  e.kind = kind_for(rule, n.topic);
  e.state = state_for(rule, n);
  e.topic = std::string(trim(n.topic));
  e.property_operation = std::string(trim(n.property_operation));
  e.source = n.source;
  e.source.insert(e.source.end(), n.key.begin(), n.key.end());
  e.data = n.data;
  return e;
}

}  // namespace zaulek::onvif
