// Cameras, streams, the segment index, holds and retention on real SQLite files.
#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <thread>

#include "storage/catalog.h"
#include "tests/unit/storage/test_dir.h"

namespace zaulek::storage {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kMin = 60 * kSec;
constexpr std::int64_t kDay = 86400 * kSec;

class StorageRecordingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Catalog::open(dir_.path() / "zaulek.db", clock_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cat_ = std::move(*c);
  }

  Camera camera(std::string name = "Alley 1") {
    Camera c;
    c.name = std::move(name);
    c.onvif_url = "http://127.0.0.1:8000/onvif/device_service";
    c.username = "admin";
    c.password_enc = {0x01, 0x02, 0x00, 0xff};
    return c;
  }

  // A closed segment [start, start + len) with a unique path.
  Segment segment(const std::string& cam, std::int64_t start, std::int64_t len = kMin) {
    Segment s;
    s.camera_id = cam;
    s.start_ns = start;
    s.end_ns = start + len;
    s.bytes = 1'000'000;
    s.path = cam + "/" + std::to_string(start) + ".mkv";
    s.codec = "h264";
    s.keyframes = 30;
    s.state = SegmentState::closed;
    return s;
  }

  std::int64_t now_ns() const { return clock_.realtime().time_since_epoch().count(); }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Catalog> cat_;
};

// ---- cameras ----

TEST_F(StorageRecordingsTest, CameraCrudRoundTrip) {
  auto a = cat_->add_camera(camera());
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->id, "cam-1");
  auto b = cat_->add_camera(camera("Park"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->id, "cam-2");

  auto found = cat_->find_camera("cam-1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->name, "Alley 1");
  EXPECT_EQ(found->password_enc, (std::vector<std::uint8_t>{0x01, 0x02, 0x00, 0xff}));
  EXPECT_EQ(found->recording_mode, RecordingMode::continuous);
  EXPECT_EQ(found->retention_days, 90);
  EXPECT_EQ(found->created, clock_.realtime());

  clock_.advance(5s);
  Camera changed = *found;
  changed.name = "Alley 1 north";
  changed.recording_mode = RecordingMode::events;
  changed.retention_days = 30;
  changed.manufacturer = "Zaulek";
  auto updated = cat_->update_camera(changed);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->name, "Alley 1 north");
  EXPECT_EQ(updated->recording_mode, RecordingMode::events);
  EXPECT_EQ(updated->created, found->created);
  EXPECT_EQ(updated->updated - updated->created, 5s);

  auto all = cat_->list_cameras();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "cam-1");
  EXPECT_EQ((*all)[0].manufacturer, "Zaulek");

  ASSERT_TRUE(cat_->delete_camera("cam-1").ok());
  EXPECT_EQ(cat_->find_camera("cam-1").error().kind, ErrorKind::not_found);
  EXPECT_EQ(cat_->delete_camera("cam-1").error().kind, ErrorKind::not_found);
  // Ids are never reused: footage of the deleted cam-1 still carries its id.
  auto c = cat_->add_camera(camera("Underpass"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->id, "cam-3");
}

// Migration 0016: how the camera is pulled; TCP and the sub stream while
// watched unless said otherwise.
TEST_F(StorageRecordingsTest, CameraPullSettingsRoundTrip) {
  auto a = cat_->add_camera(camera());
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->rtsp_transport, RtspTransport::tcp);
  EXPECT_EQ(a->sub_pull, SubPull::watched);
  Camera udp = camera("Underpass");
  udp.rtsp_transport = RtspTransport::udp;
  udp.sub_pull = SubPull::always;
  ASSERT_TRUE(cat_->add_camera(udp).ok());
  auto found = cat_->find_camera("cam-2");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->rtsp_transport, RtspTransport::udp);
  EXPECT_EQ(found->sub_pull, SubPull::always);
  Camera back = *found;
  back.rtsp_transport = RtspTransport::tcp;
  back.sub_pull = SubPull::watched;
  auto updated = cat_->update_camera(back);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->rtsp_transport, RtspTransport::tcp);
  EXPECT_EQ(updated->sub_pull, SubPull::watched);
  EXPECT_EQ(to_string(RtspTransport::udp), "udp");
  EXPECT_EQ(to_string(SubPull::always), "always");
  EXPECT_EQ(parse_rtsp_transport("udp"), RtspTransport::udp);
  EXPECT_EQ(parse_sub_pull("watched"), SubPull::watched);
  EXPECT_FALSE(parse_rtsp_transport("UDP").has_value());
  EXPECT_FALSE(parse_sub_pull("").has_value());
}

TEST_F(StorageRecordingsTest, CameraExplicitIdAndCollisions) {
  Camera c = camera();
  c.id = "cam-1";
  ASSERT_TRUE(cat_->add_camera(c).ok());
  auto dup = cat_->add_camera(c);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind, ErrorKind::already_exists);
  EXPECT_EQ(dup.error().message, "camera cam-1 already exists");
  // The counter steps over the explicit "cam-1".
  auto next = cat_->add_camera(camera());
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->id, "cam-2");
}

TEST_F(StorageRecordingsTest, CameraBadInputIsInvalidArgument) {
  Camera c = camera();
  c.onvif_url = "";
  EXPECT_EQ(cat_->add_camera(c).error().kind, ErrorKind::invalid_argument);
  c = camera();
  c.retention_days = 0;
  EXPECT_EQ(cat_->add_camera(c).error().kind, ErrorKind::invalid_argument);
  c = camera();
  c.id = "cam/../../etc";
  EXPECT_EQ(cat_->add_camera(c).error().kind, ErrorKind::invalid_argument);
  c = camera();
  c.password_enc.assign(5000, 1);
  EXPECT_EQ(cat_->add_camera(c).error().kind, ErrorKind::invalid_argument);
  c = camera();
  c.id = "cam-404";
  EXPECT_EQ(cat_->update_camera(c).error().kind, ErrorKind::not_found);
  auto all = cat_->list_cameras();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(StorageRecordingsTest, StreamsReplaceAndCascade) {
  auto a = cat_->add_camera(camera());
  ASSERT_TRUE(a.ok());
  std::vector<Stream> streams = {
      {a->id, StreamKind::main, "profile_1", "rtsp://127.0.0.1:8554/main", "H264", 1920, 1080},
      {a->id, StreamKind::sub, "profile_2", "rtsp://127.0.0.1:8554/sub", "H264", 640, 360}};
  ASSERT_TRUE(cat_->set_streams(a->id, streams).ok());
  auto l = cat_->list_streams(a->id);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].kind, StreamKind::main);
  EXPECT_EQ((*l)[0].width, 1920);
  EXPECT_EQ((*l)[1].rtsp_uri, "rtsp://127.0.0.1:8554/sub");

  ASSERT_TRUE(cat_->set_streams(a->id, {streams[0]}).ok());
  EXPECT_EQ(cat_->list_streams(a->id)->size(), 1u);

  EXPECT_EQ(cat_->set_streams(a->id, {streams[0], streams[0]}).error().kind,
            ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->list_streams(a->id)->size(), 1u);  // the failed replace rolled back
  EXPECT_EQ(cat_->set_streams("cam-404", {streams[0]}).error().kind, ErrorKind::not_found);

  ASSERT_TRUE(cat_->delete_camera(a->id).ok());
  EXPECT_TRUE(cat_->list_streams(a->id)->empty());
}

// ---- segments ----

TEST_F(StorageRecordingsTest, SegmentLifecycleOpenGrowClose) {
  Segment s = segment("cam-1", 100 * kSec, 0);
  s.state = SegmentState::open;
  s.bytes = 0;
  auto id = cat_->add_segment(s);
  ASSERT_TRUE(id.ok()) << id.error().message;

  ASSERT_TRUE(cat_->update_segment(*id, 110 * kSec, 5000, 3).ok());
  auto t = cat_->timeline("cam-1", 0, 1000 * kSec, kSec);
  ASSERT_TRUE(t.ok());
  // The live edge: the open segment counts up to its last written time.
  ASSERT_EQ(t->ranges.size(), 1u);
  EXPECT_EQ(t->ranges[0], (TimeRange{100 * kSec, 110 * kSec}));

  ASSERT_TRUE(cat_->close_segment(*id, 160 * kSec, 9000, 6, "sha256:abc").ok());
  auto f = cat_->find_segment(*id);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->state, SegmentState::closed);
  EXPECT_EQ(f->end_ns, 160 * kSec);
  EXPECT_EQ(f->bytes, 9000);
  EXPECT_EQ(f->keyframes, 6);
  EXPECT_EQ(f->checksum, "sha256:abc");

  auto again = cat_->close_segment(*id, 170 * kSec, 1, 1, std::nullopt);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::failed_precondition);
  EXPECT_EQ(cat_->update_segment(999, 1, 1, 1).error().kind, ErrorKind::not_found);
}

TEST_F(StorageRecordingsTest, SegmentBadInput) {
  Segment s = segment("cam-1", 100 * kSec);
  s.end_ns = s.start_ns - 1;
  EXPECT_EQ(cat_->add_segment(s).error().kind, ErrorKind::invalid_argument);
  s = segment("cam-1", 100 * kSec, 7 * 3600 * kSec);
  EXPECT_EQ(cat_->add_segment(s).error().kind, ErrorKind::invalid_argument);
  s = segment("cam-1", 100 * kSec);
  s.path = "";
  EXPECT_EQ(cat_->add_segment(s).error().kind, ErrorKind::invalid_argument);
  s = segment("cam-1", 100 * kSec);
  ASSERT_TRUE(cat_->add_segment(s).ok());
  auto dup = cat_->add_segment(s);
  EXPECT_EQ(dup.error().kind, ErrorKind::already_exists);

  Segment open = segment("cam-1", 200 * kSec, 0);
  open.state = SegmentState::open;
  open.path = "cam-1/open.mkv";
  auto id = cat_->add_segment(open);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(cat_->update_segment(*id, 199 * kSec, 1, 1).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->add_segments({}).error().kind, ErrorKind::invalid_argument);
  // A failed batch leaves nothing behind.
  std::vector<Segment> batch = {segment("cam-2", 0), segment("cam-2", kMin), s};
  EXPECT_EQ(cat_->add_segments(batch).error().kind, ErrorKind::already_exists);
  EXPECT_TRUE(cat_->list_segments("cam-2", 0, kDay, 100)->empty());
}

TEST_F(StorageRecordingsTest, ListSegmentsOverlapping) {
  std::vector<Segment> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(segment("cam-1", i * kMin));
  batch.push_back(segment("cam-2", 0));
  ASSERT_TRUE(cat_->add_segments(batch).ok());
  // [90 s, 150 s) overlaps segments 1 and 2 only.
  auto l = cat_->list_segments("cam-1", 90 * kSec, 150 * kSec, 100);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].start_ns, kMin);
  EXPECT_EQ((*l)[1].start_ns, 2 * kMin);
  // End is exclusive: [0, 60 s) is just the first.
  EXPECT_EQ(cat_->list_segments("cam-1", 0, kMin, 100)->size(), 1u);
  EXPECT_EQ(cat_->list_segments("cam-1", 0, 10 * kMin, 3)->size(), 3u);
  EXPECT_EQ(cat_->list_segments("cam-1", 5, 5, 3).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->list_segments("cam-1", 0, 5, 0).error().kind, ErrorKind::invalid_argument);
}

TEST_F(StorageRecordingsTest, TimelineMergesWithToleranceAndReportsGaps) {
  std::vector<Segment> batch;
  // 0-60, 60.5-120 (half a second gap), 120-180, then 300-360, then 360-420 with a 2 s gap.
  batch.push_back(segment("cam-1", 0));
  batch.push_back(segment("cam-1", kMin + kSec / 2, kMin - kSec / 2));
  batch.push_back(segment("cam-1", 2 * kMin));
  batch.push_back(segment("cam-1", 5 * kMin));
  batch.push_back(segment("cam-1", 6 * kMin + 2 * kSec, kMin - 2 * kSec));
  ASSERT_TRUE(cat_->add_segments(batch).ok());

  auto t = cat_->timeline("cam-1", 0, 10 * kMin, kSec);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->segments, 5);
  ASSERT_EQ(t->ranges.size(), 3u);
  EXPECT_EQ(t->ranges[0], (TimeRange{0, 3 * kMin}));
  EXPECT_EQ(t->ranges[1], (TimeRange{5 * kMin, 6 * kMin}));
  EXPECT_EQ(t->ranges[2], (TimeRange{6 * kMin + 2 * kSec, 7 * kMin}));
  ASSERT_EQ(t->gaps.size(), 3u);
  EXPECT_EQ(t->gaps[0], (TimeRange{3 * kMin, 5 * kMin}));
  EXPECT_EQ(t->gaps[1], (TimeRange{6 * kMin, 6 * kMin + 2 * kSec}));
  EXPECT_EQ(t->gaps[2], (TimeRange{7 * kMin, 10 * kMin}));

  // A wider tolerance joins the last two; the query window clips the ranges.
  auto wide = cat_->timeline("cam-1", 30 * kSec, 400 * kSec, 5 * kSec);
  ASSERT_TRUE(wide.ok());
  ASSERT_EQ(wide->ranges.size(), 2u);
  EXPECT_EQ(wide->ranges[0], (TimeRange{30 * kSec, 3 * kMin}));
  EXPECT_EQ(wide->ranges[1], (TimeRange{5 * kMin, 400 * kSec}));
  ASSERT_EQ(wide->gaps.size(), 1u);
  EXPECT_EQ(wide->gaps[0], (TimeRange{3 * kMin, 5 * kMin}));

  // No footage: one gap covering everything.
  auto none = cat_->timeline("cam-9", 0, kMin, kSec);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->ranges.empty());
  ASSERT_EQ(none->gaps.size(), 1u);
  EXPECT_EQ(none->gaps[0], (TimeRange{0, kMin}));
  EXPECT_EQ(cat_->timeline("cam-1", 0, kMin, -1).error().kind, ErrorKind::invalid_argument);
}

TEST_F(StorageRecordingsTest, TimelineSeesSegmentStartingBeforeWindow) {
  // A long segment (2 h) that started well before the window still counts.
  ASSERT_TRUE(cat_->add_segment(segment("cam-1", 0, 2 * 3600 * kSec)).ok());
  auto t = cat_->timeline("cam-1", 3600 * kSec, 3601 * kSec, 0);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->ranges.size(), 1u);
  EXPECT_EQ(t->ranges[0], (TimeRange{3600 * kSec, 3601 * kSec}));
  EXPECT_TRUE(t->gaps.empty());
}

// ---- holds and retention ----

TEST_F(StorageRecordingsTest, HoldsAddListDelete) {
  auto h = cat_->add_hold({0, "cam-1", 10 * kSec, 20 * kSec, "case 2026/17", "alice", {}});
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_GT(h->id, 0);
  EXPECT_EQ(h->created, clock_.realtime());
  ASSERT_TRUE(cat_->add_hold({0, "cam-2", 0, kSec, "case 2026/18", "bob", {}}).ok());
  EXPECT_EQ(cat_->list_holds("")->size(), 2u);
  auto l = cat_->list_holds("cam-1");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].reason, "case 2026/17");
  EXPECT_EQ((*l)[0].created_by, "alice");
  EXPECT_EQ(cat_->add_hold({0, "cam-1", 5, 5, "r", "a", {}}).error().kind,
            ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->add_hold({0, "cam-1", 5, 6, "", "a", {}}).error().kind,
            ErrorKind::invalid_argument);
  ASSERT_TRUE(cat_->delete_hold(h->id).ok());
  EXPECT_EQ(cat_->delete_hold(h->id).error().kind, ErrorKind::not_found);
  EXPECT_TRUE(cat_->list_holds("cam-1")->empty());
}

TEST_F(StorageRecordingsTest, OldestUnheldIsOldestAcrossCamerasAndSkipsHolds) {
  // cam-1 has footage from minute 0, cam-2 from minute 5; both until minute 10.
  std::vector<Segment> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(segment("cam-1", i * kMin));
  for (int i = 5; i < 10; ++i) batch.push_back(segment("cam-2", i * kMin));
  Segment open = segment("cam-3", 0);
  open.state = SegmentState::open;
  batch.push_back(open);
  ASSERT_TRUE(cat_->add_segments(batch).ok());
  // Evidence: cam-1 minutes 1-2 (touching segments 1 and 2).
  ASSERT_TRUE(cat_->add_hold({0, "cam-1", kMin + kSec, 2 * kMin + kSec, "case", "a", {}}).ok());

  auto o = cat_->oldest_unheld_segments(8);
  ASSERT_TRUE(o.ok()) << o.error().message;
  ASSERT_EQ(o->size(), 8u);
  std::vector<std::pair<std::string, std::int64_t>> got;
  for (const auto& s : *o) got.emplace_back(s.camera_id, s.start_ns / kMin);
  std::vector<std::pair<std::string, std::int64_t>> want = {
      {"cam-1", 0}, {"cam-1", 3}, {"cam-1", 4}, {"cam-1", 5},
      {"cam-2", 5}, {"cam-1", 6}, {"cam-2", 6}, {"cam-1", 7}};
  EXPECT_EQ(got, want);
  for (const auto& s : *o) EXPECT_EQ(s.state, SegmentState::closed);
}

TEST_F(StorageRecordingsTest, ExpiredHonoursCameraRetentionAndHolds) {
  auto cam = camera();
  cam.retention_days = 7;
  ASSERT_TRUE(cat_->add_camera(cam).ok());  // cam-1 keeps 7 days
  const std::int64_t now = now_ns();
  std::vector<Segment> batch;
  // One segment per day for 100 days back, for cam-1 (7 days) and cam-x (deleted camera).
  for (int d = 1; d <= 100; ++d) {
    batch.push_back(segment("cam-1", now - d * kDay));
    batch.push_back(segment("cam-x", now - d * kDay));
  }
  ASSERT_TRUE(cat_->add_segments(batch).ok());
  // Hold cam-1 days 20..30 back.
  ASSERT_TRUE(cat_->add_hold({0, "cam-1", now - 30 * kDay, now - 19 * kDay, "case", "a", {}}).ok());

  auto e = cat_->expired_segments(90, Catalog::kMaxListLimit);
  ASSERT_TRUE(e.ok()) << e.error().message;
  int cam1 = 0, camx = 0;
  for (const auto& s : *e) {
    std::int64_t age_days = (now - s.start_ns) / kDay;
    if (s.camera_id == "cam-1") {
      ++cam1;
      EXPECT_GE(age_days, 8);
      EXPECT_FALSE(age_days >= 20 && age_days <= 30) << "held segment " << age_days;
    } else {
      ++camx;
      EXPECT_GE(age_days, 91);
    }
  }
  // cam-1: days 8..100 (93) minus 11 held; cam-x: days 91..100 (10) under the global ceiling.
  EXPECT_EQ(cam1, 93 - 11);
  EXPECT_EQ(camx, 10);
  // Oldest first.
  for (std::size_t i = 1; i < e->size(); ++i) EXPECT_LE((*e)[i - 1].start_ns, (*e)[i].start_ns);
  EXPECT_EQ(cat_->expired_segments(0, 10).error().kind, ErrorKind::invalid_argument);
}

TEST_F(StorageRecordingsTest, DeletionRecordsIntentAndHoldWins) {
  std::vector<Segment> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(segment("cam-1", i * kMin));
  auto ids = cat_->add_segments(batch);
  ASSERT_TRUE(ids.ok());
  auto candidates = cat_->oldest_unheld_segments(4);
  ASSERT_TRUE(candidates.ok());
  ASSERT_EQ(candidates->size(), 4u);
  // A hold arrives between the retention query and the deletion.
  ASSERT_TRUE(cat_->add_hold({0, "cam-1", kMin, kMin + 1, "late case", "a", {}}).ok());
  std::vector<std::int64_t> want;
  for (const auto& s : *candidates) want.push_back(s.id);
  auto marked = cat_->mark_segments_deleting(want);
  ASSERT_TRUE(marked.ok()) << marked.error().message;
  EXPECT_EQ(marked->size(), 3u);
  EXPECT_EQ(std::count(marked->begin(), marked->end(), (*ids)[1]), 0);

  // Marked segments vanish from the timeline, show up as unfinished deletions.
  auto t = cat_->timeline("cam-1", 0, 4 * kMin, 0);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->ranges.size(), 1u);
  EXPECT_EQ(t->ranges[0], (TimeRange{kMin, 2 * kMin}));
  auto pending = cat_->list_deleting_segments(100);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->size(), 3u);

  ASSERT_TRUE(cat_->delete_segments(*marked).ok());
  EXPECT_TRUE(cat_->list_deleting_segments(100)->empty());
  EXPECT_EQ(cat_->find_segment((*ids)[0]).error().kind, ErrorKind::not_found);
  EXPECT_TRUE(cat_->find_segment((*ids)[1]).ok());
}

TEST_F(StorageRecordingsTest, SegmentsAndHoldsSurviveReopen) {
  ASSERT_TRUE(cat_->add_segment(segment("cam-1", 0)).ok());
  ASSERT_TRUE(cat_->add_hold({0, "cam-1", 0, kMin, "case", "a", {}}).ok());
  cat_.reset();
  auto c = Catalog::open(dir_.path() / "zaulek.db", clock_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->list_segments("cam-1", 0, kMin, 10)->size(), 1u);
  EXPECT_EQ((*c)->list_holds("cam-1")->size(), 1u);
  EXPECT_TRUE((*c)->oldest_unheld_segments(10)->empty());
}

}  // namespace
}  // namespace zaulek::storage

namespace zaulek::storage {
namespace {

TEST_F(StorageRecordingsTest, ExportLifecycle) {
  auto x = cat_->add_export(
      {"", "cam-1", 0, kMin, ExportState::done, "p", 9, "s", "e", "inv", {}, {}, {}});
  ASSERT_TRUE(x.ok()) << x.error().message;
  EXPECT_EQ(x->id, "exp-1");
  EXPECT_EQ(x->state, ExportState::queued);  // whatever the caller said
  EXPECT_TRUE(x->path.empty());
  EXPECT_FALSE(x->finished.has_value());

  Export job = *x;
  job.state = ExportState::done;
  auto early = cat_->update_export(job);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().kind, ErrorKind::failed_precondition);
  EXPECT_EQ(early.error().message, "export exp-1 is queued, cannot become done");

  job.state = ExportState::running;
  ASSERT_TRUE(cat_->update_export(job).ok());
  clock_.advance(3s);
  job.state = ExportState::done;
  job.path = "exports/exp-1.ts";
  job.bytes = 12345;
  job.sha256 = std::string(64, 'a');
  auto done = cat_->update_export(job);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->state, ExportState::done);
  ASSERT_TRUE(done->finished.has_value());
  EXPECT_EQ(*done->finished - done->created, 3s);

  auto found = cat_->find_export("exp-1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->path, "exports/exp-1.ts");
  EXPECT_EQ(found->bytes, 12345);
  EXPECT_EQ(found->created_by, "inv");
  EXPECT_EQ(cat_->find_export("exp-9").error().kind, ErrorKind::not_found);
  job.id = "exp-9";
  EXPECT_EQ(cat_->update_export(job).error().kind, ErrorKind::not_found);
  EXPECT_EQ(
      cat_->add_export({"", "cam-1", kMin, kMin, {}, "", 0, "", "", "a", {}, {}, {}}).error().kind,
      ErrorKind::invalid_argument);
}

TEST_F(StorageRecordingsTest, ExportInProgressProtectsFootageUntilRestartFailsIt) {
  std::vector<Segment> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(segment("cam-1", i * kMin));
  ASSERT_TRUE(cat_->add_segments(batch).ok());
  auto x = cat_->add_export({"", "cam-1", kMin, 2 * kMin, {}, "", 0, "", "", "inv", {}, {}, {}});
  ASSERT_TRUE(x.ok());
  auto o = cat_->oldest_unheld_segments(10);
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o->size(), 3u);  // minute 1 is being exported
  for (const auto& s : *o) EXPECT_NE(s.start_ns, kMin);

  auto failed = cat_->fail_unfinished_exports("zaulekd restarted");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(*failed, 1);
  auto f = cat_->find_export(x->id);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->state, ExportState::failed);
  EXPECT_EQ(f->error, "zaulekd restarted");
  EXPECT_EQ(cat_->oldest_unheld_segments(10)->size(), 4u);

  ASSERT_TRUE(cat_->add_export({"", "cam-2", 0, kMin, {}, "", 0, "", "", "inv", {}, {}, {}}).ok());
  auto all = cat_->list_exports("", 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "exp-2");  // newest first
  EXPECT_EQ(cat_->list_exports("cam-1", 10)->size(), 1u);
}

// The export's hold is written with it, named by id, and its reason cut on a
// character boundary to the hold's 1024 bytes.
TEST_F(StorageRecordingsTest, ExportWithHoldIsOneWriteAndKnowsItsHold) {
  Export job{"", "cam-1", kMin, 2 * kMin, {}, "", 0, "", "", "inv", {}, {}, {}};
  auto x = cat_->add_export_with_hold(job, "Sprawa 7/2026");
  ASSERT_TRUE(x.ok()) << x.error().message;
  ASSERT_TRUE(x->hold_id.has_value());
  auto hs = cat_->list_holds("cam-1");
  ASSERT_EQ(hs->size(), 1u);
  EXPECT_EQ((*hs)[0].id, *x->hold_id);
  EXPECT_EQ((*hs)[0].reason, "export exp-1: Sprawa 7/2026");
  EXPECT_EQ((*hs)[0].created_by, "inv");
  EXPECT_EQ((*hs)[0].from_ns, kMin);
  EXPECT_EQ((*hs)[0].to_ns, 2 * kMin);
  EXPECT_EQ(cat_->find_export("exp-1")->hold_id, x->hold_id);

  // 1024 bytes of two-byte letters after the prefix: cut before a letter.
  std::string polish;
  for (int i = 0; i < 512; ++i) polish += "ż";
  auto y = cat_->add_export_with_hold(job, polish);
  ASSERT_TRUE(y.ok()) << y.error().message;
  auto after = cat_->list_holds("cam-1");
  ASSERT_TRUE(after.ok());
  for (const auto& hold : *after)
    if (hold.id == *y->hold_id) {
      EXPECT_LE(hold.reason.size(), 1024u);
      EXPECT_GE(hold.reason.size(), 1023u);
      EXPECT_EQ(hold.reason.rfind("export exp-2: ż", 0), 0u);
      EXPECT_EQ(static_cast<unsigned char>(hold.reason.back()), 0xbcu);  // a whole "ż"
    }

  // Neither is written when one cannot be: a bad range fails both.
  Export bad{"", "cam-1", kMin, kMin, {}, "", 0, "", "", "inv", {}, {}, {}};
  EXPECT_EQ(cat_->add_export_with_hold(bad, "r").error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->add_export_with_hold(job, "").error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->list_holds("")->size(), 2u);
  EXPECT_EQ(cat_->list_exports("", 10)->size(), 2u);

  // The hold deleted by itself: the export has none any more.
  ASSERT_TRUE(cat_->delete_hold(*x->hold_id).ok());
  EXPECT_FALSE(cat_->find_export("exp-1")->hold_id.has_value());
}

// Expiry: a hold that is no export's own and covers the whole range keeps
// an old export; other exports' holds do not (two exports of one range
// would otherwise keep each other forever), and kept ones never fill the page.
TEST_F(StorageRecordingsTest, FinishedExportsLeaveOutThoseACaseHoldCovers) {
  auto finish = [&](Export x) {
    x.state = ExportState::running;
    EXPECT_TRUE(cat_->update_export(x).ok());
    x.state = ExportState::done;
    EXPECT_TRUE(cat_->update_export(x).ok());
    clock_.advance(1s);
  };
  Export job{"", "cam-1", kMin, 2 * kMin, {}, "", 0, "", "", "inv", {}, {}, {}};
  auto a = cat_->add_export_with_hold(job, "a");
  auto b = cat_->add_export_with_hold(job, "b");
  job.from_ns = 5 * kMin;
  job.to_ns = 6 * kMin;
  auto c = cat_->add_export_with_hold(job, "c");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  for (const auto& x : {*a, *b, *c}) finish(x);
  ASSERT_TRUE(cat_->add_hold({0, "cam-1", 4 * kMin, 7 * kMin, "case", "inv", {}}).ok());
  // A hold over only part of a's range keeps nothing.
  ASSERT_TRUE(cat_->add_hold({0, "cam-1", kMin, kMin + kSec, "part", "inv", {}}).ok());
  clock_.advance(1h);
  auto old = cat_->finished_exports(clock_.realtime(), 1);
  ASSERT_TRUE(old.ok()) << old.error().message;
  ASSERT_EQ(old->size(), 1u);
  EXPECT_EQ((*old)[0].id, a->id);
  old = cat_->finished_exports(clock_.realtime(), 10);
  ASSERT_EQ(old->size(), 2u);
  EXPECT_EQ((*old)[1].id, b->id);
}

TEST_F(StorageRecordingsTest, ExportListFiltersCamerasInTheQuery) {
  for (int i = 0; i < 9; ++i) {
    const std::string cam = i % 3 == 2 ? "cam-2" : "cam-1";
    ASSERT_TRUE(cat_->add_export({"", cam, 0, kMin, {}, "", 0, "", "", "inv", {}, {}, {}}).ok());
  }
  const std::optional<std::vector<std::string>> only2 = std::vector<std::string>{"cam-2"};
  auto page = cat_->list_exports("", 2, 0, only2);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "exp-9");
  EXPECT_EQ((*page)[1].id, "exp-6");
  page = cat_->list_exports("", 2, 6, only2);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, "exp-3");
  EXPECT_TRUE(cat_->list_exports("cam-1", 10, 0, only2)->empty());
  EXPECT_TRUE(cat_->list_exports("", 10, 0, std::vector<std::string>{})->empty());
  EXPECT_EQ(cat_->list_exports("", 100, 0, std::nullopt)->size(), 9u);
}

}  // namespace
}  // namespace zaulek::storage

namespace zaulek::storage {
namespace {

TEST_F(StorageRecordingsTest, ReadersSeeWholeBatchesOnly) {
  constexpr int kBatches = 20;
  constexpr int kPerBatch = 500;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> errors{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      // Bounded: until the writer is done, at most 100000 queries.
      for (int i = 0; i < 100000 && !done.load(); ++i) {
        auto tl = cat_->timeline("cam-1", 0, kBatches * kPerBatch * kMin, 0);
        if (!tl.ok()) {
          ++errors;
          continue;
        }
        if (tl->segments % kPerBatch != 0) ++torn;
        ++reads;
      }
    });
  }
  for (int b = 0; b < kBatches; ++b) {
    std::vector<Segment> batch;
    for (int i = 0; i < kPerBatch; ++i)
      batch.push_back(segment("cam-1", (b * kPerBatch + i) * kMin));
    ASSERT_TRUE(cat_->add_segments(batch).ok());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  auto tl = cat_->timeline("cam-1", 0, kBatches * kPerBatch * kMin, 0);
  ASSERT_TRUE(tl.ok());
  EXPECT_EQ(tl->segments, kBatches * kPerBatch);
  ASSERT_EQ(tl->ranges.size(), 1u);
}

TEST_F(StorageRecordingsTest, SecondCatalogOnSameFileSharesData) {
  // What `zaulekd user add` does while the daemon runs.
  FakeClock other_clock;
  auto second = Catalog::open(dir_.path() / "zaulek.db", other_clock);
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_TRUE((*second)->add_user("late", Role::investigator, "h").ok());
  ASSERT_TRUE(cat_->add_segment(segment("cam-1", 0)).ok());
  auto u = cat_->find_user("late");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->role, Role::investigator);
  EXPECT_EQ((*second)->list_segments("cam-1", 0, kMin, 10)->size(), 1u);
}

}  // namespace
}  // namespace zaulek::storage

namespace zaulek::storage {
namespace {

Event motion(const std::string& cam, std::int64_t t, const std::string& state = "start") {
  return {0,
          cam,
          t,
          "motion",
          state,
          "tns1:RuleEngine/CellMotionDetector/Motion",
          R"({"VideoSourceConfigurationToken":"vs0"})",
          R"({"IsMotion":"true"})"};
}

TEST_F(StorageRecordingsTest, EventsAddListPage) {
  std::vector<Event> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(motion(i % 2 ? "cam-2" : "cam-1", i * kSec));
  auto ids = cat_->add_events(batch);
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  ASSERT_EQ(ids->size(), 10u);

  auto cam1 = cat_->list_events({"cam-1", 0, 10 * kSec, 0, 100});
  ASSERT_TRUE(cam1.ok()) << cam1.error().message;
  ASSERT_EQ(cam1->size(), 5u);
  EXPECT_EQ((*cam1)[0].topic, "tns1:RuleEngine/CellMotionDetector/Motion");
  EXPECT_EQ((*cam1)[0].source, R"({"VideoSourceConfigurationToken":"vs0"})");
  EXPECT_EQ((*cam1)[0].data, R"({"IsMotion":"true"})");
  EXPECT_EQ((*cam1)[1].time_ns, 2 * kSec);

  // Paging over all cameras by id.
  auto page1 = cat_->list_events({"", 0, 10 * kSec, 0, 4});
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 4u);
  auto page2 = cat_->list_events({"", 0, 10 * kSec, page1->back().id, 100});
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 6u);
  EXPECT_EQ(page2->front().time_ns, 4 * kSec);
  // [from, to) is half open.
  EXPECT_EQ(cat_->list_events({"", 2 * kSec, 3 * kSec, 0, 100})->size(), 1u);
}

// zaulekd publishes an event before writing it, under an id reserved here;
// adds without ids draw from the same counter, which survives a reopen.
TEST_F(StorageRecordingsTest, EventIdsReservedBeforeTheRowsAreWritten) {
  auto first = cat_->add_events({motion("cam-1", 0)});
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto reserved = cat_->reserve_event_ids(3);
  ASSERT_TRUE(reserved.ok()) << reserved.error().message;
  EXPECT_EQ(*reserved, first->front() + 1);
  auto other = cat_->add_events({motion("cam-2", kSec)});  // meanwhile, without an id
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->front(), *reserved + 3);
  Event a = motion("cam-1", 2 * kSec), b = motion("cam-1", 3 * kSec);
  a.id = *reserved + 2;  // written later, and out of order
  b.id = *reserved;
  auto ids = cat_->add_events({a, b});
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_EQ(*ids, (std::vector<std::int64_t>{*reserved + 2, *reserved}));
  auto all = cat_->list_events({"", 0, 10 * kSec, 0, 100});
  ASSERT_TRUE(all.ok());
  std::vector<std::int64_t> listed;
  for (const auto& e : *all) listed.push_back(e.id);
  EXPECT_EQ(listed,
            (std::vector<std::int64_t>{first->front(), *reserved + 3, *reserved + 2, *reserved}));
  // An id already written is refused, not overwritten.
  Event again = motion("cam-1", 4 * kSec);
  again.id = *reserved;
  EXPECT_FALSE(cat_->add_events({again}).ok());
  EXPECT_EQ(cat_->reserve_event_ids(0).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->reserve_event_ids(Catalog::kMaxBatch + 1).error().kind,
            ErrorKind::invalid_argument);

  // Reopened: after the highest id on disk.
  cat_.reset();
  auto c = Catalog::open(dir_.path() / "zaulek.db", clock_);
  ASSERT_TRUE(c.ok()) << c.error().message;
  cat_ = std::move(*c);
  auto next = cat_->reserve_event_ids(1);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, *reserved + 4);
}

TEST_F(StorageRecordingsTest, EventsRejectBadInputAtomically) {
  Event bad = motion("cam-1", 0);
  bad.kind = "explosion";
  EXPECT_EQ(cat_->add_events({motion("cam-1", 0), bad}).error().kind, ErrorKind::invalid_argument);
  bad = motion("cam-1", 0);
  bad.data = "{broken";
  EXPECT_EQ(cat_->add_events({bad}).error().kind, ErrorKind::invalid_argument);
  bad = motion("cam-1", 0);
  bad.topic = std::string(2000, 't');
  EXPECT_EQ(cat_->add_events({bad}).error().kind, ErrorKind::invalid_argument);
  bad = motion("cam-1", 0);
  bad.state = "maybe";
  EXPECT_EQ(cat_->add_events({bad}).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->add_events({}).error().kind, ErrorKind::invalid_argument);
  // Nothing of the failed batches was stored.
  EXPECT_TRUE(cat_->list_events({"", -kDay, kDay, 0, 100})->empty());
  EXPECT_EQ(cat_->list_events({"", 5, 5, 0, 100}).error().kind, ErrorKind::invalid_argument);
  // Empty source/data are stored as {}.
  Event plain = motion("cam-1", 0, "pulse");
  plain.source.clear();
  plain.data.clear();
  ASSERT_TRUE(cat_->add_events({plain}).ok());
  auto l = cat_->list_events({"cam-1", 0, 1, 0, 10});
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].data, "{}");
  EXPECT_EQ((*l)[0].state, "pulse");
}

// Events and bookmarks follow their camera's retention (at most the legal
// ceiling), a gone camera's the ceiling; holds keep theirs.
TEST_F(StorageRecordingsTest, MetadataRetentionFollowsTheCameraAndKeepsHeld) {
  auto short_cam = camera("Short");
  short_cam.retention_days = 7;
  auto a = cat_->add_camera(short_cam);
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto b = cat_->add_camera(camera("Long"));  // 90 days
  ASSERT_TRUE(b.ok());
  const std::string sa = a->id, lb = b->id;
  clock_.advance(std::chrono::hours(24 * 100));
  const std::int64_t now = now_ns();
  auto ago = [&](int days) { return now - days * kDay; };
  ASSERT_TRUE(cat_->add_events({motion(sa, ago(10)), motion(sa, ago(3)), motion(lb, ago(10)),
                                motion(lb, ago(95)), motion("cam-gone", ago(60)),
                                motion("cam-gone", ago(91)), motion(sa, ago(20))})
                  .ok());
  ASSERT_TRUE(cat_->add_hold({0, sa, ago(21), ago(19), "case", "a", {}}).ok());
  auto mark = [&](const std::string& cam, std::int64_t t, std::optional<std::int64_t> until) {
    Bookmark m;
    m.camera_id = cam;
    m.time_ns = t;
    m.until_ns = until;
    m.created_by = "olga";
    auto r = cat_->add_bookmark(m);
    EXPECT_TRUE(r.ok()) << r.error().message;
  };
  mark(sa, ago(10), std::nullopt);  // goes
  mark(sa, ago(10), ago(2));        // its end is recent: stays
  mark(sa, ago(20), std::nullopt);  // held: stays
  mark(lb, ago(10), std::nullopt);  // stays

  auto r = cat_->delete_expired_metadata(90, 1000);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->events, 3);  // Short at 10 days, Long at 95, the gone camera's at 91
  EXPECT_EQ(r->bookmarks, 1);
  auto left = cat_->list_events({"", 0, now + 1, 0, 100});
  ASSERT_TRUE(left.ok());
  std::vector<std::pair<std::string, std::int64_t>> got;
  for (const auto& e : *left) got.emplace_back(e.camera_id, (now - e.time_ns) / kDay);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::int64_t>>{
                     {"cam-gone", 60}, {sa, 20}, {lb, 10}, {sa, 3}}));
  auto marks = cat_->list_bookmarks({"", 0, now + 1, 0, 100, std::nullopt});
  ASSERT_TRUE(marks.ok()) << marks.error().message;
  EXPECT_EQ(marks->size(), 3u);
  // A lower legal ceiling applies to every camera; the limit bounds each call.
  auto again = cat_->delete_expired_metadata(5, 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->events, 1);
  EXPECT_EQ(cat_->delete_expired_metadata(0, 10).error().kind, ErrorKind::invalid_argument);
}

}  // namespace
}  // namespace zaulek::storage

namespace zaulek::storage {
namespace {

TEST_F(StorageRecordingsTest, ExtremeTimesAreErrorsOrAnswersNeverOverflow) {
  constexpr auto kMinNs = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMaxNs = std::numeric_limits<std::int64_t>::max();
  ASSERT_TRUE(cat_->add_segment(segment("cam-1", 0)).ok());
  Segment late = segment("cam-1", kMaxNs - kMin);
  ASSERT_TRUE(cat_->add_segment(late).ok());
  EXPECT_EQ(cat_->timeline("cam-1", kMinNs, kMaxNs, kSec).error().kind,
            ErrorKind::invalid_argument);
  auto high = cat_->timeline("cam-1", kMaxNs - kDay, kMaxNs, 6 * 3600 * kSec);
  ASSERT_TRUE(high.ok()) << high.error().message;
  ASSERT_EQ(high->ranges.size(), 1u);
  EXPECT_EQ(high->ranges[0].end_ns, kMaxNs);
  auto low = cat_->timeline("cam-1", kMinNs, kMinNs + kDay, kSec);
  ASSERT_TRUE(low.ok());
  EXPECT_TRUE(low->ranges.empty());
  auto none = cat_->list_segments("cam-1", kMinNs + 1, 0, 10);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(cat_->list_events({"", kMinNs, kMaxNs, 0, 10}).error().kind,
            ErrorKind::invalid_argument);
  Segment wide = segment("cam-1", kMinNs);
  wide.end_ns = kMaxNs;
  EXPECT_EQ(cat_->add_segment(wide).error().kind, ErrorKind::invalid_argument);
}

}  // namespace
}  // namespace zaulek::storage
