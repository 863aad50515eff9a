// Topic and item normalization, as a table: what cameras send -> kind/state.
#include <gtest/gtest.h>

#include "onvif/events/normalize.h"

namespace zaulek::onvif {
namespace {

struct Case {
  const char* name;
  Notification in;
  EventKind kind;
  EventState state;
};

Notification n(std::string topic, Items data, std::string op = "Changed", Items source = {}) {
  Notification x;
  x.topic = std::move(topic);
  x.data = std::move(data);
  x.property_operation = std::move(op);
  x.source = std::move(source);
  return x;
}

const Case kCases[] = {
    {"cell motion start", n("tns1:RuleEngine/CellMotionDetector/Motion", {{"IsMotion", "true"}}),
     EventKind::motion, EventState::start},
    {"cell motion stop", n("tns1:RuleEngine/CellMotionDetector/Motion", {{"IsMotion", "false"}}),
     EventKind::motion, EventState::stop},
    {"motion alarm State", n("tns1:VideoSource/MotionAlarm", {{"State", "true"}}),
     EventKind::motion, EventState::start},
    {"other prefix", n("ns2:RuleEngine/ns2:CellMotionDetector/ns2:Motion", {{"IsMotion", "1"}}),
     EventKind::motion, EventState::start},
    {"axis vmd", n("tnsaxis:VMD/Camera1ProfileANY", {{"active", "0"}}), EventKind::motion,
     EventState::stop},
    {"whitespace around topic",
     n("\n  tns1:RuleEngine/CellMotionDetector/Motion \n", {{"IsMotion", " TRUE "}}),
     EventKind::motion, EventState::start},
    {"initialized is the current state",
     n("tns1:VideoSource/MotionAlarm", {{"State", "false"}}, "Initialized"), EventKind::motion,
     EventState::stop},
    {"deleted property stops", n("tns1:VideoSource/MotionAlarm", {{"State", "true"}}, "Deleted"),
     EventKind::motion, EventState::stop},
    {"line crossing is a pulse", n("tns1:RuleEngine/LineDetector/Crossed", {{"ObjectId", "1"}}, ""),
     EventKind::line_crossing, EventState::pulse},
    {"field detector", n("tns1:RuleEngine/FieldDetector/ObjectsInside", {{"IsInside", "true"}}),
     EventKind::intrusion, EventState::start},
    {"hikvision-like intrusion", n("tns1:RuleEngine/IntrusionDetection", {{"State", "false"}}),
     EventKind::intrusion, EventState::stop},
    {"tamper global scene change",
     n("tns1:VideoSource/GlobalSceneChange/ImagingService", {{"State", "true"}}), EventKind::tamper,
     EventState::start},
    {"tamper vendor", n("tns1:RuleEngine/TamperDetector/Tamper", {{"IsTamper", "false"}}),
     EventKind::tamper, EventState::stop},
    {"image too blurry", n("tns1:VideoSource/ImageTooBlurry/AnalyticsService", {{"State", "true"}}),
     EventKind::tamper, EventState::start},
    {"signal loss", n("tns1:VideoSource/SignalLoss", {{"State", "true"}}), EventKind::video_loss,
     EventState::start},
    {"digital input",
     n("tns1:Device/Trigger/DigitalInput", {{"LogicalState", "true"}}, "Changed",
       {{"InputToken", "DI0"}}),
     EventKind::io_input, EventState::start},
    {"io port", n("tns1:Device/IO/VirtualPort", {{"State", "inactive"}}), EventKind::io_input,
     EventState::stop},
    {"unknown topic, no state", n("tns1:Monitoring/ProcessorUsage", {{"Value", "42.5"}}),
     EventKind::other, EventState::pulse},
    {"unknown topic, literal boolean", n("acme:Foo/Bar", {{"Whatever", "true"}}), EventKind::other,
     EventState::start},
    {"empty topic", n("", {}), EventKind::other, EventState::pulse},
};

TEST(OnvifEventsNormalize, Table) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    auto e = normalize(c.in);
    EXPECT_EQ(to_string(e.kind), to_string(c.kind));
    EXPECT_EQ(to_string(e.state), to_string(c.state));
  }
}

TEST(OnvifEventsNormalize, KeepsTopicAndItems) {
  Notification x = n(" tns1:RuleEngine/CellMotionDetector/Motion ", {{"IsMotion", "true"}},
                     "Changed", {{"VideoSourceConfigurationToken", "vsc0"}, {"Rule", "R1"}});
  x.key = {{"ObjectId", "7"}};
  auto e = normalize(x);
  EXPECT_EQ(e.topic, "tns1:RuleEngine/CellMotionDetector/Motion");
  EXPECT_EQ(e.property_operation, "Changed");
  ASSERT_EQ(e.source.size(), 3u);
  EXPECT_EQ(e.source[0],
            (std::pair<std::string, std::string>{"VideoSourceConfigurationToken", "vsc0"}));
  EXPECT_EQ(e.source[2], (std::pair<std::string, std::string>{"ObjectId", "7"}));
  ASSERT_EQ(e.data.size(), 1u);
  EXPECT_EQ(e.data[0].second, "true");
}

TEST(OnvifEventsNormalize, StripPrefixes) {
  EXPECT_EQ(strip_topic_prefixes("tns1:RuleEngine/CellMotionDetector/Motion"),
            "RuleEngine/CellMotionDetector/Motion");
  EXPECT_EQ(strip_topic_prefixes("a:B/c:D/E"), "B/D/E");
  EXPECT_EQ(strip_topic_prefixes("  x:Y  "), "Y");
  EXPECT_EQ(strip_topic_prefixes(""), "");
}

TEST(OnvifEventsNormalize, KindNames) {
  EXPECT_EQ(to_string(EventKind::line_crossing), "line_crossing");
  EXPECT_EQ(to_string(EventKind::video_loss), "video_loss");
  EXPECT_EQ(to_string(EventKind::io_input), "io_input");
  EXPECT_EQ(to_string(EventState::pulse), "pulse");
}

}  // namespace
}  // namespace zaulek::onvif
