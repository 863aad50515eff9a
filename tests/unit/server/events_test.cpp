// The event service's write path on a real io_context and a real SQLite
// catalogue: when the writer falls behind, the published-but-unwritten
// backlog is bounded (EventsOptions::max_unwritten), the oldest go and are
// counted, and what comes after is written as usual; a batch the catalogue
// cannot take for now is kept and retried. Per-camera budgets: the token
// bucket alone (EventBudget, on a FakeClock), then a flooding camera beside
// a healthy one through the service: the flood is capped, the healthy
// camera's events all arrive, and a RateLimited event carries the exact
// count of what was suppressed.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "server/events/events.h"
#include "storage/sqlite.h"
#include "tests/unit/eventually.h"
#include "tests/unit/storage/test_dir.h"

namespace zaulek::server {
namespace {

using namespace std::chrono_literals;
constexpr std::int64_t kSec = 1'000'000'000;
const WallTime kDec1{std::chrono::seconds{1'796'083'200}};  // 2026-12-01T00:00:00Z

using zaulek::testing::eventually;
// A budget no test of the write path reaches.
constexpr EventBudgetOptions kNoBudget{1'000'000, 1'000'000};

// `n` motion starts, one a second from `first` seconds after kDec1.
std::vector<onvif::ReceivedEvent> motions(int first, int n) {
  std::vector<onvif::ReceivedEvent> out;
  for (int i = first; i < first + n; ++i) {
    onvif::ReceivedEvent e;
    e.event.kind = onvif::EventKind::motion;
    e.event.state = onvif::EventState::start;
    e.event.topic = "tns1:RuleEngine/CellMotionDetector/Motion";
    e.event.data = {{"IsMotion", "true"}};
    e.time = kDec1 + std::chrono::seconds(i);
    out.push_back(std::move(e));
  }
  return out;
}

class EventServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = storage::Catalog::open(dir_.path() / "zaulek.db", clock_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cat_ = std::move(*c);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    if (svc_) svc_->stop();
    guard_.reset();
    thread_.join();
    svc_.reset();
  }
  void make_service(EventsOptions options) {
    auto box = SecretBox::open_or_create(dir_.path() / "secret.key");
    ASSERT_TRUE(box.ok()) << box.error().message;
    svc_ = std::make_unique<EventService>(ioc_, *cat_, nullptr, std::move(*box), clock_,
                                          std::move(options));
  }
  std::vector<storage::Event> rows() {
    storage::EventQuery q;
    q.limit = 1000;
    q.to_ns = INT64_MAX;
    auto r = cat_->list_events(q);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::vector<storage::Event>{};
  }

  storage::testing::TempDir dir_;
  FakeClock clock_{kDec1};
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      ioc_.get_executor()};
  std::thread thread_;
  std::unique_ptr<storage::Catalog> cat_;
  std::unique_ptr<EventService> svc_;
};

TEST_F(EventServiceTest, BacklogOverTheBoundDropsTheOldestAndCountsThem) {
  EventsOptions o;
  o.max_unwritten = 100;
  o.budget = kNoBudget;
  make_service(o);
  // 250 at once: all are published, 150 more than the bound wait for the
  // writer, so the oldest 150 are dropped before the first batch is taken.
  svc_->submit("cam-1", motions(0, 250));
  ASSERT_TRUE(eventually([&] { return svc_->stored() + svc_->store_failures() == 250; }))
      << svc_->stored() << " stored, " << svc_->store_failures() << " failed";
  EXPECT_EQ(svc_->store_failures(), 150u);
  EXPECT_EQ(svc_->stored(), 100u);
  auto got = rows();
  ASSERT_EQ(got.size(), 100u);
  std::int64_t lo = INT64_MAX, hi = 0;
  for (const auto& e : got) {
    EXPECT_EQ(e.camera_id, "cam-1");
    EXPECT_EQ(e.kind, "motion");
    lo = std::min(lo, e.time_ns);
    hi = std::max(hi, e.time_ns);
  }
  const std::int64_t t0 = kDec1.time_since_epoch().count();
  EXPECT_EQ(lo, t0 + 150 * kSec);  // the newest 100 are kept
  EXPECT_EQ(hi, t0 + 249 * kSec);

  // Under the bound again: everything is written, nothing more is dropped.
  svc_->submit("cam-1", motions(250, 40));
  ASSERT_TRUE(eventually([&] { return svc_->stored() == 140u; })) << svc_->stored();
  EXPECT_TRUE(svc_->wait_written(5s));
  EXPECT_EQ(svc_->store_failures(), 150u);
  EXPECT_EQ(rows().size(), 140u);
}

TEST_F(EventServiceTest, UnderTheBoundEveryEventIsWrittenInBatches) {
  EventsOptions o;
  o.budget = kNoBudget;
  make_service(o);
  // More than one catalogue batch in one submit, and several submits.
  svc_->submit("cam-1", motions(0, static_cast<int>(storage::Catalog::kMaxBatch) + 7));
  for (int i = 0; i < 5; ++i) svc_->submit("cam-2", motions(1000 + 10 * i, 10));
  const auto total = static_cast<std::uint64_t>(storage::Catalog::kMaxBatch) + 7 + 50;
  ASSERT_TRUE(eventually([&] { return svc_->stored() == total; })) << svc_->stored();
  EXPECT_EQ(svc_->store_failures(), 0u);
  storage::EventQuery q;
  q.limit = 1000;
  q.to_ns = INT64_MAX;
  q.camera_id = "cam-2";
  auto r = cat_->list_events(q);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->size(), 50u);
}

// Another process holds the catalogue's write lock past the busy timeout
// (a backup, `zaulekd user add`, a slow disk): the batch is not lost but kept
// and retried in order, and once the lock is gone every event is written
// under the id the consoles were given.
TEST_F(EventServiceTest, ABatchTheCatalogueCannotTakeIsKeptAndRetried) {
  make_service({});
  auto other = storage::sql::Connection::open(dir_.path() / "zaulek.db", false);
  ASSERT_TRUE(other.ok()) << other.error().message;
  ASSERT_TRUE((*other)->exec("BEGIN IMMEDIATE").ok());  // the write lock, held
  svc_->submit("cam-1", motions(0, 20));
  // The writer waits out SQLite's busy timeout (5 s), then keeps the batch.
  ASSERT_TRUE(eventually([&] { return svc_->store_retries() >= 1; }));
  svc_->submit("cam-2", motions(100, 5));  // queued behind the kept batch
  EXPECT_EQ(svc_->stored(), 0u);
  EXPECT_EQ(svc_->store_failures(), 0u);
  ASSERT_TRUE((*other)->exec("ROLLBACK").ok());
  ASSERT_TRUE(eventually([&] { return svc_->stored() == 25u; }))
      << svc_->stored() << " stored, " << svc_->store_failures() << " failed";
  EXPECT_TRUE(svc_->wait_written(5s));
  EXPECT_EQ(svc_->store_failures(), 0u);
  auto got = rows();
  ASSERT_EQ(got.size(), 25u);
  std::set<std::int64_t> ids;
  for (const auto& e : got) ids.insert(e.id);
  EXPECT_EQ(ids.size(), 25u);
  EXPECT_EQ(*ids.rbegin() - *ids.begin(), 24);  // the reserved ids, none skipped
  EXPECT_NE(svc_->metrics_text().find("zaulek_events_store_retries_total "), std::string::npos);
}

TEST(EventBudgetTest, BurstThenRatePerCamera) {
  FakeClock clock;
  EventBudget b(clock, {10, 30});
  EXPECT_EQ(b.admit("a", 25), 25u);  // a new camera starts with a full bucket
  EXPECT_EQ(b.admit("a", 25), 5u);
  EXPECT_EQ(b.admit("a", 1), 0u);
  EXPECT_EQ(b.admit("b", 30), 30u);  // another camera has its own bucket
  clock.advance(500ms);
  EXPECT_EQ(b.admit("a", 100), 5u);  // 10/s for 0.5 s
  clock.advance(1h);
  EXPECT_EQ(b.admit("a", 100), 30u);  // refilled up to the burst, no more
  EXPECT_EQ(b.admit("a", 0), 0u);
  EXPECT_EQ(b.totals(), (std::map<std::string, std::uint64_t>{{"a", 20 + 1 + 95 + 70}}));
}

TEST(EventBudgetTest, SummariesCountEverythingSuppressedOnce) {
  FakeClock clock;
  EventBudget b(clock, {1, 2});
  EXPECT_FALSE(b.has_suppressed());
  EXPECT_TRUE(b.take_summaries().empty());
  const WallTime t0 = clock.realtime();
  EXPECT_EQ(b.admit("cam", 5), 2u);
  clock.advance(100ms);
  EXPECT_EQ(b.admit("cam", 0, 7), 0u);  // cut off elsewhere: counted as suppressed
  EXPECT_EQ(b.admit("quiet", 1), 1u);
  EXPECT_TRUE(b.has_suppressed());
  clock.advance(400ms);
  auto s = b.take_summaries();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].camera_id, "cam");
  EXPECT_EQ(s[0].count, 10u);
  EXPECT_EQ(s[0].from, t0);
  EXPECT_EQ(s[0].to, t0 + 500ms);
  EXPECT_FALSE(b.has_suppressed());
  EXPECT_TRUE(b.take_summaries().empty());  // told once
  EXPECT_EQ(b.totals().at("cam"), 10u);     // the running total stays
}

TEST(EventBudgetTest, ZeroOptionsStillLetEventsThrough) {
  FakeClock clock;
  EventBudget b(clock, {0, 0});
  EXPECT_EQ(b.options().per_second, 1u);
  EXPECT_EQ(b.options().burst, 1u);
  EXPECT_EQ(b.admit("a", 3), 1u);
  clock.advance(1s);
  EXPECT_EQ(b.admit("a", 3), 1u);
}

std::vector<storage::Event> of_camera(const std::vector<storage::Event>& rows,
                                      const std::string& camera, const std::string& topic) {
  std::vector<storage::Event> out;
  for (const auto& e : rows)
    if (e.camera_id == camera && e.topic == topic) out.push_back(e);
  return out;
}

// The suppressed events the RateLimited summaries of `camera` tell, together.
std::uint64_t told(const std::vector<storage::Event>& rows, const std::string& camera) {
  std::uint64_t n = 0;
  for (const auto& e : of_camera(rows, camera, kRateLimitedTopic))
    n += nlohmann::json::parse(e.data)["suppressed"].get<std::uint64_t>();
  return n;
}

TEST_F(EventServiceTest, AFloodingCameraIsCappedAndSummarizedTheOthersAreNot) {
  EventsOptions o;
  o.budget = {10, 20};
  o.summary_interval = 50ms;
  make_service(o);
  const std::string motion = "tns1:RuleEngine/CellMotionDetector/Motion";
  // 1,000 events from the flood in ten replies, the healthy camera's five between them.
  for (int i = 0; i < 10; ++i) {
    svc_->submit("flood", motions(100 * i, 100));
    if (i % 2 == 0) svc_->submit("calm", motions(5000 + i, 1));
  }
  std::vector<storage::Event> got;
  ASSERT_TRUE(eventually([&] {
    got = rows();
    return told(got, "flood") == 980u;
  })) << told(got, "flood");
  EXPECT_EQ(of_camera(got, "calm", motion).size(), 5u);
  EXPECT_EQ(of_camera(got, "flood", motion).size(), 20u);
  auto summary = of_camera(got, "flood", kRateLimitedTopic);
  ASSERT_GE(summary.size(), 1u);
  EXPECT_EQ(summary[0].kind, "other");
  EXPECT_EQ(summary[0].state, "pulse");
  auto data = nlohmann::json::parse(summary[0].data);
  EXPECT_EQ(data["max_per_second"], 10);
  EXPECT_EQ(data["burst"], 20);
  EXPECT_EQ(data["from"], format_rfc3339(kDec1));  // the fake clock stands still
  EXPECT_EQ(data["to"], format_rfc3339(kDec1));
  EXPECT_TRUE(of_camera(got, "calm", kRateLimitedTopic).empty());
  EXPECT_EQ(svc_->suppressed(), 980u);

  // A second later the flood goes on: 10 more pass, the rest is told next.
  clock_.advance(1s);
  svc_->submit("flood", motions(2000, 100));
  svc_->submit("calm", motions(6000, 3));
  ASSERT_TRUE(eventually([&] {
    got = rows();
    return told(got, "flood") == 1070u;
  })) << told(got, "flood");
  EXPECT_EQ(of_camera(got, "calm", motion).size(), 8u);
  EXPECT_EQ(of_camera(got, "flood", motion).size(), 30u);
  EXPECT_NE(svc_->metrics_text().find("zaulek_events_suppressed_total{camera=\"flood\"} 1070\n"),
            std::string::npos)
      << svc_->metrics_text();
  EXPECT_EQ(svc_->metrics_text().find("camera=\"calm\"} "), std::string::npos);
}

TEST_F(EventServiceTest, NotificationsCutOffBeforeTheServiceAreCountedToo) {
  EventsOptions o;
  o.summary_interval = 50ms;
  make_service(o);
  svc_->submit("cam-1", motions(0, 10), 90);  // 10 of a 100-notification reply
  ASSERT_TRUE(eventually([&] { return svc_->stored() == 11u; })) << svc_->stored();
  ASSERT_TRUE(svc_->wait_written(5s));
  auto got = rows();
  EXPECT_EQ(of_camera(got, "cam-1", kRateLimitedTopic).size(), 1u);
  EXPECT_EQ(told(got, "cam-1"), 90u);
}

TEST_F(EventServiceTest, WhatIsSuppressedWhenTheServiceStopsIsStillTold) {
  EventsOptions o;
  o.budget = {1, 1};
  o.summary_interval = 1h;  // no tick before stop()
  make_service(o);
  svc_->submit("cam-1", motions(0, 4));
  ASSERT_TRUE(eventually([&] { return svc_->stored() == 1u; })) << svc_->stored();
  svc_->stop();
  ASSERT_TRUE(eventually([&] { return svc_->stored() == 2u; })) << svc_->stored();
  EXPECT_EQ(told(rows(), "cam-1"), 3u);
}

// Event text that is not UTF-8 (surrogate, overlong forms, F5, above
// U+10FFFF, truncated) is replaced before it reaches JSON: the event dumps
// (nlohmann::json::dump threw on it, and the throw aborted zaulekd).
TEST(EventText, InvalidUtf8IsReplacedBeforeJson) {
  const std::string bad = "\xed\xa0\x80\xc0\xaf\xe0\x80\xaf\xf5\xf4\x90\x80\x80\xe2\x82";
  onvif::ReceivedEvent e;
  e.event.topic = "tns1:VideoSource/" + bad;
  e.event.source = {{"Video" + bad, "src" + bad}};
  e.event.data = {{"State", "on" + bad}};
  e.time = WallTime{std::chrono::seconds(1700000000)};
  storage::Event stored = to_stored_event("cam-1", e);
  EXPECT_EQ(stored.topic, "tns1:VideoSource/???????????????");
  std::string dumped;
  ASSERT_NO_THROW(dumped = event_json(stored).dump());
  auto j = nlohmann::json::parse(dumped);
  EXPECT_EQ(j["data"]["State"], "on???????????????");
  EXPECT_EQ(j["source"]["Video???????????????"], "src???????????????");
}

}  // namespace
}  // namespace zaulek::server
