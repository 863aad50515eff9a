// Topic and item normalization, as a table: what cameras send -> kind/state.
#include <gtest/gtest.h>

#include <optional>
#include <set>

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

// A message as a vendor sends it: topic, PropertyOperation, Source, Key, Data.
Notification msg(std::string topic, std::string op, Items source, Items data, Items key = {}) {
  Notification x = n(std::move(topic), std::move(data), std::move(op), std::move(source));
  x.key = std::move(key);
  return x;
}

// Vendors' messages, one or more per row of topic_rules(). `from` names where
// the shape was read: a repository and path, or an issue's address. Values
// are as captured; where only a topic list was available (Axis
// GetEventInstances) the items are the declared ones and the comment says so.
struct Fixture {
  const char* from;
  Notification in;
  EventKind kind;
  std::optional<EventState> state;  // nullopt: the source does not show the Data
};

constexpr const char* kAxisCaptures = "Kane610/axis tests/event_fixtures.py";
// The same file's EVENT_INSTANCES: an Axis device's GetEventInstances answer
// (topic, Source and Data item names it declares). Axis writes booleans as
// 0/1 in every captured message above, so the fixtures do too.
constexpr const char* kAxisInstances = "Kane610/axis tests/event_fixtures.py EVENT_INSTANCES";
// A Hikvision PullMessagesResponse (xmlns:tnshik, hikwsd) kept in a comment.
constexpr const char* kHikvision = "jimm98y/SharpOnvif src/SharpOnvifServer/OnvifEvents.cs";
constexpr const char* kHikvisionTamper =
    "jimm98y/SharpOnvif src/SharpOnvifServer/Events/OnvifEvents.cs";
// Home Assistant's parser tests, made from cameras' logged messages.
constexpr const char* kHaTests = "home-assistant/core tests/components/onvif/test_parsers.py";
constexpr const char* kHaParsers = "home-assistant/core homeassistant/components/onvif/parsers.py";

const Items kTapoSource(const char* rule) {
  return {{"VideoSourceConfigurationToken", "vsconf"},
          {"VideoAnalyticsConfigurationToken", "VideoAnalyticsToken"},
          {"Rule", rule}};
}
const Items kHikSource(const char* rule) {
  return {{"VideoSourceConfigurationToken", "VideoSourceToken"},
          {"VideoAnalyticsConfigurationToken", "VideoAnalyticsToken"},
          {"Rule", rule}};
}

using K = EventKind;
using St = EventState;

const Fixture kFixtures[] = {
    // --- Axis: captures from cameras' event streams.
    {kAxisCaptures,
     msg("tnsaxis:CameraApplicationPlatform/VMD/Camera1Profile1", "Changed", {}, {{"active", "1"}}),
     K::motion, St::start},
    {kAxisCaptures,
     msg("tnsaxis:CameraApplicationPlatform/VMD/Camera1ProfileANY", "Initialized", {},
         {{"active", "0"}}),
     K::motion, St::stop},
    {kAxisCaptures,
     msg("tns1:RuleEngine/tnsaxis:VMD3/vmd3_video_1", "Initialized", {{"areaid", "0"}},
         {{"active", "0"}}),
     K::motion, St::stop},
    {kAxisCaptures,
     msg("tnsaxis:CameraApplicationPlatform/FenceGuard/Camera1Profile1", "Initialized", {},
         {{"active", "0"}}),
     K::line_crossing, St::stop},
    {kAxisCaptures,
     msg("tnsaxis:CameraApplicationPlatform/LoiteringGuard/Camera1Profile1", "Initialized", {},
         {{"active", "0"}}),
     K::intrusion, St::stop},
    {kAxisCaptures,
     msg("tnsaxis:CameraApplicationPlatform/MotionGuard/Camera1ProfileANY", "Initialized", {},
         {{"active", "0"}}),
     K::motion, St::stop},
    {kAxisCaptures,
     msg("tnsaxis:CameraApplicationPlatform/ObjectAnalytics/Device1Scenario1", "Initialized", {},
         {{"active", "0"}}),
     K::intrusion, St::stop},
    {kAxisCaptures,
     msg("tns1:Device/tnsaxis:Sensor/PIR", "Changed", {{"sensor", "0"}}, {{"state", "1"}}),
     K::motion, St::start},
    {kAxisCaptures,
     msg("tns1:Device/tnsaxis:IO/Port", "Initialized", {{"port", "1"}}, {{"state", "0"}}),
     K::io_input, St::stop},
    {kAxisCaptures,
     msg("tns1:AudioSource/tnsaxis:TriggerLevel", "Initialized", {{"channel", "1"}},
         {{"triggered", "0"}}),
     K::other, St::stop},
    {kAxisCaptures,
     msg("tns1:VideoSource/GlobalSceneChange/ImagingService", "Initialized", {{"Source", "0"}},
         {{"State", "0"}}),
     K::tamper, St::stop},
    {kAxisCaptures,
     msg("tns1:RuleEngine/MotionRegionDetector/Motion", "Initialized",
         {{"VideoSource", "0"}, {"RuleName", "Profile 1V"}}, {{"State", "0"}}),
     K::motion, St::stop},
    // --- Axis: declared by the device (GetEventInstances).
    // Tampering is not a property (no isProperty): a pulse with an integer.
    {kAxisInstances,
     msg("tns1:VideoSource/tnsaxis:Tampering", "", {{"channel", "1"}}, {{"tampering", "1"}}),
     K::tamper, St::pulse},
    {kAxisInstances,
     msg("tns1:Device/Trigger/DigitalInput", "Changed", {{"InputToken", "0"}},
         {{"LogicalState", "1"}}),
     K::io_input, St::start},
    {kAxisInstances,
     msg("tns1:Device/tnsaxis:IO/VirtualInput", "Changed", {{"port", "1"}}, {{"active", "1"}}),
     K::io_input, St::start},
    {kAxisInstances,
     msg("tns1:Device/tnsaxis:IO/VirtualPort", "Changed", {{"port", "1"}}, {{"state", "1"}}),
     K::io_input, St::start},

    // --- Hikvision.
    {kHikvision,
     msg("tns1:VideoSource/MotionAlarm", "Initialized", {{"Source", "VideoSource_1"}},
         {{"State", "false"}}),
     K::motion, St::stop},
    {kHikvision,
     msg("tns1:RuleEngine/CellMotionDetector/Motion", "Initialized",
         kHikSource("MyMotionDetectorRule"), {{"IsMotion", "false"}}),
     K::motion, St::stop},
    {kHikvision,
     msg("tns1:RuleEngine/FieldDetector/ObjectsInside", "Initialized",
         kHikSource("MyFieldDetector1"), {{"IsInside", "false"}}, {{"ObjectId", "0"}}),
     K::intrusion, St::stop},
    {kHikvision,
     msg("tns1:VideoSource/ImageTooDark/ImagingService", "Initialized",
         {{"Source", "VideoSourceToken"}}, {{"State", "false"}}),
     K::tamper, St::stop},
    {kHikvision,
     msg("tns1:VideoSource/GlobalSceneChange/ImagingService", "Initialized",
         {{"Source", "VideoSource_1"}}, {{"State", "false"}}),
     K::tamper, St::stop},
    {kHikvisionTamper,
     msg("tns1:RuleEngine/TamperDetector/Tamper", "Initialized", kHikSource("MyTamperDetectorRule"),
         {{"IsTamper", "false"}}),
     K::tamper, St::stop},
    {"openvideolibs/onvif-parsers tests/test_hikvision.py",
     msg("tns1:Device/Trigger/tnshik:AlarmIn", "Initialized", {{"AlarmInToken", "AlarmIn_1"}},
         {{"State", "true"}}),
     K::io_input, St::start},

    // --- Uniview: HA's line-crossing fixture is the Uniview camera's message
    // in https://github.com/home-assistant/core/issues/35916.
    {kHaTests,
     msg("tns1:RuleEngine/LineDetector/Crossed", "Initialized",
         {{"VideoSourceConfigurationToken", "video_source_config1"},
          {"VideoAnalyticsConfigurationToken", "analytics_video_source"},
          {"Rule", "MyLineDetectorRule"}},
         {{"ObjectId", "0"}}),
     K::line_crossing, St::pulse},

    // --- Dahua (MAC prefix 08:ed:ed); PropertyOperation is not in the log.
    {"https://github.com/home-assistant/core/issues/36163",
     msg("tns1:Device/Trigger/DigitalInput", "", {{"InputToken", "000"}},
         {{"LogicalState", "false"}}),
     K::io_input, St::stop},
    // Imou (Dahua's consumer brand), Cruiser Dual IPC-S7X-8M0WED.
    {"https://github.com/home-assistant/core/issues/143678",
     msg("tns1:VideoSource/tns1:Device/Trigger/DigitalInput", "", {{"InputToken", "00000"}},
         {{"LogicalState", "false"}}),
     K::io_input, St::stop},

    // --- Hanwha (Samsung PNF-9010R); the log as read shows topic and Source only.
    {"https://github.com/home-assistant/core/issues/66493",
     msg("tns1:VideoAnalytics/tnssamsung:MotionDetection", "", {{"Window", "0"}}, {}), K::motion,
     std::nullopt},

    // --- TP-Link Tapo / VIGI.
    {kHaTests,
     msg("tns1:RuleEngine/CellMotionDetector/LineCross", "Changed",
         kTapoSource("MyLineCrossDetectorRule"), {{"IsLineCross", "true"}}),
     K::line_crossing, St::start},
    {"https://github.com/home-assistant/core/issues/127991",
     msg("tns1:RuleEngine/LineCrossDetector/LineCross", "Initialized",
         kTapoSource("MyLineCrossDetectorRule"), {{"IsLineCross", "true"}}),
     K::line_crossing, St::start},
    {kHaTests,
     msg("tns1:RuleEngine/TPSmartEventDetector/TPSmartEvent", "Changed",
         kTapoSource("MyTPSmartEventDetectorRule"), {{"IsVehicle", "true"}}),
     K::motion, St::start},
    {kHaTests,
     msg("tns1:RuleEngine/TPSmartEventDetector/TPSmartEvent", "Changed",
         kTapoSource("MyTPSmartEventDetectorRule"), {{"IsPet", "true"}}),
     K::motion, St::start},
    {kHaTests,
     msg("tns1:RuleEngine/CellMotionDetector/TpSmartEvent", "Changed",
         kTapoSource("MyTPSmartEventDetectorRule"), {{"IsVehicle", "true"}}),
     K::motion, St::start},
    {kHaTests,
     msg("tns1:RuleEngine/PeopleDetector/People", "Changed", kTapoSource("MyPeopleDetectorRule"),
         {{"IsPeople", "true"}}),
     K::motion, St::start},
    {kHaTests,
     msg("tns1:RuleEngine/CellMotionDetector/People", "Changed",
         kTapoSource("MyPeopleDetectorRule"), {{"IsPeople", "true"}}),
     K::motion, St::start},
    {kHaTests,
     msg("tns1:RuleEngine/CellMotionDetector/Tamper", "Changed",
         kTapoSource("MyTamperDetectorRule"), {{"IsTamper", "true"}}),
     K::tamper, St::start},
    {kHaTests,
     msg("tns1:RuleEngine/CellMotionDetector/Intrusion", "Changed",
         kTapoSource("MyIntrusionDetectorRule"), {{"IsIntrusion", "true"}}),
     K::intrusion, St::start},

    // --- Reolink.
    {"openvideolibs/onvif-parsers tests/test_reolink.py",
     msg("tns1:RuleEngine/MyRuleDetector/Package", "Initialized", {{"Source", "000"}},
         {{"State", "true"}}),
     K::other, St::start},
    // Topics from HA's parsers, which read the Source item "Source" and the
    // first Data item as the state; the items here are the Package capture's.
    {kHaParsers,
     msg("tns1:RuleEngine/MyRuleDetector/PeopleDetect", "Initialized", {{"Source", "000"}},
         {{"State", "true"}}),
     K::motion, St::start},
    {kHaParsers,
     msg("tns1:RuleEngine/MyRuleDetector/VehicleDetect", "Initialized", {{"Source", "000"}},
         {{"State", "false"}}),
     K::motion, St::stop},
};

TEST(OnvifEventsNormalize, VendorFixtures) {
  for (const auto& f : kFixtures) {
    SCOPED_TRACE(std::string(f.in.topic) + " from " + f.from);
    auto e = normalize(f.in);
    EXPECT_NE(find_topic_rule(f.in.topic), nullptr);
    EXPECT_EQ(to_string(e.kind), to_string(f.kind));
    if (f.state) {
      EXPECT_EQ(to_string(e.state), to_string(*f.state));
    }
    EXPECT_EQ(e.topic, f.in.topic);
  }
}

// Every row of the table has a fixture, and no row is there twice.
TEST(OnvifEventsNormalize, EveryRowHasAFixture) {
  std::set<const TopicRule*> covered;
  for (const auto& f : kFixtures) covered.insert(find_topic_rule(f.in.topic));
  std::set<std::string> paths;
  for (const auto& rule : topic_rules()) {
    SCOPED_TRACE(std::string(rule.path));
    EXPECT_TRUE(covered.count(&rule)) << "no fixture";
    EXPECT_TRUE(paths.insert(std::string(rule.path)).second) << "twice";
    EXPECT_FALSE(rule.vendor.empty());
    EXPECT_EQ(rule.state == StateFrom::items, !rule.items.empty());
  }
}

// A topic no row and no keyword knows stays other, kept as sent with its items.
TEST(OnvifEventsNormalize, UnknownTopicsStayOther) {
  const Notification unknown[] = {
      // Axis PTZ movement and day/night (Kane610/axis tests/event_fixtures.py).
      msg("tns1:PTZController/tnsaxis:Move/Channel_1", "Changed", {{"PTZConfigurationToken", "1"}},
          {{"is_moving", "1"}}),
      msg("tns1:VideoSource/tnsaxis:DayNightVision", "Initialized",
          {{"VideoSourceConfigurationToken", "1"}}, {{"day", "1"}}),
      // Hikvision (jimm98y/SharpOnvif src/SharpOnvifServer/OnvifEvents.cs).
      msg("tns1:Monitoring/ProcessorUsage", "Initialized", {{"Token", "Processor_Usage"}},
          {{"Value", "37"}}),
      // Hikvision people counting (https://github.com/home-assistant/core/issues/70185).
      msg("tns1:RuleEngine/CountAggregation/Counter", "Changed", kHikSource("MyCountAggregation1"),
          {{"Count", "0"}}, {{"ObjectId", "1"}}),
  };
  for (const auto& x : unknown) {
    SCOPED_TRACE(x.topic);
    EXPECT_EQ(find_topic_rule(x.topic), nullptr);
    auto e = normalize(x);
    EXPECT_EQ(e.kind, EventKind::other);
    EXPECT_EQ(e.state, EventState::pulse);
    EXPECT_EQ(e.topic, x.topic);
    EXPECT_EQ(e.data, x.data);
    EXPECT_EQ(e.source.size(), x.source.size() + x.key.size());
  }
}

TEST(OnvifEventsNormalize, RuleMatching) {
  // Prefixes and case do not matter; whole steps do.
  const TopicRule* vmd = find_topic_rule("TNSAXIS:cameraapplicationplatform/vmd/Camera1Profile9");
  ASSERT_NE(vmd, nullptr);
  EXPECT_EQ(vmd->path, "CameraApplicationPlatform/VMD");
  EXPECT_EQ(find_topic_rule("tnsaxis:CameraApplicationPlatform/VMDX/Camera1Profile1"), nullptr);
  EXPECT_EQ(find_topic_rule("tnsaxis:CameraApplicationPlatform"), nullptr);
  // The longest matching path wins over a shorter one that also matches.
  const TopicRule* imou = find_topic_rule("tns1:VideoSource/tns1:Device/Trigger/DigitalInput");
  ASSERT_NE(imou, nullptr);
  EXPECT_EQ(imou->path, "VideoSource/Device/Trigger/DigitalInput");
  // A row's state item that is missing: the generic search still reads the message.
  EXPECT_EQ(
      normalize(msg("tns1:Device/tnsaxis:Sensor/PIR", "Changed", {}, {{"State", "true"}})).state,
      EventState::start);
  // Deleted ends a row's property too.
  EXPECT_EQ(normalize(msg("tns1:Device/tnsaxis:Sensor/PIR", "Deleted", {}, {{"state", "1"}})).state,
            EventState::stop);
}

// Topics without a row: keywords and the generic state search.
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

TEST(OnvifEventsNormalize, KeywordFallbacks) {
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

TEST(Occurrence, AnInitializedPulseIsNoEvent) {
  // Uniview's message when a subscription begins (home-assistant/core#35916):
  // the rule's initial "state", not a crossing that happened.
  const Notification initial = msg(
      "tns1:RuleEngine/LineDetector/Crossed", "Initialized",
      {{"VideoSourceConfigurationToken", "video_source_config1"}, {"Rule", "MyLineDetectorRule"}},
      {{"ObjectId", "0"}});
  EXPECT_FALSE(is_occurrence(normalize(initial)));
  Notification crossed = initial;
  crossed.property_operation = "Changed";
  EXPECT_TRUE(is_occurrence(normalize(crossed)));
  // A stateful property reported at subscription time is the camera's state: kept.
  const auto motion = normalize(msg("tns1:RuleEngine/CellMotionDetector/Motion", "Initialized",
                                    {{"Rule", "MyMotionDetectorRule"}}, {{"IsMotion", "true"}}));
  EXPECT_EQ(motion.state, EventState::start);
  EXPECT_TRUE(is_occurrence(motion));
  // A pulse without PropertyOperation (not a property) is an event.
  EXPECT_TRUE(is_occurrence(normalize(n("tns1:RuleEngine/LineDetector/Crossed", {}, ""))));
}

}  // namespace
}  // namespace zaulek::onvif
