// The benchmark's queries on the benchmark's synthetic data (one camera of
// 90 days, 128,700 rows, and a second of 10 days): correctness, not timing.
#include <gtest/gtest.h>

#include "storage/catalog.h"
#include "tests/bench/catalog_synth.h"
#include "tests/unit/storage/test_dir.h"

namespace zaulek::storage {
namespace {

using namespace synth;

constexpr std::int64_t kFirst = 1'767'225'600LL * kSec;  // 2026-01-01T00:00:00Z
constexpr int kDays = 90;

// One test case on purpose: ctest runs every case in its own process, and
// building the 143,000-row catalogue is the expensive part.
TEST(StorageSynthTest, BenchmarkQueriesOnBenchmarkData) {
  testing::TempDir dir;
  FakeClock clock(WallTime{std::chrono::nanoseconds{kFirst + kDays * kDay}});
  auto opened = Catalog::open(dir.path() / "zaulek.db", clock);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Catalog* cat = opened->get();
  auto n = fill_camera(*cat, "cam-1", kFirst, kDays);
  ASSERT_TRUE(n.ok()) << n.error().message;
  ASSERT_EQ(*n, static_cast<std::int64_t>(kDays) * kSegmentsPerDay);
  // cam-2 recorded only the last 10 days.
  auto m = fill_camera(*cat, "cam-2", kFirst + (kDays - 10) * kDay, 10);
  ASSERT_TRUE(m.ok()) << m.error().message;
  // Evidence: the first hour of cam-1.
  ASSERT_TRUE(cat->add_hold({0, "cam-1", kFirst, kFirst + 60 * kMin, "case", "t", {}}).ok());

  {
    SCOPED_TRACE("OneDayTimeline");
    const std::int64_t day = kFirst + 45 * kDay;
    auto t = cat->timeline("cam-1", day, day + kDay, kSec);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->segments, kSegmentsPerDay);
    ASSERT_EQ(t->ranges.size(), 2u);
    EXPECT_EQ(t->ranges[0], (TimeRange{day, day + kOutageMinute * kMin}));
    EXPECT_EQ(t->ranges[1], (TimeRange{day + (kOutageMinute + kOutageLength) * kMin, day + kDay}));
    ASSERT_EQ(t->gaps.size(), 1u);
    EXPECT_EQ(t->gaps[0], (TimeRange{day + kOutageMinute * kMin,
                                     day + (kOutageMinute + kOutageLength) * kMin}));
  }

  {
    SCOPED_TRACE("NinetyDayTimeline");
    auto t = cat->timeline("cam-1", kFirst, kFirst + kDays * kDay, kSec);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->segments, static_cast<std::int64_t>(kDays) * kSegmentsPerDay);
    EXPECT_EQ(t->ranges.size(), static_cast<std::size_t>(kDays + 1));
    EXPECT_EQ(t->gaps.size(), static_cast<std::size_t>(kDays));
    EXPECT_EQ(t->ranges.front().start_ns, kFirst);
    EXPECT_EQ(t->ranges.back().end_ns, kFirst + kDays * kDay);
  }

  {
    SCOPED_TRACE("OneHourList");
    const std::int64_t hour = kFirst + 10 * kDay + 7 * 60 * kMin;
    auto l = cat->list_segments("cam-1", hour, hour + 60 * kMin, 1000);
    ASSERT_TRUE(l.ok());
    ASSERT_EQ(l->size(), 60u);
    for (std::size_t i = 0; i < l->size(); ++i) {
      EXPECT_EQ((*l)[i].start_ns, hour + static_cast<std::int64_t>(i) * kMin);
    }
  }

  {
    SCOPED_TRACE("OldestUnheldSkipsHeldHourAndYoungerCamera");
    auto o = cat->oldest_unheld_segments(100);
    ASSERT_TRUE(o.ok()) << o.error().message;
    ASSERT_EQ(o->size(), 100u);
    for (std::size_t i = 0; i < o->size(); ++i) {
      EXPECT_EQ((*o)[i].camera_id, "cam-1");
      EXPECT_EQ((*o)[i].start_ns, kFirst + (60 + static_cast<std::int64_t>(i)) * kMin);
    }
  }

  {
    SCOPED_TRACE("ExpiredAfterSixtyDays");
    auto e = cat->expired_segments(60, Catalog::kMaxListLimit);
    ASSERT_TRUE(e.ok()) << e.error().message;
    // cam-1 has 30 days (42,900 segments, 60 of them held) beyond 60 days: the
    // limit returns the oldest 10,000; cam-2 has nothing that old.
    ASSERT_EQ(e->size(), static_cast<std::size_t>(Catalog::kMaxListLimit));
    EXPECT_EQ(e->front().start_ns, kFirst + 60 * kMin);
    const std::int64_t cutoff = kFirst + kDays * kDay - 60 * kDay;
    for (const auto& s : *e) {
      EXPECT_EQ(s.camera_id, "cam-1");
      EXPECT_LE(s.end_ns, cutoff);
    }
  }
}

}  // namespace
}  // namespace zaulek::storage
