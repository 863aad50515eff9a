// The alarm router on a real io_context with a real SQLite catalogue and hub:
// rule matching and schedules, the default rule, folding, debounce, health
// events, lifecycle calls, rules over the API.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <mutex>
#include <thread>

#include "server/alarms/alarms.h"
#include "server/hub/hub.h"
#include "server/security/audit.h"
#include "tests/unit/eventually.h"
#include "tests/unit/storage/test_dir.h"

namespace zaulek::server {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kDec1 = 1'796'083'200LL * kSec;  // 2026-12-01T00:00:00Z, a Tuesday

struct Recorder : HubSubscriber {
  std::mutex mu;
  std::vector<json> got;
  void deliver(SharedMessage m) override {
    std::lock_guard lock(mu);
    got.push_back(json::parse(*m));
  }
  void going_away() override {}
  void revoked(std::string) override {}
  std::vector<json> of_type(const std::string& type) {
    std::lock_guard lock(mu);
    std::vector<json> out;
    for (const auto& m : got)
      if (m["type"] == type) out.push_back(m);
    return out;
  }
};

using zaulek::testing::eventually;

storage::Event event(const std::string& camera, const std::string& kind, std::int64_t t_ns,
                     const std::string& state = "start") {
  storage::Event e;
  e.camera_id = camera;
  e.kind = kind;
  e.state = state;
  e.time_ns = t_ns;
  e.topic = "tns1:Test/" + kind;
  e.source = R"({"VideoSourceConfigurationToken":"vs0"})";
  e.data = "{}";
  return e;
}

class AlarmRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    auto c = storage::Catalog::open(dir_.path() / "zaulek.db", clock_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cat_ = std::move(*c);
    hub_ = std::make_unique<Hub>(ioc_, clock_);
    audit_ = std::make_unique<AuditLog>(*cat_, clock_, hub_.get());
    rec_ = std::make_shared<Recorder>();
    hub_->subscribe(rec_, Role::operator_, [](std::uint64_t) {});
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    if (router_) router_->stop();
    ioc_.stop();
    thread_.join();
  }
  void make_router(std::vector<config::Rule> rules, bool hooks = false) {
    router_ = std::make_unique<AlarmRouter>(ioc_, *cat_, hub_.get(), audit_.get(), clock_,
                                            std::move(rules));
    if (hooks)
      router_->set_recording({[this](const std::vector<storage::Event>& all) {
                                std::lock_guard lock(calls_mu_);
                                for (const auto& e : all)
                                  calls_.push_back("all " + e.camera_id + " " + e.kind);
                              },
                              [this](const std::string& camera, bool active) {
                                std::lock_guard lock(calls_mu_);
                                calls_.push_back(camera + (active ? " on" : " off"));
                              }});
    router_->start();
  }
  std::vector<std::string> calls() {
    settle();
    std::lock_guard lock(calls_mu_);
    auto out = calls_;
    calls_.clear();
    return out;
  }
  std::mutex calls_mu_;
  std::vector<std::string> calls_;  // what the recording hooks were told
  // Stores and routes; returns the stored events.
  std::vector<storage::Event> feed(std::vector<storage::Event> events) {
    auto ids = cat_->add_events(events);
    EXPECT_TRUE(ids.ok());
    for (std::size_t i = 0; i < events.size(); ++i) events[i].id = (*ids)[i];
    router_->route(events);
    return events;
  }
  std::vector<storage::Alarm> alarms() { return cat_->list_alarms({}).value(); }
  // Waits until the router has handled everything posted so far.
  void settle() { router_->drain(); }

  storage::testing::TempDir dir_;
  FakeClock clock_{WallTime{std::chrono::seconds{1'796'083'200}}};
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      ioc_.get_executor()};
  std::unique_ptr<storage::Catalog> cat_;
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<AuditLog> audit_;
  std::shared_ptr<Recorder> rec_;
  std::unique_ptr<AlarmRouter> router_;
  std::thread thread_;
};

TEST(AlarmRules, ScheduleInLocalTime) {
  setenv("TZ", "UTC", 1);
  tzset();
  config::Rule r;
  r.id = "night";
  ASSERT_EQ(config::parse_hours("22:00-06:00", r.from_minute, r.to_minute), "");
  ASSERT_EQ(config::parse_days({"mon"}, r.days), "");
  const std::int64_t mon = kDec1 - 86400 * kSec;  // 2026-11-30T00:00:00Z, a Monday
  EXPECT_FALSE(rule_matches(r, event("c", "motion", mon + 21 * 3600 * kSec)));         // Mon 21:00
  EXPECT_TRUE(rule_matches(r, event("c", "motion", mon + 23 * 3600 * kSec)));          // Mon 23:00
  EXPECT_TRUE(rule_matches(r, event("c", "motion", mon + (24 + 5) * 3600 * kSec)));    // Tue 05:00
  EXPECT_FALSE(rule_matches(r, event("c", "motion", mon + (24 + 6) * 3600 * kSec)));   // Tue 06:00
  EXPECT_FALSE(rule_matches(r, event("c", "motion", mon + (24 + 23) * 3600 * kSec)));  // Tue 23:00
  EXPECT_FALSE(rule_matches(r, event("c", "motion", mon - 3600 * kSec)));  // Sun 23:00 (Sunday's)
  // Stop events never raise; camera and kind filters.
  config::Rule any;
  any.id = "any";
  EXPECT_TRUE(rule_matches(any, event("c", "motion", 0)));
  EXPECT_TRUE(rule_matches(any, event("c", "line_crossing", 0, "pulse")));
  EXPECT_FALSE(rule_matches(any, event("c", "motion", 0, "stop")));
  any.cameras = {"cam-1"};
  any.kinds = {"intrusion"};
  EXPECT_TRUE(rule_matches(any, event("cam-1", "intrusion", 0)));
  EXPECT_FALSE(rule_matches(any, event("cam-2", "intrusion", 0)));
  EXPECT_FALSE(rule_matches(any, event("cam-1", "motion", 0)));
  any.enabled = false;
  EXPECT_FALSE(rule_matches(any, event("cam-1", "intrusion", 0)));
}

TEST(AlarmRules, FromJsonNamesTheField) {
  auto ok = rule_from_json(json::parse(
      R"({"id":"r","cameras":["cam-1"],"kinds":["motion"],"days":["sat","sun"],
          "hours":"08:00-16:00","debounce_ms":500,"priority":2,"enabled":true})"));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->days, (std::vector<int>{5, 6}));
  EXPECT_EQ(rule_json(*ok)["hours"], "08:00-16:00");
  EXPECT_EQ(rule_from_json(rule_json(*ok)).value(), *ok);
  EXPECT_FALSE(ok->record);
  EXPECT_FALSE(ok->bookmark);
  EXPECT_EQ(rule_json(*ok)["record"], false);
  auto rec = rule_from_json(json::parse(R"({"id":"r","record":true,"bookmark":true})"));
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  EXPECT_TRUE(rec->record);
  EXPECT_TRUE(rec->bookmark);
  EXPECT_EQ(rule_from_json(rule_json(*rec)).value(), *rec);
  EXPECT_EQ(rule_from_json(json::parse(R"({"id":"r","record":1})")).error().message,
            "'record' must be true or false");
  auto held = rule_from_json(json::parse(R"({"id":"r","record":true,"record_seconds":30})"));
  ASSERT_TRUE(held.ok()) << held.error().message;
  EXPECT_EQ(held->record_seconds, 30);
  EXPECT_EQ(rule_from_json(rule_json(*held)).value(), *held);
  EXPECT_EQ(rule_from_json(json::parse(R"({"id":"r","record":true,"record_seconds":-1})"))
                .error()
                .message,
            "'record_seconds' must be an integer from 0 to 3600");
  EXPECT_EQ(rule_from_json(json::parse(R"({"id":"r","record_seconds":5})")).error().message,
            "record_seconds: needs record = true");
  EXPECT_EQ(rule_from_json(json::parse(R"({"id":"r","bookmark":"yes"})")).error().message,
            "'bookmark' must be true or false");
  for (auto [text, needle] : std::vector<std::pair<const char*, const char*>>{
           {R"({})", "'id'"},
           {R"({"id":"r","kinds":["smoke"]})", "kinds"},
           {R"({"id":"r","priority":9})", "priority"},
           {R"({"id":"r","hours":"8-16"})", "hours"},
           {R"({"id":"r","days":["someday"]})", "days"},
           {R"({"id":"r","colour":"red"})", "colour"},
           {R"({"id":"r","debounce_ms":-5})", "debounce_ms"},
           {R"({"id":"r","cameras":"cam-1"})", "cameras"},
           {R"([1])", "object"}}) {
    auto r = rule_from_json(json::parse(text));
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  }
}

TEST_F(AlarmRouterTest, DefaultRuleRaisesTamperButNotMotion) {
  make_router({});
  feed({event("cam-1", "motion", kDec1), event("cam-1", "tamper", kDec1 + kSec)});
  ASSERT_TRUE(eventually([&] { return alarms().size() == 1; }));
  settle();
  auto a = alarms();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, "tamper");
  EXPECT_EQ(a[0].rule_id, "default");
  EXPECT_EQ(a[0].priority, 5);
  ASSERT_TRUE(eventually([&] { return rec_->of_type("alarm").size() == 1; }));
  auto msg = rec_->of_type("alarm")[0];
  EXPECT_EQ(msg["id"], std::to_string(a[0].id));
  EXPECT_EQ(msg["state"], "new");
  EXPECT_EQ(msg["count"], 1);
  // Audited as raised by the system.
  auto audit = cat_->list_audit(0, 100).value();
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().action, "alarm.raise");
  EXPECT_EQ(audit.back().actor, "system");
}

TEST_F(AlarmRouterTest, RepeatsFoldAndDebounceIgnores) {
  config::Rule motion;
  motion.id = "motion";
  motion.kinds = {"motion"};
  motion.debounce_ms = 2000;
  motion.priority = 2;
  make_router({motion});
  feed({event("cam-1", "motion", kDec1)});
  feed({event("cam-1", "motion", kDec1 + kSec / 2)});          // within 2 s: ignored
  feed({event("cam-1", "motion", kDec1 + 3 * kSec)});          // folds
  feed({event("cam-1", "motion", kDec1 + 4 * kSec, "stop")});  // stop: nothing
  feed({event("cam-2", "motion", kDec1)});                     // other camera: own alarm
  ASSERT_TRUE(eventually([&] {
    auto a = alarms();
    return a.size() == 2 && (a[1].count == 2 || a[0].count == 2);
  }));
  settle();
  auto a = alarms();
  ASSERT_EQ(a.size(), 2u);
  const auto& cam1 = a[0].camera_id == "cam-1" ? a[0] : a[1];
  EXPECT_EQ(cam1.count, 2);
  EXPECT_EQ(cam1.last_ns, kDec1 + 3 * kSec);
  EXPECT_EQ(cam1.rule_id, "motion");
  EXPECT_EQ(router_->raised(), 2u);
  EXPECT_EQ(router_->folded(), 1u);
  // Every raise and fold is on the hub; the last cam-1 message has count 2.
  ASSERT_TRUE(eventually([&] { return rec_->of_type("alarm").size() == 3; }));
}

TEST_F(AlarmRouterTest, HighestPriorityRuleWins) {
  config::Rule low, high;
  low.id = "low";
  low.priority = 1;
  high.id = "high";
  high.kinds = {"intrusion"};
  high.priority = 4;
  make_router({low, high});
  feed({event("cam-1", "intrusion", kDec1), event("cam-1", "motion", kDec1)});
  ASSERT_TRUE(eventually([&] { return alarms().size() == 2; }));
  for (const auto& a : alarms()) EXPECT_EQ(a.rule_id, a.kind == "intrusion" ? "high" : "low");
}

TEST_F(AlarmRouterTest, CameraHealthBecomesEventsAndAnAlarm) {
  make_router({});
  router_->camera_status("cam-1", "online", "");  // nothing was wrong: nothing happens
  router_->camera_status("cam-1", "offline", "connection refused");
  router_->camera_status("cam-1", "offline", "connection refused");  // told once
  ASSERT_TRUE(eventually([&] { return alarms().size() == 1; }));
  router_->camera_status("cam-1", "online", "");
  auto events = [&] { return cat_->list_events({"cam-1", 0, INT64_MAX, 0, 100}).value(); };
  ASSERT_TRUE(eventually([&] { return events().size() == 2; }));
  settle();
  auto e = events();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].kind, "health");
  EXPECT_EQ(e[0].state, "start");
  EXPECT_EQ(e[0].topic, "zaulek:Health/Camera");
  EXPECT_EQ(json::parse(e[0].data)["status"], "offline");
  EXPECT_EQ(e[1].state, "stop");
  auto a = alarms();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, "health");
  EXPECT_EQ(a[0].priority, 5);
  // Published as events too.
  ASSERT_TRUE(eventually([&] { return rec_->of_type("event").size() == 2; }));
}

TEST_F(AlarmRouterTest, LifecycleIsPublishedAndAudited) {
  make_router({});
  feed({event("cam-1", "video_loss", kDec1)});
  ASSERT_TRUE(eventually([&] { return alarms().size() == 1; }));
  const auto id = alarms()[0].id;
  ASSERT_TRUE(cat_->add_user("olga", Role::operator_, "h").ok());
  ASSERT_TRUE(cat_->add_user("ivan", Role::investigator, "h").ok());
  auto ack = router_->acknowledge(id, "olga", "127.0.0.1");
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_EQ(router_->acknowledge(id, "olga", "").error().kind, ErrorKind::failed_precondition);
  // Unknown alarm: not_found before the user is looked at; an unknown user
  // and an investigator get the same words (no enumeration of users).
  EXPECT_EQ(router_->assign(id + 1000, "adam", "ivan", "").error().kind, ErrorKind::not_found);
  auto nobody = router_->assign(id, "adam", "nobody", "");
  auto ivan = router_->assign(id, "adam", "ivan", "");
  ASSERT_FALSE(nobody.ok());
  ASSERT_FALSE(ivan.ok());
  EXPECT_EQ(nobody.error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(ivan.error().kind, ErrorKind::invalid_argument);
  auto words = [](std::string m, const std::string& name) {
    return m.replace(m.find(name), name.size(), "X");
  };
  EXPECT_EQ(words(nobody.error().message, "nobody"), words(ivan.error().message, "ivan"));
  ASSERT_TRUE(router_->assign(id, "adam", "olga", "").ok());
  auto done = router_->resolve(id, "olga", "cable replaced", "");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->note, "cable replaced");
  ASSERT_TRUE(eventually([&] { return rec_->of_type("alarm").size() == 4; }));
  auto msgs = rec_->of_type("alarm");
  EXPECT_EQ(msgs[1]["state"], "acknowledged");
  EXPECT_EQ(msgs[1]["acknowledged_by"], "olga");
  EXPECT_EQ(msgs[2]["assigned_to"], "olga");
  EXPECT_EQ(msgs[3]["state"], "resolved");
  std::vector<std::string> actions;
  auto audit = cat_->list_audit(0, 100);
  ASSERT_TRUE(audit.ok());
  for (const auto& e : *audit) actions.push_back(e.action);
  for (const char* want : {"alarm.raise", "alarm.ack", "alarm.assign", "alarm.resolve"})
    EXPECT_NE(std::find(actions.begin(), actions.end(), want), actions.end()) << want;
}

TEST_F(AlarmRouterTest, RulesOverTheApi) {
  config::Rule cfg;
  cfg.id = "cfg";
  cfg.kinds = {"io_input"};
  make_router({cfg});
  auto listed = router_->rules();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].origin, "config");
  EXPECT_EQ(listed[1].origin, "builtin");
  config::Rule motion;
  motion.id = "motion";
  motion.kinds = {"motion"};
  ASSERT_TRUE(router_->add_rule(motion, "adam").ok());
  EXPECT_EQ(router_->add_rule(motion, "adam").error().kind, ErrorKind::already_exists);
  EXPECT_EQ(router_->add_rule(cfg, "adam").error().kind, ErrorKind::already_exists);
  EXPECT_EQ(router_->delete_rule("cfg").error().kind, ErrorKind::failed_precondition);
  EXPECT_EQ(router_->delete_rule("default").error().kind, ErrorKind::failed_precondition);
  EXPECT_EQ(router_->delete_rule("nope").error().kind, ErrorKind::not_found);
  listed = router_->rules();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[1].rule.id, "motion");
  EXPECT_EQ(listed[1].created_by, "adam");
  // Armed when add_rule returned.
  feed({event("cam-1", "motion", kDec1)});
  ASSERT_TRUE(eventually([&] { return alarms().size() == 1; }));
  EXPECT_EQ(alarms()[0].rule_id, "motion");
  ASSERT_TRUE(router_->delete_rule("motion").ok());
  feed({event("cam-9", "motion", kDec1)});
  settle();
  EXPECT_EQ(alarms().size(), 1u);

  // A rule named "default" replaces the built-in one.
  config::Rule quiet;
  quiet.id = "default";
  quiet.enabled = false;
  ASSERT_TRUE(router_->add_rule(quiet, "adam").ok());
  feed({event("cam-1", "tamper", kDec1)});
  settle();
  EXPECT_EQ(alarms().size(), 1u);
  ASSERT_TRUE(router_->delete_rule("default").ok());  // the stored one; the built-in returns
  feed({event("cam-1", "tamper", kDec1)});
  ASSERT_TRUE(eventually([&] { return alarms().size() == 2; }));
}

using Calls = std::vector<std::string>;

TEST_F(AlarmRouterTest, WithoutRecordRulesEveryEventGoesToTheRecorders) {
  make_router({}, true);
  EXPECT_FALSE(router_->rules_record());
  feed({event("cam-1", "motion", kDec1), event("cam-1", "motion", kDec1 + kSec, "stop")});
  EXPECT_EQ(calls(), (Calls{"all cam-1 motion", "all cam-1 motion"}));
}

TEST_F(AlarmRouterTest, RecordRulesAloneStartRecording) {
  config::Rule gate;
  gate.id = "gate";
  gate.cameras = {"cam-1"};
  gate.kinds = {"line_crossing"};
  gate.record = true;
  make_router({gate}, true);
  settle();
  EXPECT_TRUE(router_->rules_record());
  // Motion, and a line crossing on another camera: nothing records.
  feed({event("cam-1", "motion", kDec1), event("cam-2", "line_crossing", kDec1)});
  feed({event("cam-1", "motion", kDec1 + kSec, "stop")});
  EXPECT_EQ(calls(), Calls{});
  // A line crossing starts it; its stop ends it.
  feed({event("cam-1", "line_crossing", kDec1 + 2 * kSec)});
  EXPECT_EQ(calls(), Calls{"cam-1 on"});
  feed({event("cam-1", "motion", kDec1 + 3 * kSec, "stop")});  // not the source that started
  EXPECT_EQ(calls(), Calls{});
  feed({event("cam-1", "line_crossing", kDec1 + 4 * kSec, "stop")});
  EXPECT_EQ(calls(), Calls{"cam-1 off"});
  // Two sources: recording ends with the last of them.
  auto second = event("cam-1", "line_crossing", kDec1 + 5 * kSec);
  second.source = R"({"Rule":"fence"})";
  feed({event("cam-1", "line_crossing", kDec1 + 5 * kSec), second});
  EXPECT_EQ(calls(), (Calls{"cam-1 on", "cam-1 on"}));
  feed({event("cam-1", "line_crossing", kDec1 + 6 * kSec, "stop")});
  EXPECT_EQ(calls(), Calls{});
  auto second_stop = second;
  second_stop.state = "stop";
  second_stop.time_ns = kDec1 + 7 * kSec;
  feed({second_stop});
  EXPECT_EQ(calls(), Calls{"cam-1 off"});
  // A pulse is a start and a stop.
  feed({event("cam-1", "line_crossing", kDec1 + 8 * kSec, "pulse")});
  EXPECT_EQ(calls(), (Calls{"cam-1 on", "cam-1 off"}));
}

TEST_F(AlarmRouterTest, RecordIgnoresWhichRuleRaisesAndDebounce) {
  config::Rule rec, loud;
  rec.id = "rec";
  rec.kinds = {"intrusion"};
  rec.record = true;
  rec.priority = 1;
  rec.debounce_ms = 60'000;
  loud.id = "loud";
  loud.kinds = {"intrusion"};
  loud.priority = 5;
  make_router({rec, loud}, true);
  feed({event("cam-1", "intrusion", kDec1, "pulse")});
  feed({event("cam-1", "intrusion", kDec1 + kSec, "pulse")});
  EXPECT_EQ(calls(), (Calls{"cam-1 on", "cam-1 off", "cam-1 on", "cam-1 off"}));
  ASSERT_EQ(alarms().size(), 1u);
  EXPECT_EQ(alarms()[0].rule_id, "loud");
}

TEST_F(AlarmRouterTest, SwitchingTheWayRecordingIsDrivenEndsWhatTheOldWayStarted) {
  make_router({}, true);
  feed({event("cam-1", "motion", kDec1)});
  EXPECT_EQ(calls(), Calls{"all cam-1 motion"});
  config::Rule plain;  // a rule set change that keeps the way: nothing ends
  plain.id = "plain";
  plain.kinds = {"tamper"};
  ASSERT_TRUE(router_->add_rule(plain, "adam").ok());
  EXPECT_EQ(calls(), Calls{});
  config::Rule gate;
  gate.id = "gate";
  gate.kinds = {"line_crossing"};
  gate.record = true;
  ASSERT_TRUE(router_->add_rule(gate, "adam").ok());
  EXPECT_EQ(calls(), Calls{"cam-1 off"});
  feed({event("cam-2", "line_crossing", kDec1 + kSec)});
  EXPECT_EQ(calls(), Calls{"cam-2 on"});
  ASSERT_TRUE(router_->delete_rule("gate").ok());
  EXPECT_EQ(calls(), Calls{"cam-2 off"});
  feed({event("cam-1", "motion", kDec1 + 2 * kSec, "pulse")});
  EXPECT_EQ(calls(), Calls{"all cam-1 motion"});
}

TEST_F(AlarmRouterTest, BookmarkRuleMarksEachRaisedAlarmOnce) {
  config::Rule gate;
  gate.id = "gate";
  gate.kinds = {"line_crossing"};
  gate.bookmark = true;
  config::Rule plain;
  plain.id = "plain";
  plain.kinds = {"motion"};
  make_router({gate, plain});
  feed({event("cam-1", "line_crossing", kDec1 + 3 * kSec, "pulse")});
  feed({event("cam-1", "line_crossing", kDec1 + 9 * kSec, "pulse")});  // folds
  feed({event("cam-1", "motion", kDec1 + 10 * kSec)});                 // no bookmark rule
  settle();
  ASSERT_EQ(alarms().size(), 2u);
  EXPECT_EQ(router_->bookmarks(), 1u);
  auto marks = cat_->list_bookmarks({"", 0, INT64_MAX, 0, 100});
  ASSERT_TRUE(marks.ok());
  ASSERT_EQ(marks->size(), 1u);
  const auto& b = (*marks)[0];
  EXPECT_EQ(b.camera_id, "cam-1");
  EXPECT_EQ(b.time_ns, kDec1 + 3 * kSec);
  EXPECT_EQ(b.rule_id, std::optional<std::string>("gate"));
  EXPECT_EQ(b.created_by, "system");
  auto gate_alarm = alarms()[0].rule_id == "gate" ? alarms()[0] : alarms()[1];
  EXPECT_EQ(b.alarm_id, std::optional<std::int64_t>(gate_alarm.id));
  EXPECT_EQ(gate_alarm.count, 2);
  // Audited as made by the system.
  auto audit = cat_->list_audit(0, 100).value();
  EXPECT_EQ(std::count_if(audit.begin(), audit.end(),
                          [](const storage::AuditEntry& e) {
                            return e.action == "bookmark.add" && e.actor == "system";
                          }),
            1);
}

TEST_F(AlarmRouterTest, RecordSecondsHoldsForThatLongWhateverTheStop) {
  config::Rule held;
  held.id = "held";
  held.kinds = {"motion", "line_crossing"};
  held.record = true;
  held.record_seconds = 1;
  make_router({held}, true);
  // A start whose stop comes early: recording goes on to start + 1 s.
  feed({event("cam-1", "motion", kDec1)});
  feed({event("cam-1", "motion", kDec1 + kSec / 10, "stop")});
  EXPECT_EQ(calls(), Calls{"cam-1 on"});
  // The hold is on the router's clock (its timer then finds it over).
  clock_.advance(std::chrono::seconds{1});
  ASSERT_TRUE(eventually([&] { return calls() == Calls{"cam-1 off"}; }));
  // A start whose stop never comes ends too.
  feed({event("cam-2", "motion", kDec1)});
  EXPECT_EQ(calls(), Calls{"cam-2 on"});
  clock_.advance(std::chrono::seconds{1});
  ASSERT_TRUE(eventually([&] { return calls() == Calls{"cam-2 off"}; }));
  // A pulse records for the hold, not just around it.
  feed({event("cam-3", "line_crossing", kDec1, "pulse")});
  EXPECT_EQ(calls(), Calls{"cam-3 on"});
  clock_.advance(std::chrono::seconds{1});
  ASSERT_TRUE(eventually([&] { return calls() == Calls{"cam-3 off"}; }));
  EXPECT_EQ(calls(), Calls{});
}

}  // namespace
}  // namespace zaulek::server
