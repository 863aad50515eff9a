// Normalization of ONVIF event notifications: the camera's topic and
// SimpleItems become {kind, state, topic, source, data} as in DESIGN.md.
// Pure functions: no sockets, no clocks.
//
// Topic matching ignores the namespace prefix of every path step (tns1:,
// tnsaxis:, ns2:, ...) and case, so vendors' own prefixes normalize the same.
// The topic itself is kept exactly as the camera sent it (trimmed).
#pragma once

#include <span>
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

// Where a topic's state is, per row of the topic table.
enum class StateFrom : unsigned char {
  items,  // the Data items named in TopicRule::items (first present wins)
  pulse,  // the message carries no state: a crossing, a stateless alarm
  any,    // the shape is not known: the generic search (see classify_state)
};

// One row of the topic table: which kind a vendor's topic is and where its
// state is. `path` is matched against the topic's steps without prefixes,
// case-insensitively, as a prefix of whole steps ("CameraApplicationPlatform/VMD"
// matches ".../VMD/Camera1Profile1"); "*" matches any one step. The longest
// matching path wins. Every row has a fixture with the message as the vendor
// sends it in tests/unit/onvif_events/normalize_test.cpp.
struct TopicRule {
  std::string_view path;
  EventKind kind;
  StateFrom state;
  std::string_view items;   // StateFrom::items: Data item names, '|'-separated
  std::string_view vendor;  // who sends it, for docs/events.md
};
std::span<const TopicRule> topic_rules();
// The row for a topic, or nullptr when no row matches.
const TopicRule* find_topic_rule(std::string_view topic);

// Topic -> kind: the table row's kind; a topic no row knows is classified by
// keywords in its path (another vendor's "IntrusionDetection", "SignalLoss");
// else other.
EventKind classify_topic(std::string_view topic);
// State from the Data items. PropertyOperation Deleted means the property is
// gone: stop. Else as the topic's row says; for StateFrom::any, a row's item
// that is missing, and topics without a row, the generic search: the first
// known state item (IsMotion, State, IsInside, IsTamper, IsCrossing,
// LogicalState, Active, Value, Alarm) read as a boolean ("true"/"1"/"active"/
// "on" start, "false"/"0"/"inactive"/"off" stop), else any item whose value is
// literally true/false; a message without one is a pulse.
EventState classify_state(const Notification& n);
NormalizedEvent normalize(const Notification& n);
// Whether a normalized message reports something that happened. A property
// "Initialized" is the state a camera reports when a subscription begins;
// for a topic without a state (a pulse: a line crossed) it is no event, and
// taking it for one raised a crossing on every (re)subscription (Uniview
// sends LineDetector/Crossed so).
bool is_occurrence(const NormalizedEvent& e);

// The topic without namespace prefixes and surrounding whitespace:
// "tns1:RuleEngine/CellMotionDetector/Motion" -> "RuleEngine/CellMotionDetector/Motion".
std::string strip_topic_prefixes(std::string_view topic);

}  // namespace zaulek::onvif
