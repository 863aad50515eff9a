// Deletion, retention and reconciliation with real files in a temp directory.
#include "storage/footage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/unit/storage/test_dir.h"

namespace zaulek::storage {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kMin = 60 * kSec;
constexpr std::int64_t kDay = 86400 * kSec;

class StorageFootageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Catalog::open(root() / "zaulek.db", clock_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cat_ = std::move(*c);
  }
  const fs::path& root() const { return dir_.path(); }

  // A real file whose content says its times ("start end"), as a probe reads it.
  Segment make_file(const std::string& cam, std::int64_t start, std::int64_t len = kMin,
                    std::size_t pad = 1000) {
    Segment s;
    s.camera_id = cam;
    s.start_ns = start;
    s.end_ns = start + len;
    s.path = cam + "/" + std::to_string(start) + ".ts";
    s.codec = "h264";
    s.keyframes = 1;
    s.state = SegmentState::closed;
    fs::create_directories(root() / cam);
    std::ofstream f(root() / s.path, std::ios::binary);
    std::string head = std::to_string(s.start_ns) + " " + std::to_string(s.end_ns) + "\n";
    f << head << std::string(pad - std::min(pad, head.size()), 'x');
    f.close();
    s.bytes = static_cast<std::int64_t>(fs::file_size(root() / s.path));
    return s;
  }

  std::int64_t add(const Segment& s) {
    auto id = cat_->add_segment(s);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : -1;
  }

  int files_of(const std::string& cam) const {
    int n = 0;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(root() / cam, ec)) n += e.is_regular_file() ? 1 : 0;
    return n;
  }

  static FileProbe probe() {
    return [](const fs::path& file, const std::string& camera) -> Result<Segment> {
      std::ifstream f(file);
      Segment s;
      if (!(f >> s.start_ns >> s.end_ns)) {
        return make_error(ErrorKind::invalid_argument, "not a segment: " + file.string());
      }
      s.camera_id = camera;
      s.bytes = static_cast<std::int64_t>(fs::file_size(file));
      s.keyframes = 1;
      return s;
    };
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Catalog> cat_;
};

TEST_F(StorageFootageTest, DeleteRemovesFilesAndRowsButNotHeldOrOpen) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(add(make_file("cam-1", i * kMin)));
  Segment open = make_file("cam-1", 10 * kMin);
  open.state = SegmentState::open;
  ids.push_back(add(open));
  ASSERT_TRUE(cat_->add_hold({0, "cam-1", kMin, 2 * kMin, "case", "a", {}}).ok());
  // The file of segment 4 vanished already.
  fs::remove(root() / "cam-1" / (std::to_string(4 * kMin) + ".ts"));

  auto r = delete_footage(*cat_, root(), ids);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->deleted, 4);  // 0, 2, 3 unlinked; 4 already gone
  EXPECT_EQ(r->missing_files, 1);
  EXPECT_EQ(r->skipped, 2);  // held 1, open 10
  EXPECT_EQ(r->failed, 0);
  EXPECT_EQ(r->bytes_freed, 4 * 1000);
  EXPECT_EQ(files_of("cam-1"), 2);
  EXPECT_TRUE(fs::exists(root() / "cam-1" / (std::to_string(kMin) + ".ts")));
  EXPECT_TRUE(cat_->find_segment(ids[1]).ok());
  EXPECT_TRUE(cat_->find_segment(ids[5]).ok());
  EXPECT_EQ(cat_->find_segment(ids[0]).error().kind, ErrorKind::not_found);
  EXPECT_TRUE(cat_->list_deleting_segments(10)->empty());
}

TEST_F(StorageFootageTest, FailedUnlinkKeepsIntentUntilReconciled) {
  Segment s = make_file("cam-1", 0);
  std::int64_t id = add(s);
  // Unlink of a directory fails (EISDIR) even for root: a stand-in for an I/O error.
  fs::remove(root() / s.path);
  fs::create_directories(root() / s.path / "x");
  auto r = delete_footage(*cat_, root(), {id});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->failed, 1);
  EXPECT_EQ(r->deleted, 0);
  auto pending = cat_->list_deleting_segments(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  // Not playable any more: the timeline no longer shows it.
  EXPECT_TRUE(cat_->timeline("cam-1", 0, kMin, 0)->ranges.empty());

  auto stuck = reconcile(*cat_, root(), true, probe());
  ASSERT_FALSE(stuck.ok());
  EXPECT_EQ(stuck.error().kind, ErrorKind::unavailable);
  EXPECT_NE(stuck.error().message.find(s.path), std::string::npos);

  fs::remove_all(root() / s.path);
  auto fixed = reconcile(*cat_, root(), true, probe());
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ(fixed->deletions_finished, 1);
  EXPECT_TRUE(cat_->list_deleting_segments(10)->empty());
  EXPECT_EQ(cat_->find_segment(id).error().kind, ErrorKind::not_found);
}

TEST_F(StorageFootageTest, RetentionByAgeKeepsHeldAndYoung) {
  const std::int64_t now = clock_.realtime().time_since_epoch().count();
  for (int d = 1; d <= 40; ++d) add(make_file("cam-1", now - d * kDay));
  ASSERT_TRUE(cat_->add_hold({0, "cam-1", now - 35 * kDay, now - 34 * kDay, "case", "a", {}}).ok());
  RetentionPolicy policy;
  policy.max_age_days = 30;
  policy.age_batch = 3;  // several rounds
  auto r = enforce_retention(*cat_, root(), policy, [] { return Result<double>(50.0); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  // Days 31..40 are past 30 days (a segment from day 30 back ends 1 min later); day 35 is held.
  EXPECT_EQ(r->expired_deleted, 9);
  EXPECT_EQ(r->pressure_deleted, 0);
  EXPECT_FALSE(r->below_min_free);
  EXPECT_EQ(files_of("cam-1"), 31);
  EXPECT_TRUE(fs::exists(root() / "cam-1" / (std::to_string(now - 35 * kDay) + ".ts")));
}

TEST_F(StorageFootageTest, RetentionUnderPressureTakesOldestAcrossCameras) {
  // Yesterday: young enough that age-based retention leaves it alone.
  const std::int64_t t0 = clock_.realtime().time_since_epoch().count() - kDay;
  for (int m = 0; m < 60; ++m) add(make_file("cam-1", t0 + m * kMin));
  for (int m = 30; m < 60; ++m) add(make_file("cam-2", t0 + m * kMin));
  // A disk of 100 segments' capacity; the minimum free is 50 %: 90 files must become 50.
  auto free = [this]() -> Result<double> {
    double used = 0;
    for (const char* cam : {"cam-1", "cam-2"}) {
      for (auto& e : fs::directory_iterator(root() / cam))
        used += static_cast<double>(e.file_size());
    }
    return 100.0 * (100'000.0 - used) / 100'000.0;
  };
  RetentionPolicy policy;
  policy.min_free_percent = 50;
  policy.pressure_batch = 10;
  auto r = enforce_retention(*cat_, root(), policy, free);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pressure_deleted, 40);
  EXPECT_FALSE(r->below_min_free);
  // cam-1's 30 older minutes went first, then both cameras' minutes 30..34.
  EXPECT_EQ(files_of("cam-1"), 25);
  EXPECT_EQ(files_of("cam-2"), 25);
  EXPECT_TRUE(fs::exists(root() / "cam-2" / (std::to_string(t0 + 35 * kMin) + ".ts")));
  EXPECT_FALSE(fs::exists(root() / "cam-2" / (std::to_string(t0 + 34 * kMin) + ".ts")));
}

TEST_F(StorageFootageTest, RetentionNeverTakesHeldFootageEvenWhenFull) {
  const std::int64_t t0 = clock_.realtime().time_since_epoch().count() - kDay;
  for (int m = 0; m < 10; ++m) add(make_file("cam-1", t0 + m * kMin));
  ASSERT_TRUE(cat_->add_hold({0, "cam-1", t0, t0 + 8 * kMin, "case", "a", {}}).ok());
  RetentionPolicy policy;
  policy.pressure_batch = 5;
  auto r = enforce_retention(*cat_, root(), policy, [] { return Result<double>(1.0); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pressure_deleted, 2);
  EXPECT_TRUE(r->below_min_free);
  EXPECT_EQ(files_of("cam-1"), 8);
  // A failing free-space probe is an error, not a guess.
  auto bad = enforce_retention(*cat_, root(), policy, [] {
    return Result<double>(make_error(ErrorKind::unavailable, "statvfs failed"));
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::unavailable);
}

TEST_F(StorageFootageTest, FreePercentOfRealFileSystem) {
  auto pct = free_percent(root());
  ASSERT_TRUE(pct.ok()) << pct.error().message;
  EXPECT_GE(*pct, 0.0);
  EXPECT_LE(*pct, 100.0);
  EXPECT_EQ(free_percent(root() / "missing").error().kind, ErrorKind::unavailable);
}

TEST_F(StorageFootageTest, SpaceReserveHoldsRealBlocksAndGivesThemBack) {
  SpaceReserve reserve(root() / ".catalog-reserve", 1 << 20);
  auto held = reserve.ensure();
  ASSERT_TRUE(held) << held.error().message;
  EXPECT_TRUE(*held);
  struct stat st {};
  ASSERT_EQ(::stat(reserve.file().c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  EXPECT_GE(st.st_blocks * 512, 1 << 20);  // allocated, not a sparse file
  EXPECT_TRUE(*reserve.ensure());          // already there: nothing to do
  EXPECT_TRUE(reserve.release());
  EXPECT_FALSE(fs::exists(reserve.file()));
  EXPECT_FALSE(reserve.release());  // already gone
  EXPECT_FALSE(fs::exists(root() / ".catalog-reserve.tmp"));
  // More than the file system has: not taken, and no half-made file left.
  SpaceReserve huge(root() / "huge", std::uint64_t{1} << 60);
  auto big = huge.ensure();
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_FALSE(*big);
  EXPECT_FALSE(fs::exists(root() / "huge"));
}

TEST_F(StorageFootageTest, ReconcileReportsThenRepairs) {
  ASSERT_TRUE(cat_->add_camera([] {
                    Camera c;
                    c.id = "cam-1";
                    c.onvif_url = "http://127.0.0.1:1/onvif/device_service";
                    return c;
                  }())
                  .ok());
  // A healthy row and file.
  Segment ok = make_file("cam-1", 0);
  add(ok);
  // A row whose file is gone.
  Segment gone = make_file("cam-1", kMin);
  std::int64_t gone_id = add(gone);
  fs::remove(root() / gone.path);
  // A file with no row (its row was lost in a power cut).
  Segment orphan = make_file("cam-1", 2 * kMin);
  // An open row whose file was completed.
  Segment done = make_file("cam-1", 3 * kMin);
  done.state = SegmentState::open;
  done.end_ns = done.start_ns;
  std::int64_t done_id = add(done);
  // A row whose size disagrees with its file.
  Segment grown = make_file("cam-1", 4 * kMin);
  grown.bytes = 5;
  add(grown);
  // media's unfinished file and a hidden file: not storage's.
  std::ofstream(root() / "cam-1" / "x.ts.part") << "partial";
  std::ofstream(root() / "cam-1" / ".tmp") << "hidden";
  // A file the probe cannot read.
  std::ofstream(root() / "cam-1" / "junk.ts") << "garbage";

  auto check = reconcile(*cat_, root(), false, probe());
  ASSERT_TRUE(check.ok()) << check.error().message;
  EXPECT_FALSE(check->clean());
  EXPECT_EQ(check->orphans, 2);  // the orphan and junk.ts
  EXPECT_EQ(check->size_mismatches, 1);
  EXPECT_EQ(check->files_indexed, 0);
  EXPECT_EQ(check->rows_dropped, 0);
  std::string all;
  for (const auto& f : check->findings) all += f + "\n";
  EXPECT_NE(all.find("segment " + gone.path + " is missing"), std::string::npos) << all;
  EXPECT_NE(all.find("file " + orphan.path + " has no row"), std::string::npos) << all;
  EXPECT_NE(all.find(done.path + " is complete but its row is open"), std::string::npos) << all;
  EXPECT_EQ(all.find(".part"), std::string::npos) << all;
  // Checking changed nothing.
  EXPECT_TRUE(cat_->find_segment(gone_id).ok());
  EXPECT_EQ(cat_->find_segment(done_id)->state, SegmentState::open);

  auto repair = reconcile(*cat_, root(), true, probe());
  ASSERT_TRUE(repair.ok()) << repair.error().message;
  EXPECT_EQ(repair->rows_dropped, 1);
  EXPECT_EQ(repair->files_indexed, 1);
  EXPECT_EQ(repair->open_closed, 1);
  EXPECT_EQ(cat_->find_segment(gone_id).error().kind, ErrorKind::not_found);
  auto closed = cat_->find_segment(done_id);
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->state, SegmentState::closed);
  EXPECT_EQ(closed->end_ns, 4 * kMin);
  auto t = cat_->timeline("cam-1", 0, 10 * kMin, 0);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->ranges.size(), 2u);
  EXPECT_EQ(t->ranges[0], (TimeRange{0, kMin}));
  EXPECT_EQ(t->ranges[1], (TimeRange{2 * kMin, 5 * kMin}));

  // What is left: the size mismatch and the unreadable file, each reported again.
  auto again = reconcile(*cat_, root(), true, probe());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->rows_dropped + again->files_indexed + again->open_closed, 0);
  EXPECT_EQ(again->size_mismatches, 1);
  EXPECT_EQ(again->orphans, 1);
  EXPECT_TRUE(fs::exists(root() / "cam-1" / "x.ts.part"));
}

TEST_F(StorageFootageTest, ReconcileOfEmptyRootIsClean) {
  auto r = reconcile(*cat_, root(), true, FileProbe{});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->clean());
}

TEST_F(StorageFootageTest, SegmentPathsCannotLeaveTheRoot) {
  Segment s = make_file("cam-1", 0);
  s.path = "../outside.ts";
  EXPECT_EQ(cat_->add_segment(s).error().kind, ErrorKind::invalid_argument);
  s.path = "/etc/passwd";
  EXPECT_EQ(cat_->add_segment(s).error().kind, ErrorKind::invalid_argument);
  s.path = "cam-1/../../x.ts";
  EXPECT_EQ(cat_->add_segment(s).error().kind, ErrorKind::invalid_argument);
  Camera c;
  c.id = "..";
  c.onvif_url = "http://127.0.0.1:1/";
  EXPECT_EQ(cat_->add_camera(c).error().kind, ErrorKind::invalid_argument);
}

}  // namespace
}  // namespace zaulek::storage

namespace zaulek::storage {
namespace {

// Recorder, retention and viewers at once, with real files: held footage
// survives, and rows and files agree at the end.
TEST_F(StorageFootageTest, ConcurrentRecordingRetentionAndReadsKeepInvariants) {
  constexpr int kSegments = 600;
  const std::int64_t t0 = clock_.realtime().time_since_epoch().count() - kDay;
  // Holds on minutes [100, 110) and [300, 305) before anything is recorded.
  ASSERT_TRUE(cat_->add_hold({0, "cam-1", t0 + 100 * kMin, t0 + 110 * kMin, "a", "t", {}}).ok());
  ASSERT_TRUE(cat_->add_hold({0, "cam-1", t0 + 300 * kMin, t0 + 305 * kMin, "b", "t", {}}).ok());

  std::atomic<bool> recording{true};
  std::atomic<int> errors{0};
  std::atomic<std::int64_t> deleted{0};
  std::thread deleter([&] {
    // Bounded in count and time (a safety net, not a measurement): idle rounds
    // while the recorder runs wait 1 ms instead of spinning.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    for (int round = 0; round < 200000 && std::chrono::steady_clock::now() < give_up; ++round) {
      bool last = !recording.load();
      auto oldest = cat_->oldest_unheld_segments(7);
      if (!oldest.ok()) {
        ++errors;
        continue;
      }
      std::vector<std::int64_t> ids;
      for (const auto& s : *oldest) ids.push_back(s.id);
      if (ids.empty()) {
        if (last) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      auto d = delete_footage(*cat_, root(), ids);
      if (!d.ok() || d->failed != 0) ++errors;
      if (d.ok()) deleted += d->deleted;
    }
  });
  std::thread viewer([&] {
    for (int i = 0; i < 20000 && recording.load(); ++i) {
      auto t = cat_->timeline("cam-1", t0, t0 + kSegments * kMin, kSec);
      if (!t.ok()) ++errors;
    }
  });
  for (int m = 0; m < kSegments; ++m) {
    // The recorder's order: the file is complete before its row exists.
    Segment s = make_file("cam-1", t0 + m * kMin, kMin, 200);
    if (!cat_->add_segment(s).ok()) ++errors;  // no ASSERT: the threads must be joined
  }
  recording = false;
  deleter.join();
  viewer.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(deleted.load(), kSegments - 15);
  // Exactly the 15 held segments are left, as rows and as files.
  auto left = cat_->list_segments("cam-1", t0, t0 + kSegments * kMin, 1000);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 15u);
  for (const auto& s : *left) {
    std::int64_t minute = (s.start_ns - t0) / kMin;
    EXPECT_TRUE((minute >= 100 && minute < 110) || (minute >= 300 && minute < 305)) << minute;
    EXPECT_TRUE(fs::exists(root() / s.path)) << s.path;
  }
  EXPECT_EQ(files_of("cam-1"), 15);
  auto check = reconcile(*cat_, root(), false, probe());
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->clean()) << check->findings.front();
}

}  // namespace
}  // namespace zaulek::storage
