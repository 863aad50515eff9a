#include "sim/onvif/event_messages.h"

#include <cctype>
#include <charconv>

namespace zaulek::sim::onvif_sim {
namespace {

const char* b(bool v) {
  return v ? "true" : "false";
}

// One MessageDescription for the TopicSet.
std::string description(bool property, const std::vector<std::string>& source_items,
                        const std::string& data_name, const std::string& data_type) {
  std::string x = std::string("<tt:MessageDescription IsProperty=\"") + b(property) + "\">";
  x += "<tt:Source>";
  for (const auto& s : source_items)
    x += "<tt:SimpleItemDescription Name=\"" + s + "\" Type=\"tt:ReferenceToken\"/>";
  x += "</tt:Source><tt:Data><tt:SimpleItemDescription Name=\"" + data_name + "\" Type=\"" +
       data_type + "\"/></tt:Data></tt:MessageDescription>";
  return x;
}

}  // namespace

std::optional<EventMessage> make_event(const EventSpec& spec, const std::string& utc_time,
                                       int object_id) {
  EventMessage m;
  m.utc_time = utc_time;
  m.property_operation = "Changed";
  const std::pair<std::string, std::string> vsc{"VideoSourceConfigurationToken", "vsc0"};
  const std::pair<std::string, std::string> vac{"VideoAnalyticsConfigurationToken", "vac0"};
  if (spec.kind == "motion") {
    m.topic = "tns1:RuleEngine/CellMotionDetector/Motion";
    m.source = {vsc, vac, {"Rule", "MyMotionDetectorRule"}};
    m.data = {{"IsMotion", b(spec.state)}};
  } else if (spec.kind == "motion_alarm") {
    m.topic = "tns1:VideoSource/MotionAlarm";
    m.source = {{"VideoSourceToken", "vs0"}};
    m.data = {{"State", b(spec.state)}};
  } else if (spec.kind == "line_crossing") {
    // A pulse: LineDetector/Crossed is not a property event (no PropertyOperation).
    m.topic = "tns1:RuleEngine/LineDetector/Crossed";
    m.property_operation.clear();
    m.source = {vsc, vac, {"Rule", "MyLineDetectorRule"}};
    m.data = {{"ObjectId", std::to_string(object_id)}};
  } else if (spec.kind == "field_detection") {
    m.topic = "tns1:RuleEngine/FieldDetector/ObjectsInside";
    m.source = {vsc, vac, {"Rule", "MyFieldDetectorRule"}};
    m.data = {{"IsInside", b(spec.state)}};
  } else if (spec.kind == "tamper") {
    m.topic = "tns1:VideoSource/GlobalSceneChange/ImagingService";
    m.source = {{"VideoSourceToken", "vs0"}};
    m.data = {{"State", b(spec.state)}};
  } else {
    return std::nullopt;
  }
  return m;
}

const std::string& topic_set_xml() {
  static const std::string xml = [] {
    const std::vector<std::string> rule = {"VideoSourceConfigurationToken",
                                           "VideoAnalyticsConfigurationToken", "Rule"};
    std::string x;
    x += "<tns1:VideoSource wstop:topic=\"false\">";
    x += "<MotionAlarm wstop:topic=\"true\">" +
         description(true, {"VideoSourceToken"}, "State", "xsd:boolean") + "</MotionAlarm>";
    x += "<GlobalSceneChange wstop:topic=\"false\"><ImagingService wstop:topic=\"true\">" +
         description(true, {"VideoSourceToken"}, "State", "xsd:boolean") +
         "</ImagingService></GlobalSceneChange>";
    x += "</tns1:VideoSource>";
    x += "<tns1:RuleEngine wstop:topic=\"false\">";
    x += "<CellMotionDetector wstop:topic=\"false\"><Motion wstop:topic=\"true\">" +
         description(true, rule, "IsMotion", "xsd:boolean") + "</Motion></CellMotionDetector>";
    x += "<LineDetector wstop:topic=\"false\"><Crossed wstop:topic=\"true\">" +
         description(false, rule, "ObjectId", "xsd:integer") + "</Crossed></LineDetector>";
    x += "<FieldDetector wstop:topic=\"false\"><ObjectsInside wstop:topic=\"true\">" +
         description(true, rule, "IsInside", "xsd:boolean") + "</ObjectsInside></FieldDetector>";
    x += "</tns1:RuleEngine>";
    return x;
  }();
  return xml;
}

void fill_notification(onvif::SoapContext& ctx, const EventMessage& msg,
                       const std::string& subscription_address,
                       wsnt__NotificationMessageHolderType& out) {
  struct soap* s = ctx.get();
  soap_default_wsnt__NotificationMessageHolderType(s, &out);
  if (!subscription_address.empty()) {
    out.SubscriptionReference = soap_new_wsa5__EndpointReferenceType(s, -1);
    out.SubscriptionReference->Address = ctx.strdup(subscription_address);
  }
  out.Topic = soap_new_wsnt__TopicExpressionType(s, -1);
  out.Topic->Dialect = kConcreteSet;
  out.Topic->__mixed = ctx.strdup(msg.topic);
  auto* m = soap_new__tt__Message(s, -1);
  m->UtcTime = msg.utc_time;
  if (!msg.property_operation.empty()) {
    m->PropertyOperation = soap_new_std__string(s, -1);
    *m->PropertyOperation = msg.property_operation;
  }
  auto items = [&](const std::vector<std::pair<std::string, std::string>>& kv) {
    auto* list = soap_new_tt__ItemList(s, -1);
    for (const auto& [k, v] : kv) {
      tt__SimpleItem item;
      soap_default_tt__SimpleItem(s, &item);
      item.Name = k;
      item.Value = v;
      list->SimpleItem.push_back(item);
    }
    return list;
  };
  m->Source = items(msg.source);
  m->Data = items(msg.data);
  out.Message.tt__Message = m;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  // [-]P[nY][nM][nD][T[nH][nM][n[.n]S]] without years/months (not fixed length).
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  skip_ws();
  if (i >= text.size() || text[i] != 'P') return std::nullopt;
  ++i;
  bool in_time = false, any = false;
  double total_ms = 0;
  while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
    if (text[i] == 'T') {
      in_time = true;
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start || i >= text.size() || i - start > 12) return std::nullopt;
    double value = 0;
    auto r = std::from_chars(text.data() + start, text.data() + i, value);
    if (r.ec != std::errc()) return std::nullopt;
    char unit = text[i++];
    if (!in_time && unit == 'D')
      total_ms += value * 86'400'000;
    else if (in_time && unit == 'H')
      total_ms += value * 3'600'000;
    else if (in_time && unit == 'M')
      total_ms += value * 60'000;
    else if (in_time && unit == 'S')
      total_ms += value * 1000;
    else
      return std::nullopt;
    any = true;
  }
  skip_ws();
  if (!any || i != text.size() || total_ms > 366.0 * 86'400'000) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(total_ms));
}

}  // namespace zaulek::sim::onvif_sim
