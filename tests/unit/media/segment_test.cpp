#include "media/segment.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace zaulek::media {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "zaulek-media-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::vector<std::uint8_t> au(bool key) {
  std::vector<std::uint8_t> v = {0, 0, 0, 1, static_cast<std::uint8_t>(key ? 0x65 : 0x41)};
  v.resize(700, 0x55);
  return v;
}

constexpr std::int64_t kStart = 1'764'000'000'000'000'000;  // 2025-11-24T16:00:00Z

// Writes n frames at 25 fps (a keyframe every 25).
void write_frames(SegmentWriter& w, int n, MonoTime& now) {
  for (int i = 0; i < n; ++i) {
    const std::uint64_t dts = ts::kTimestampOrigin + static_cast<std::uint64_t>(i) * 3600;
    now += std::chrono::milliseconds(40);
    ASSERT_TRUE(w.add_frame(au(i % 25 == 0), dts, dts, i % 25 == 0, now));
  }
}

TEST(MediaSegmentStem, IsUtcWithMicroseconds) {
  EXPECT_EQ(segment_stem(WallTime{std::chrono::nanoseconds{kStart + 123'456'789}}),
            "20251124T160000.123456Z");
}

TEST(MediaSegmentWriter, WritesPartThenRenamesAndProbes) {
  TempDir dir;
  MonoTime now{};
  auto w = SegmentWriter::create(dir.path() / "cam", {Codec::h264, 640, 360, kStart}, {}, now);
  ASSERT_TRUE(w) << w.error().message;
  const auto part = (*w)->part_path();
  EXPECT_TRUE(std::filesystem::exists(part));
  EXPECT_EQ(part.filename().string(),
            segment_stem(WallTime{std::chrono::nanoseconds{kStart}}) + ".ts.part");
  write_frames(**w, 50, now);
  auto path = (*w)->finish();
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_FALSE(std::filesystem::exists(part));
  EXPECT_EQ(path->extension(), ".ts");
  EXPECT_EQ(std::filesystem::file_size(*path) % ts::kPacketSize, 0u);

  auto info = probe_segment(*path, "cam");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->frames, 50u);
  EXPECT_EQ(info->keyframes, 2u);
  EXPECT_EQ(info->width, 640);
  EXPECT_EQ(info->codec, Codec::h264);
  EXPECT_EQ(info->start, WallTime{std::chrono::nanoseconds{kStart}});
  // 50 frames at 40 ms: 2 s.
  EXPECT_EQ(info->end - info->start, std::chrono::seconds(2));
}

TEST(MediaSegmentWriter, ProbeOfBFramesSpansThePresentationTimes) {
  // x264's pyramid in decode order (I0 P4 B2 b1 b3 ...), DTS two frames
  // behind as media/reorder.h derives them: the end is the last frame shown
  // plus one frame, not the last one decoded.
  TempDir dir;
  MonoTime now{};
  auto w = SegmentWriter::create(dir.path(), {Codec::h264, 64, 64, kStart}, {}, now);
  ASSERT_TRUE(w) << w.error().message;
  const int order[] = {0, 4, 2, 1, 3, 8, 6, 5, 7, 12, 10, 9, 11};
  const std::uint64_t origin = ts::kTimestampOrigin;
  for (int i = 0; i < 13; ++i) {
    const std::uint64_t dts = origin + static_cast<std::uint64_t>(i) * 3600;
    const std::uint64_t pts = origin + 2 * 3600 + static_cast<std::uint64_t>(order[i]) * 3600;
    ASSERT_LE(dts, pts);
    now += std::chrono::milliseconds(40);
    ASSERT_TRUE((*w)->add_frame(au(i == 0), pts, dts, i == 0, now));
  }
  auto path = (*w)->finish();
  ASSERT_TRUE(path) << path.error().message;
  auto info = probe_segment(*path, "cam");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->frames, 13u);
  EXPECT_EQ(info->end - info->start, std::chrono::milliseconds(13 * 40));
}

TEST(MediaSegmentWriter, SameStartTimeGetsASuffix) {
  TempDir dir;
  MonoTime now{};
  auto a = SegmentWriter::create(dir.path(), {Codec::h264, 1, 1, kStart}, {}, now);
  auto b = SegmentWriter::create(dir.path(), {Codec::h264, 1, 1, kStart}, {}, now);
  ASSERT_TRUE(a && b);
  EXPECT_NE((*a)->part_path(), (*b)->part_path());
}

TEST(MediaSegmentWriter, FlushesOnIntervalSoKillLosesLittle) {
  TempDir dir;
  MonoTime now{};
  SegmentPolicy policy;
  policy.flush_interval = std::chrono::milliseconds(200);
  auto w = SegmentWriter::create(dir.path(), {Codec::h264, 1, 1, kStart}, policy, now);
  ASSERT_TRUE(w);
  write_frames(**w, 10, now);  // 400 ms of frames
  // What reached the kernel is at most one flush interval behind.
  const auto on_disk = std::filesystem::file_size((*w)->part_path());
  EXPECT_GT(on_disk, 0u);
  EXPECT_GE(on_disk + 6 * 5 * ts::kPacketSize, (*w)->bytes());
  now += std::chrono::milliseconds(250);
  ASSERT_TRUE((*w)->tick(now));
  EXPECT_EQ(std::filesystem::file_size((*w)->part_path()), (*w)->bytes());
}

TEST(MediaReconcile, TrimsAndRecoversAnUnfinishedSegment) {
  TempDir dir;
  MonoTime now{};
  std::filesystem::path part;
  {
    auto w = SegmentWriter::create(dir.path(), {Codec::h265, 1280, 720, kStart}, {}, now);
    ASSERT_TRUE(w);
    write_frames(**w, 30, now);
    part = (*w)->part_path();
  }  // destroyed unfinished, as by a crash: the .part stays
  ASSERT_TRUE(std::filesystem::exists(part));
  const auto whole = std::filesystem::file_size(part);
  {
    std::ofstream out(part, std::ios::binary | std::ios::app);
    out << std::string(100, '\x47');  // half a packet, as a torn write leaves it
  }
  auto rec = reconcile_camera_dir(dir.path(), "cam7");
  ASSERT_TRUE(rec) << rec.error().message;
  ASSERT_EQ(rec->size(), 1u);
  const SegmentInfo& s = rec->front();
  EXPECT_TRUE(s.recovered);
  EXPECT_EQ(s.camera_id, "cam7");
  EXPECT_EQ(s.codec, Codec::h265);
  EXPECT_EQ(s.height, 720);
  EXPECT_EQ(s.frames, 30u);
  EXPECT_EQ(s.bytes, whole);
  EXPECT_EQ(std::filesystem::file_size(s.path), whole);
  EXPECT_FALSE(std::filesystem::exists(part));
  EXPECT_EQ(s.path.extension(), ".ts");
  // A second pass finds nothing left to do.
  auto again = reconcile_camera_dir(dir.path(), "cam7");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST(MediaReconcile, RemovesAPartWithNoWholeFrame) {
  TempDir dir;
  const auto junk = dir.path() / "20250101T000000.000000Z.ts.part";
  {
    std::ofstream out(junk, std::ios::binary);
    out << std::string(1000, '\0');
  }
  const auto empty = dir.path() / "20250101T000001.000000Z.ts.part";
  std::ofstream(empty).close();
  auto rec = reconcile_camera_dir(dir.path(), "c");
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->empty());
  EXPECT_FALSE(std::filesystem::exists(junk));
  EXPECT_FALSE(std::filesystem::exists(empty));
}

TEST(MediaReconcile, MissingDirectoryIsEmpty) {
  auto rec = reconcile_camera_dir("/nonexistent/zaulek/cam", "c");
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->empty());
}

TEST(MediaProbe, RejectsForeignFiles) {
  TempDir dir;
  const auto f = dir.path() / "x.ts";
  {
    std::ofstream out(f, std::ios::binary);
    out << std::string(188 * 3, 'x');
  }
  auto info = probe_segment(f, "c");
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().kind, ErrorKind::data_loss);
  EXPECT_FALSE(probe_segment(dir.path() / "missing.ts", "c"));
}

}  // namespace
}  // namespace zaulek::media
