// The event service's write path on a real io_context and a real SQLite
// catalogue: when the writer falls behind, the published-but-unwritten
// backlog is bounded (EventsOptions::max_unwritten), the oldest go and are
// counted, and what comes after is written as usual; a batch the catalogue
// cannot take for now is kept and retried.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <set>
#include <thread>

#include "server/events.h"
#include "storage/sqlite.h"
#include "tests/unit/eventually.h"
#include "tests/unit/storage/test_dir.h"

namespace zaulek::server {
namespace {

using namespace std::chrono_literals;
constexpr std::int64_t kSec = 1'000'000'000;
const WallTime kDec1{std::chrono::seconds{1'796'083'200}};  // 2026-12-01T00:00:00Z

using zaulek::testing::eventually;

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
  make_service({});
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

}  // namespace
}  // namespace zaulek::server
