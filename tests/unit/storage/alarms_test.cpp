// Alarms and rules in the catalogue: fold-or-raise, lifecycle, rules table,
// and the events table rebuilt by migration 0006 (kind 'health').
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "storage/catalog.h"
#include "storage/migrations.h"
#include "tests/unit/storage/test_dir.h"

namespace zaulek::storage {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

class StorageAlarmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Catalog::open(dir_.path() / "zaulek.db", clock_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cat_ = std::move(*c);
  }
  Alarm alarm(const std::string& camera, const std::string& key, std::int64_t event_id,
              std::int64_t t_ns, int priority = 3) {
    Alarm a;
    a.camera_id = camera;
    a.kind = "motion";
    a.source_key = key;
    a.rule_id = "r1";
    a.priority = priority;
    a.first_event_id = a.last_event_id = event_id;
    a.first_ns = a.last_ns = t_ns;
    return a;
  }
  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Catalog> cat_;
};

TEST_F(StorageAlarmsTest, RepeatsFoldIntoTheOpenAlarm) {
  auto first = cat_->raise_alarm(alarm("cam-1", "cam-1|motion|r1|{}", 10, 1000));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE(first->folded);
  EXPECT_EQ(first->alarm.state, AlarmState::new_);
  EXPECT_EQ(first->alarm.count, 1);
  EXPECT_EQ(first->alarm.created, clock_.realtime());

  auto second = cat_->raise_alarm(alarm("cam-1", "cam-1|motion|r1|{}", 11, 2000, 4));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_TRUE(second->folded);
  EXPECT_EQ(second->alarm.id, first->alarm.id);
  EXPECT_EQ(second->alarm.count, 2);
  EXPECT_EQ(second->alarm.first_event_id, 10);
  EXPECT_EQ(second->alarm.last_event_id, 11);
  EXPECT_EQ(second->alarm.first_ns, 1000);
  EXPECT_EQ(second->alarm.last_ns, 2000);
  EXPECT_EQ(second->alarm.priority, 4);  // the higher priority wins

  // Another source is another alarm.
  auto other = cat_->raise_alarm(alarm("cam-2", "cam-2|motion|r1|{}", 12, 3000));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->folded);
  EXPECT_NE(other->alarm.id, first->alarm.id);

  // Acknowledged alarms still fold; resolved ones do not.
  ASSERT_TRUE(cat_->acknowledge_alarm(first->alarm.id, "olga").ok());
  auto third = cat_->raise_alarm(alarm("cam-1", "cam-1|motion|r1|{}", 13, 4000));
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->folded);
  EXPECT_EQ(third->alarm.count, 3);
  EXPECT_EQ(third->alarm.state, AlarmState::acknowledged);
  ASSERT_TRUE(cat_->resolve_alarm(first->alarm.id, "olga", "a cat").ok());
  auto fresh = cat_->raise_alarm(alarm("cam-1", "cam-1|motion|r1|{}", 14, 5000));
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->folded);
  EXPECT_NE(fresh->alarm.id, first->alarm.id);
  EXPECT_EQ(fresh->alarm.count, 1);
}

TEST_F(StorageAlarmsTest, LifecycleMovesOnlyForward) {
  auto a = cat_->raise_alarm(alarm("cam-1", "k", 1, 1));
  ASSERT_TRUE(a.ok());
  const auto id = a->alarm.id;
  clock_.advance(5s);
  auto ack = cat_->acknowledge_alarm(id, "olga");
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_EQ(ack->state, AlarmState::acknowledged);
  EXPECT_EQ(ack->acknowledged_by, "olga");
  EXPECT_EQ(ack->acknowledged, clock_.realtime());
  auto again = cat_->acknowledge_alarm(id, "piotr");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::failed_precondition);
  EXPECT_NE(again.error().message.find("acknowledged"), std::string::npos);

  auto assigned = cat_->assign_alarm(id, "piotr");
  ASSERT_TRUE(assigned.ok());
  EXPECT_EQ(assigned->assigned_to, "piotr");

  EXPECT_EQ(cat_->resolve_alarm(id, "piotr", "").error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->resolve_alarm(id, "piotr", std::string(4097, 'x')).error().kind,
            ErrorKind::invalid_argument);
  auto resolved = cat_->resolve_alarm(id, "piotr", "patrol sent, nobody there");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->state, AlarmState::resolved);
  EXPECT_EQ(resolved->resolved_by, "piotr");
  EXPECT_EQ(resolved->note, "patrol sent, nobody there");
  EXPECT_EQ(resolved->acknowledged_by, "olga");  // history kept
  EXPECT_EQ(cat_->resolve_alarm(id, "piotr", "again").error().kind, ErrorKind::failed_precondition);
  EXPECT_EQ(cat_->assign_alarm(id, "olga").error().kind, ErrorKind::failed_precondition);

  EXPECT_EQ(cat_->acknowledge_alarm(999, "olga").error().kind, ErrorKind::not_found);
  EXPECT_EQ(cat_->find_alarm(999).error().kind, ErrorKind::not_found);
  auto found = cat_->find_alarm(id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->state, AlarmState::resolved);

  // A new alarm may be resolved without an acknowledgement.
  auto b = cat_->raise_alarm(alarm("cam-1", "k2", 2, 2));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(cat_->resolve_alarm(b->alarm.id, "olga", "false alarm").ok());
}

TEST_F(StorageAlarmsTest, ListFiltersByStateAndCameraNewestFirst) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 6; ++i) {
    auto a = cat_->raise_alarm(alarm(i % 2 ? "cam-2" : "cam-1", "k" + std::to_string(i), i, i));
    ASSERT_TRUE(a.ok());
    ids.push_back(a->alarm.id);
  }
  ASSERT_TRUE(cat_->acknowledge_alarm(ids[0], "olga").ok());
  ASSERT_TRUE(cat_->resolve_alarm(ids[1], "olga", "done").ok());

  auto all = cat_->list_alarms({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 6u);
  EXPECT_EQ(all->front().id, ids[5]);
  EXPECT_EQ(all->back().id, ids[0]);

  auto open = cat_->list_alarms({{AlarmState::new_, AlarmState::acknowledged}, "", 0, 100});
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->size(), 5u);
  auto resolved = cat_->list_alarms({{AlarmState::resolved}, "", 0, 100});
  ASSERT_TRUE(resolved.ok());
  ASSERT_EQ(resolved->size(), 1u);
  EXPECT_EQ(resolved->front().id, ids[1]);

  auto cam1 = cat_->list_alarms({{}, "cam-1", 0, 100});
  ASSERT_TRUE(cam1.ok());
  EXPECT_EQ(cam1->size(), 3u);
  for (const auto& a : *cam1) EXPECT_EQ(a.camera_id, "cam-1");

  auto page1 = cat_->list_alarms({{}, "", 0, 4});
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 4u);
  auto page2 = cat_->list_alarms({{}, "", page1->back().id, 4});
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 2u);
  EXPECT_EQ(page2->back().id, ids[0]);

  EXPECT_EQ(cat_->list_alarms({{}, "", 0, 0}).error().kind, ErrorKind::invalid_argument);
}

TEST_F(StorageAlarmsTest, BadAlarmsAreInvalidArgument) {
  EXPECT_EQ(cat_->raise_alarm(alarm("../x", "k", 1, 1)).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->raise_alarm(alarm("cam-1", "", 1, 1)).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->raise_alarm(alarm("cam-1", "k", 1, 1, 0)).error().kind,
            ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->raise_alarm(alarm("cam-1", "k", 1, 1, 6)).error().kind,
            ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->acknowledge_alarm(1, "").error().kind, ErrorKind::invalid_argument);
}

TEST_F(StorageAlarmsTest, RulesAddListDelete) {
  auto r = cat_->add_rule({"night", R"({"kinds":["motion"]})", "admin", {}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->created, clock_.realtime());
  ASSERT_TRUE(cat_->add_rule({"alpha", "{}", "admin", {}}).ok());
  EXPECT_EQ(cat_->add_rule({"night", "{}", "admin", {}}).error().kind, ErrorKind::already_exists);
  EXPECT_EQ(cat_->add_rule({"bad id", "{}", "admin", {}}).error().kind,
            ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->add_rule({"x", "{not json", "admin", {}}).error().kind,
            ErrorKind::invalid_argument);
  auto list = cat_->list_rules();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "alpha");
  EXPECT_EQ((*list)[1].id, "night");
  EXPECT_EQ((*list)[1].spec, R"({"kinds":["motion"]})");
  EXPECT_TRUE(cat_->delete_rule("night").ok());
  EXPECT_EQ(cat_->delete_rule("night").error().kind, ErrorKind::not_found);
  EXPECT_EQ(cat_->list_rules()->size(), 1u);
}

TEST_F(StorageAlarmsTest, HealthEventsAreStored) {
  Event e;
  e.camera_id = "cam-1";
  e.time_ns = 5;
  e.kind = "health";
  e.state = "start";
  e.topic = "zaulek:Health/Camera";
  e.data = R"({"status":"offline"})";
  auto ids = cat_->add_events({e});
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  auto list = cat_->list_events({"cam-1", 0, 10, 0, 10});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().kind, "health");
  e.kind = "nonsense";
  EXPECT_EQ(cat_->add_events({e}).error().kind, ErrorKind::invalid_argument);
}

TEST(StorageAlarmsMigration, EventsSurviveTheRebuild) {
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  ASSERT_TRUE(create_at_version(db, 5).ok());
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h,
                           "INSERT INTO events (id, camera_id, time_ns, kind, state, topic, "
                           "source, data) VALUES (7, 'cam-1', 42, 'tamper', 'start', "
                           "'tns1:VideoSource/GlobalSceneChange', '{\"a\":\"b\"}', '{}')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  auto c = Catalog::open(db);
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto list = (*c)->list_events({"cam-1", 0, 100, 0, 10});
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().id, 7);
  EXPECT_EQ(list->front().kind, "tamper");
  EXPECT_EQ(list->front().source, R"({"a":"b"})");
}

// Per-user camera visibility (migration 0008): a user's cameras, and events
// and alarms listed only for a set of cameras.
TEST_F(StorageAlarmsTest, StorageUserCamerasStoredAndCleared) {
  auto u = cat_->add_user("rita", Role::operator_, "h");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->cameras.has_value());  // the default: every camera
  ASSERT_TRUE(
      cat_->set_user_cameras(u->id, std::vector<std::string>{"cam-2", "cam-1", "cam-2"}).ok());
  auto got = cat_->find_user(u->id);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->cameras.has_value());
  EXPECT_EQ(*got->cameras, (std::vector<std::string>{"cam-1", "cam-2"}));
  ASSERT_TRUE(cat_->set_user_cameras(u->id, std::vector<std::string>{}).ok());
  got = cat_->find_user("rita");
  ASSERT_TRUE(got.ok() && got->cameras.has_value());
  EXPECT_TRUE(got->cameras->empty());  // restricted to nothing is not "every camera"
  ASSERT_TRUE(cat_->set_user_cameras(u->id, std::nullopt).ok());
  auto all = cat_->list_users();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_FALSE((*all)[0].cameras.has_value());
  EXPECT_EQ(cat_->set_user_cameras(999, std::nullopt).error().kind, ErrorKind::not_found);
}

TEST_F(StorageAlarmsTest, StorageUserCamerasFilterEventsAndAlarms) {
  std::vector<Event> evs;
  for (int i = 0; i < 9; ++i) {
    Event e;
    e.camera_id = "cam-" + std::to_string(i % 3 + 1);
    e.time_ns = 1000 + i;
    e.kind = "motion";
    e.state = "start";
    e.topic = "tns1:VideoSource/MotionAlarm";
    evs.push_back(e);
  }
  ASSERT_TRUE(cat_->add_events(evs).ok());
  EventQuery q;
  q.from_ns = 0;
  q.to_ns = 1'000'000;
  q.cameras = std::vector<std::string>{"cam-1", "cam-3"};
  auto rows = cat_->list_events(q);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 6u);
  for (const auto& e : *rows) EXPECT_NE(e.camera_id, "cam-2");
  q.limit = 2;  // paging stays exact: a full page of visible events
  rows = cat_->list_events(q);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 2u);
  q.limit = 100;
  q.camera_id = "cam-2";  // a camera outside the set: nothing
  rows = cat_->list_events(q);
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
  q.cameras = std::vector<std::string>{};
  q.camera_id.clear();
  rows = cat_->list_events(q);
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
  q.cameras.reset();
  rows = cat_->list_events(q);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 9u);

  ASSERT_TRUE(cat_->raise_alarm(alarm("cam-1", "cam-1|motion|r1|{}", 1, 1000)).ok());
  ASSERT_TRUE(cat_->raise_alarm(alarm("cam-2", "cam-2|motion|r1|{}", 2, 1001)).ok());
  ASSERT_TRUE(cat_->raise_alarm(alarm("cam-3", "cam-3|motion|r1|{}", 3, 1002)).ok());
  AlarmQuery aq;
  aq.cameras = std::vector<std::string>{"cam-2"};
  auto alarms = cat_->list_alarms(aq);
  ASSERT_TRUE(alarms.ok()) << alarms.error().message;
  ASSERT_EQ(alarms->size(), 1u);
  EXPECT_EQ((*alarms)[0].camera_id, "cam-2");
  aq.cameras.reset();
  alarms = cat_->list_alarms(aq);
  ASSERT_TRUE(alarms.ok());
  EXPECT_EQ(alarms->size(), 3u);
}

TEST_F(StorageAlarmsTest, SearchByWordsFoldedAlternativesAndPaged) {
  Camera cam;
  cam.id = "cam-1";
  cam.name = "Brama Główna";
  cam.onvif_url = "http://127.0.0.1:1/onvif/device_service";
  ASSERT_TRUE(cat_->add_camera(cam).ok());
  std::vector<std::int64_t> ids;
  const char* notes[] = {"Fałszywy alarm: KOT", "patrol w Zaułku", "kot znowu", "nic"};
  for (int i = 0; i < 4; ++i) {
    auto a = alarm(i < 3 ? "cam-1" : "cam-2", "k" + std::to_string(i), i + 1, 1000 + i);
    if (i == 1) a.kind = "line_crossing";
    auto r = cat_->raise_alarm(a);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(cat_->resolve_alarm(r->alarm.id, i == 1 ? "Łukasz" : "olga", notes[i]).ok());
    ids.push_back(r->alarm.id);
  }
  auto find = [&](std::vector<std::string> words, int limit = 100, std::int64_t before = 0) {
    AlarmQuery q;
    q.words = std::move(words);
    q.limit = limit;
    q.before_id = before;
    std::vector<std::int64_t> out;
    auto rows = cat_->list_alarms(q);
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    if (rows)
      for (const auto& a : *rows) out.push_back(a.id);
    return out;
  };
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(find({"kot"}), (V{ids[2], ids[0]}));  // newest first, case aside
  EXPECT_EQ(find({"FALSZYWY", "kot"}), (V{ids[0]}));
  EXPECT_EQ(find({"zaulku", "lukasz"}), (V{ids[1]}));        // note and people, letters folded
  EXPECT_EQ(find({"glowna"}), (V{ids[2], ids[1], ids[0]}));  // the camera's name
  EXPECT_EQ(find({"cam-2"}), (V{ids[3]}));                   // its id
  EXPECT_EQ(find({"line_crossing"}), (V{ids[1]}));           // the kind
  EXPECT_EQ(find({"przekroczenie|line_crossing"}), (V{ids[1]}));
  EXPECT_EQ(find({"|", "kot|nic"}), (V{ids[3], ids[2], ids[0]}));  // empty alternatives ignored
  EXPECT_EQ(find({"kot", "pies"}), V{});
  EXPECT_EQ(find({"kot"}, 1), (V{ids[2]}));  // paged by before like any list
  EXPECT_EQ(find({"kot"}, 1, ids[2]), (V{ids[0]}));
  AlarmQuery many;
  many.words.assign(17, "x");
  EXPECT_EQ(cat_->list_alarms(many).error().kind, ErrorKind::invalid_argument);
  many.words = {"a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q"};
  EXPECT_EQ(cat_->list_alarms(many).error().kind, ErrorKind::invalid_argument);
}

TEST_F(StorageAlarmsTest, PreferencesPerUserReplacedOrMerged) {
  auto u = cat_->add_user("olga", Role::operator_, "hash");
  ASSERT_TRUE(u.ok());
  auto v = cat_->add_user("piotr", Role::operator_, "hash");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*cat_->preferences(u->id), "{}");
  EXPECT_EQ(cat_->preferences(999).error().kind, ErrorKind::not_found);
  EXPECT_EQ(*cat_->set_preferences(u->id, R"({"grid":{"layout":9},"lang":"en"})", false),
            R"({"grid":{"layout":9},"lang":"en"})");
  EXPECT_EQ(*cat_->set_preferences(u->id, R"({"lang":null,"site":"3"})", true),
            R"({"grid":{"layout":9},"site":"3"})");
  EXPECT_EQ(*cat_->set_preferences(u->id, R"({"site":"4","x":null})", false), R"({"site":"4"})");
  EXPECT_EQ(*cat_->preferences(u->id), R"({"site":"4"})");
  EXPECT_EQ(*cat_->preferences(v->id), "{}");
  EXPECT_EQ(cat_->set_preferences(u->id, "[1]", false).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->set_preferences(u->id, "{", true).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->set_preferences(999, "{}", true).error().kind, ErrorKind::not_found);
  const std::string big = R"({"a":")" + std::string(9000, 'x') + R"("})";
  ASSERT_TRUE(cat_->set_preferences(u->id, big, true).ok());
  const std::string more = R"({"b":")" + std::string(9000, 'y') + R"("})";
  auto over = cat_->set_preferences(u->id, more, true);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::invalid_argument);
  EXPECT_NE(over.error().message.find("at most 16384"), std::string::npos) << over.error().message;
  EXPECT_EQ(cat_->preferences(u->id)->size(), big.size() + std::string(R"("site":"4",)").size());
}

}  // namespace
}  // namespace zaulek::storage
