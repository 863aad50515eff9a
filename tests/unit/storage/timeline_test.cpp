// The timeline read from the kept ranges (segment_ranges, migration 0012)
// against the fold of the segments it replaced, on random footage: gaps,
// overlaps, zero-length segments, open segments that grow or shrink when
// closed, retention under holds, and rows dropped without a file.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>

#include "storage/catalog.h"
#include "tests/unit/storage/test_dir.h"

namespace zaulek::storage {
namespace {

using testing::TempDir;

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kMin = 60 * kSec;
constexpr std::int64_t kDay = 86400 * kSec;

// The fold the catalogue did before migration 0012, over a model of the rows.
Timeline reference(const std::map<std::int64_t, Segment>& rows, const std::string& camera,
                   std::int64_t from, std::int64_t to, std::int64_t tolerance) {
  std::vector<Segment> live;
  for (const auto& [id, s] : rows) {
    if (s.camera_id == camera && s.state != SegmentState::deleting && s.start_ns < to &&
        s.end_ns > from) {
      live.push_back(s);
    }
  }
  std::stable_sort(live.begin(), live.end(),
                   [](const Segment& a, const Segment& b) { return a.start_ns < b.start_ns; });
  Timeline t;
  std::optional<TimeRange> cur;
  for (const Segment& seg : live) {
    ++t.segments;
    std::int64_t s = std::max(seg.start_ns, from);
    std::int64_t e = std::min(seg.end_ns, to);
    if (cur && (s <= cur->end_ns || s - cur->end_ns <= tolerance)) {
      cur->end_ns = std::max(cur->end_ns, e);
    } else {
      if (cur) t.ranges.push_back(*cur);
      cur = TimeRange{s, e};
    }
  }
  if (cur) t.ranges.push_back(*cur);
  std::int64_t at = from;
  for (const TimeRange& r : t.ranges) {
    if (r.start_ns > at) t.gaps.push_back({at, r.start_ns});
    at = std::max(at, r.end_ns);
  }
  if (at < to) t.gaps.push_back({at, to});
  return t;
}

class StorageTimelineTest : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    auto c = Catalog::open(dir_.path() / "zaulek.db", clock_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cat_ = std::move(*c);
  }

  void add(const std::string& cam, std::int64_t start, std::int64_t len, SegmentState state) {
    Segment s;
    s.camera_id = cam;
    s.start_ns = start;
    s.end_ns = start + len;
    s.path = cam + "/" + std::to_string(next_path_++) + ".ts";
    s.state = state;
    auto id = cat_->add_segment(s);
    ASSERT_TRUE(id.ok()) << id.error().message;
    s.id = *id;
    rows_[*id] = s;
  }

  void compare(const std::string& cam, std::int64_t from, std::int64_t to, std::int64_t tolerance) {
    SCOPED_TRACE(cam + " [" + std::to_string(from) + ", " + std::to_string(to) + ") tol " +
                 std::to_string(tolerance));
    auto got = cat_->timeline(cam, from, to, tolerance);
    ASSERT_TRUE(got.ok()) << got.error().message;
    Timeline want = reference(rows_, cam, from, to, tolerance);
    EXPECT_EQ(got->ranges, want.ranges);
    EXPECT_EQ(got->gaps, want.gaps);
    EXPECT_EQ(got->segments, want.segments);
  }

  TempDir dir_;
  FakeClock clock_{WallTime{std::chrono::nanoseconds{40 * kDay}}};
  std::unique_ptr<Catalog> cat_;
  std::map<std::int64_t, Segment> rows_;
  int next_path_ = 0;
};

TEST_P(StorageTimelineTest, RangesGiveTheSameAnswerAsTheFold) {
  std::mt19937_64 rng(GetParam());
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  const std::vector<std::string> cams = {"cam-1", "cam-2"};
  const std::int64_t span = 30 * kDay;
  // Bounded: 4 rounds of 150 writes, each followed by queries.
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 150; ++i) {
      const std::string& cam = cams[static_cast<std::size_t>(uniform(0, 1))];
      int what = static_cast<int>(uniform(0, 9));
      if (what <= 5 || rows_.empty()) {
        // Back-to-back, overlapping, gapped or zero-length segments.
        std::int64_t start = uniform(0, span / kMin) * kMin + uniform(-1, 1) * kSec;
        std::int64_t len = uniform(0, 4) == 0 ? 0 : uniform(1, 3) * kMin;
        add(cam, start, len, uniform(0, 3) == 0 ? SegmentState::open : SegmentState::closed);
        if (uniform(0, 2) == 0) add(cam, start + len, kMin, SegmentState::closed);
        continue;
      }
      auto it = rows_.begin();
      std::advance(it, uniform(0, static_cast<std::int64_t>(rows_.size()) - 1));
      Segment& s = it->second;
      if (what <= 7 && s.state == SegmentState::open) {
        // An open segment grows, then maybe closes shorter or longer.
        std::int64_t end = s.start_ns + uniform(0, 5) * kMin;
        Status st = what == 6 ? cat_->update_segment(s.id, end, 1, 1)
                              : cat_->close_segment(s.id, end, 1, 1, std::nullopt);
        ASSERT_TRUE(st.ok()) << st.error().message;
        s.end_ns = end;
        if (what == 7) s.state = SegmentState::closed;
      } else if (what == 8) {
        // Retention marks (holds may refuse), then removes the rows.
        auto marked = cat_->mark_segments_deleting({s.id});
        ASSERT_TRUE(marked.ok()) << marked.error().message;
        for (std::int64_t id : *marked) rows_[id].state = SegmentState::deleting;
        if (uniform(0, 1) == 0 && !marked->empty()) {
          ASSERT_TRUE(cat_->delete_segments(*marked).ok());
          for (std::int64_t id : *marked) rows_.erase(id);
        }
      } else {
        // A row whose file went missing is dropped as it is.
        std::int64_t id = s.id;
        ASSERT_TRUE(cat_->delete_segments({id}).ok());
        rows_.erase(id);
      }
    }
    if (round == 1) {
      // Holds stop retention on part of the footage from now on.
      for (const std::string& cam : cams) {
        std::int64_t from = uniform(0, span - kDay);
        ASSERT_TRUE(cat_->add_hold({0, cam, from, from + kDay, "case", "test", {}}).ok());
      }
    }
    if (round == 2) {
      // Age retention in bulk: everything of the first days not held.
      auto expired = cat_->expired_segments(37, 1000);
      ASSERT_TRUE(expired.ok()) << expired.error().message;
      std::vector<std::int64_t> ids;
      for (const Segment& s : *expired) ids.push_back(s.id);
      auto marked = cat_->mark_segments_deleting(ids);
      ASSERT_TRUE(marked.ok()) << marked.error().message;
      for (std::int64_t id : *marked) rows_[id].state = SegmentState::deleting;
    }
    for (const std::string& cam : cams) {
      compare(cam, -kDay, span + kDay, 0);
      compare(cam, -kDay, span + kDay, kSec);
      compare(cam, -kDay, span + kDay, 2 * kMin);
      for (int q = 0; q < 30; ++q) {
        std::int64_t from = uniform(-kMin, span);
        std::int64_t to = from + uniform(1, 3 * kDay);
        // Windows that start or end exactly on segment edges, too.
        if (q % 3 == 0 && !rows_.empty()) {
          auto it = rows_.begin();
          std::advance(it, uniform(0, static_cast<std::int64_t>(rows_.size()) - 1));
          from = it->second.start_ns;
          to = std::max(from + 1, it->second.end_ns);
        }
        compare(cam, from, to, uniform(0, 2) * kSec * uniform(0, 90));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, StorageTimelineTest, ::testing::Values(1u, 2u, 3u, 20u, 2026u));

}  // namespace
}  // namespace zaulek::storage
