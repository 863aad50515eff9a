// The simulated camera's event vocabulary: which ONVIF topic each EventSpec
// kind becomes, with the SimpleItems a real camera puts in Source and Data,
// and the TopicSet that GetEventProperties announces.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "onvif/soap_buffer.h"
#include "sim/onvif_device.h"

namespace zaulek::sim::onvif_sim {

inline constexpr const char* kConcreteSet =
    "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet";

struct EventMessage {
  std::string topic;               // "tns1:RuleEngine/CellMotionDetector/Motion"
  std::string utc_time;            // RFC 3339, device clock
  std::string property_operation;  // "Changed"; empty for pulse events (LineDetector/Crossed)
  std::vector<std::pair<std::string, std::string>> source, data;
};

// nullopt for an unknown kind. object_id numbers line crossings.
std::optional<EventMessage> make_event(const EventSpec& spec, const std::string& utc_time,
                                       int object_id);

// Literal wstop:TopicSet content for GetEventProperties.
const std::string& topic_set_xml();

// Fills a NotificationMessage (arena of ctx) from msg.
void fill_notification(onvif::SoapContext& ctx, const EventMessage& msg,
                       const std::string& subscription_address,
                       wsnt__NotificationMessageHolderType& out);

// xsd:duration (PnDTnHnMn.nS, no years or months) as milliseconds; nullopt
// when unreadable or above a year. InitialTerminationTime, Renew, Timeout.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace zaulek::sim::onvif_sim
