// Normalization of ONVIF event notifications: the camera's topic and
// SimpleItems become {kind, state, topic, source, data} as in DESIGN.md.
// Pure functions: no sockets, no clocks.
//
// Topic matching ignores the namespace prefix of every path step (tns1:,
// tnsaxis:, ns2:, ...) and case, so vendors' own prefixes normalize the same.
// The topic itself is kept exactly as the camera sent it (trimmed).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zaulek::onvif {

using Items = std::vector<std::pair<std::string, std::string>>;  // SimpleItem Name -> Value

// One wsnt:NotificationMessage as read from the wire.
struct Notification {
  std::string topic;               // text of wsnt:Topic
  std::string utc_time;            // tt:Message/@UtcTime ("" if absent)
  std::string property_operation;  // Initialized | Changed | Deleted | "" (not a property)
  Items source, key, data;
};

enum class EventKind { motion, line_crossing, intrusion, tamper, video_loss, io_input, other };
enum class EventState { start, stop, pulse };
std::string_view to_string(EventKind kind);
std::string_view to_string(EventState state);

struct NormalizedEvent {
  EventKind kind = EventKind::other;
  EventState state = EventState::pulse;
  std::string topic;  // as sent (trimmed of surrounding whitespace)
  std::string property_operation;
  Items source;  // Source and Key items
  Items data;
};

// Topic -> kind by its path steps with prefixes removed.
EventKind classify_topic(std::string_view topic);
// State from the Data items: the first known state item (IsMotion, State,
// IsInside, IsTamper, IsCrossing, LogicalState, Active, Value, Alarm) read as
// a boolean ("true"/"1"/"active"/"on" start, "false"/"0"/"inactive"/"off"
// stop), else any item whose value is literally true/false; a message
// without one is a pulse (line crossing: ObjectId only). PropertyOperation
// Deleted means the property is gone: stop.
EventState classify_state(EventKind kind, const Notification& n);
NormalizedEvent normalize(const Notification& n);

// The topic without namespace prefixes and surrounding whitespace:
// "tns1:RuleEngine/CellMotionDetector/Motion" -> "RuleEngine/CellMotionDetector/Motion".
std::string strip_topic_prefixes(std::string_view topic);

}  // namespace zaulek::onvif
