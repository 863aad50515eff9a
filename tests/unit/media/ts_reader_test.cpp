#include "media/ts_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace zaulek::media::ts {
namespace {

// A fake H.264 access unit of exactly `size` bytes: AUD, (SPS, PPS,) slice.
std::vector<std::uint8_t> fake_au(bool key, std::size_t size, std::uint8_t seed) {
  std::vector<std::uint8_t> au = {0, 0, 0, 1, 0x09, 0xF0};
  if (key) {
    au.insert(au.end(), {0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac});
    au.insert(au.end(), {0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80});
  }
  au.insert(au.end(), {0, 0, 0, 1, static_cast<std::uint8_t>(key ? 0x65 : 0x41)});
  while (au.size() < size)
    au.push_back(static_cast<std::uint8_t>(0x80 | ((au.size() + seed) & 0x3F)));
  return au;
}

struct Written {
  AccessUnit unit;
};

// Frames of a 25 fps stream with a keyframe every `gop`, B-frame-like
// presentation (pts = dts + 2 frames); sizes vary and some end exactly on a
// packet boundary (157 + 184k bytes with PTS and DTS in the header).
std::vector<AccessUnit> make_units(int count, int gop, std::size_t base, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<AccessUnit> units;
  for (int i = 0; i < count; ++i) {
    AccessUnit u;
    u.keyframe = i % gop == 0;
    std::size_t size = base + rng() % (base + 1);
    if (i % 7 == 3) size = 157 + 184 * (1 + rng() % 5);  // exact fit, not the last unit
    if (i == count - 1 && (size - 157) % 184 == 0) ++size;
    if (u.keyframe && size < 64) size = 64;
    u.data = fake_au(u.keyframe, size, static_cast<std::uint8_t>(i));
    u.dts90 = kTimestampOrigin + static_cast<std::uint64_t>(i) * 3600;
    u.pts90 = u.dts90 + 7200;
    units.push_back(std::move(u));
  }
  return units;
}

std::vector<std::uint8_t> mux(const std::vector<AccessUnit>& units, Codec codec = Codec::h264) {
  Muxer m({codec, 1280, 720, 1'700'000'000'000'000'000});
  std::vector<std::uint8_t> out;
  m.write_tables(out);
  for (const auto& u : units) m.write_frame(out, u.data, u.pts90, u.dts90, u.keyframe);
  return out;
}

std::vector<AccessUnit> drain(Demuxer& d) {
  std::vector<AccessUnit> out;
  while (auto u = d.next()) out.push_back(std::move(*u));
  return out;
}

void expect_same(const AccessUnit& got, const AccessUnit& want, std::size_t i) {
  EXPECT_EQ(got.data, want.data) << "unit " << i;
  EXPECT_EQ(got.pts90, want.pts90) << "unit " << i;
  EXPECT_EQ(got.dts90, want.dts90) << "unit " << i;
  EXPECT_EQ(got.keyframe, want.keyframe) << "unit " << i;
}

TEST(MediaTsReader, RoundTripEveryUnitAndTheMeta) {
  const auto units = make_units(120, 25, 900, 1);
  const auto bytes = mux(units);
  Demuxer d;
  d.feed(bytes);
  d.finish();
  const auto got = drain(d);
  ASSERT_EQ(got.size(), units.size());
  for (std::size_t i = 0; i < got.size(); ++i) expect_same(got[i], units[i], i);
  EXPECT_FALSE(d.error());
  EXPECT_TRUE(d.has_meta());
  EXPECT_TRUE(d.codec_known());
  EXPECT_EQ(d.meta().codec, Codec::h264);
  EXPECT_EQ(d.meta().width, 1280);
  EXPECT_EQ(d.meta().height, 720);
  EXPECT_EQ(d.meta().start_ns, 1'700'000'000'000'000'000);
  EXPECT_EQ(d.consumed(), bytes.size());
  EXPECT_EQ(d.dropped_tail(), 0u);
  // Offsets point at each unit's first packet, a video PES start.
  for (const auto& u : got) {
    ASSERT_EQ(u.offset % kPacketSize, 0u);
    const PacketInfo info = inspect_packet(bytes.data() + u.offset);
    EXPECT_TRUE(info.video_start);
    EXPECT_EQ(info.keyframe, u.keyframe);
    EXPECT_EQ(info.dts90, u.dts90);
  }
}

TEST(MediaTsReader, H265MetaAndUnits) {
  auto units = make_units(10, 5, 400, 2);
  const auto bytes = mux(units, Codec::h265);
  Demuxer d;
  d.feed(bytes);
  d.finish();
  EXPECT_EQ(d.meta().codec, Codec::h265);
  // The muxer adds an H.265 AUD in front of units that lack one.
  EXPECT_EQ(drain(d).size(), units.size());
}

TEST(MediaTsReader, UnitsAreHandedOutAsSoonAsTheyAreWhole) {
  // Without finish(): every unit padded at its end is out at once; one that
  // ends exactly on a packet boundary waits for the next unit to start.
  std::vector<AccessUnit> units = make_units(3, 10, 300, 3);
  units[2].data = fake_au(false, 157 + 184, 9);
  const auto bytes = mux(units);
  Demuxer d;
  d.feed(bytes);
  EXPECT_EQ(drain(d).size(), 2u);
  d.finish();
  EXPECT_TRUE(drain(d).empty());
  EXPECT_EQ(d.dropped_tail(), 1u);
}

TEST(MediaTsReader, AnyChunkingGivesTheSameUnits) {
  const auto units = make_units(40, 10, 700, 4);
  const auto bytes = mux(units);
  for (const std::size_t step : {1u, 7u, 187u, 188u, 189u, 1000u, 65536u}) {
    Demuxer d;
    std::vector<AccessUnit> got;
    for (std::size_t i = 0; i < bytes.size(); i += step) {
      d.feed({bytes.data() + i, std::min(step, bytes.size() - i)});
      for (auto& u : drain(d)) got.push_back(std::move(u));
    }
    d.finish();
    for (auto& u : drain(d)) got.push_back(std::move(u));
    ASSERT_EQ(got.size(), units.size()) << "step " << step;
    for (std::size_t i = 0; i < got.size(); ++i) expect_same(got[i], units[i], i);
  }
}

TEST(MediaTsReader, CutAtEveryByteYieldsAPrefixOfWholeUnits) {
  const auto units = make_units(12, 4, 150, 5);
  const auto bytes = mux(units);
  ASSERT_LT(bytes.size(), 20'000u);
  std::size_t last = 0;
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    Demuxer d;
    d.feed({bytes.data(), cut});
    d.finish();
    const auto got = drain(d);
    ASSERT_LE(got.size(), units.size()) << "cut " << cut;
    for (std::size_t i = 0; i < got.size(); ++i) expect_same(got[i], units[i], i);
    EXPECT_GE(got.size(), last) << "cut " << cut;  // more bytes never fewer units
    last = got.size();
  }
  EXPECT_EQ(last, units.size());
}

TEST(MediaTsReader, AUnitOverTheCapIsAnErrorNotAnAllocation) {
  std::vector<AccessUnit> units = make_units(3, 10, 200, 6);
  units[1].data = fake_au(false, 50'000, 1);
  const auto bytes = mux(units);
  Demuxer d(10'000);
  d.feed(bytes);
  d.finish();
  const auto got = drain(d);
  ASSERT_EQ(got.size(), 1u);
  expect_same(got[0], units[0], 0);
  ASSERT_TRUE(d.error());
  EXPECT_EQ(d.error()->kind, ErrorKind::resource_exhausted);
  d.feed(bytes);  // ignored after an error
  EXPECT_TRUE(drain(d).empty());
}

TEST(MediaTsReader, LostSyncStopsWithAnErrorAfterTheWholeUnits) {
  const auto units = make_units(10, 5, 500, 7);
  auto bytes = mux(units);
  Demuxer probe;
  probe.feed(bytes);
  const auto all = drain(probe);
  const std::uint64_t at = all[6].offset + kPacketSize;  // inside unit 6 (or at unit 7)
  bytes[at] = 0x00;
  Demuxer d;
  d.feed(bytes);
  d.finish();
  const auto got = drain(d);
  ASSERT_GE(got.size(), 6u);
  ASSERT_LE(got.size(), 7u);
  for (std::size_t i = 0; i < got.size(); ++i) expect_same(got[i], units[i], i);
  ASSERT_TRUE(d.error());
  EXPECT_EQ(d.error()->kind, ErrorKind::data_loss);
}

TEST(MediaTsReader, AMissingPacketDropsOnlyItsUnit) {
  std::vector<AccessUnit> units = make_units(6, 3, 300, 8);
  units[2].data = fake_au(false, 2000, 3);
  auto bytes = mux(units);
  Demuxer probe;
  probe.feed(bytes);
  const auto all = drain(probe);
  const std::size_t cut = all[2].offset + 2 * kPacketSize;
  bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(cut),
              bytes.begin() + static_cast<std::ptrdiff_t>(cut + kPacketSize));
  Demuxer d;
  d.feed(bytes);
  d.finish();
  const auto got = drain(d);
  ASSERT_EQ(got.size(), units.size() - 1);
  EXPECT_EQ(d.dropped_broken(), 1u);
  EXPECT_EQ(got[2].dts90, units[3].dts90);
}

TEST(MediaTsReader, GarbageNeverCrashes) {
  std::mt19937 rng(9);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::uint8_t> junk(188 * (1 + rng() % 40));
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    for (std::size_t i = 0; i < junk.size(); i += 188) junk[i] = 0x47;  // past the sync check
    Demuxer d(4096);
    d.feed(junk);
    d.finish();
    for (const auto& u : drain(d)) EXPECT_LE(u.data.size(), 4096u);
  }
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/zaulek-ts-reader-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& p, std::span<const std::uint8_t> bytes,
                bool append = false) {
  std::ofstream out(p, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::vector<AccessUnit> read_all(SegmentFile& f) {
  std::vector<AccessUnit> got;
  for (;;) {
    auto n = f.read_some(4096);
    EXPECT_TRUE(n);
    while (auto u = f.next()) got.push_back(std::move(*u));
    if (!n || *n == 0) break;
  }
  return got;
}

TEST(MediaSegmentFile, SeeksToTheKeyframeAtOrBeforeATime) {
  TempDir dir;
  const auto units = make_units(1500, 50, 1500, 10);  // 60 s, about 3 MB
  const auto bytes = mux(units);
  const auto path = dir.path() / "a.ts";
  write_file(path, bytes);
  auto f = SegmentFile::open(path);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->meta().width, 1280);
  EXPECT_EQ(f->first_pts90(), units[0].pts90);
  EXPECT_EQ(f->wall_ns(units[25].pts90), 1'700'000'000'000'000'000 + 1'000'000'000);
  EXPECT_EQ(f->pts90_at(1'700'000'000'000'000'000 + 1'000'000'000), units[25].pts90);

  auto expect_key = [&](std::uint64_t target, std::size_t want) {
    auto pts = f->seek_keyframe(target);
    ASSERT_TRUE(pts) << pts.error().message;
    EXPECT_EQ(*pts, units[want].pts90) << "target " << target;
    ASSERT_TRUE(f->read_some(64 * 1024));
    auto u = f->next();
    ASSERT_TRUE(u) << "target " << target;
    expect_same(*u, units[want], want);
  };
  expect_key(0, 0);                             // before the file: its first keyframe
  expect_key(units[0].pts90, 0);                // exactly the first
  expect_key(units[100].pts90, 100);            // exactly a keyframe
  expect_key(units[100].pts90 - 1, 50);         // just before it
  expect_key(units[149].pts90, 100);            // inside a GOP
  expect_key(units[101].dts90, 50);             // decoded after 100, but 100 is shown later
  expect_key(units[1499].pts90 + 90000, 1450);  // after the file: its last keyframe
  // Reading on from a seek gives the rest in order.
  ASSERT_TRUE(f->seek_keyframe(units[1400].pts90 + 10));
  const auto rest = read_all(*f);
  f->finish();
  ASSERT_EQ(rest.size(), 100u);
  for (std::size_t i = 0; i < rest.size(); ++i) expect_same(rest[i], units[1400 + i], 1400 + i);
}

TEST(MediaSegmentFile, ReadsAFileWhileItGrows) {
  TempDir dir;
  const auto units = make_units(200, 25, 800, 11);
  const auto bytes = mux(units);
  const auto path = dir.path() / "b.ts.part";
  write_file(path, {bytes.data(), 100});
  auto early = SegmentFile::open(path);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().kind, ErrorKind::not_found);

  const std::size_t half = bytes.size() / 2 + 77;  // not on a packet boundary
  write_file(path, {bytes.data(), half});
  auto f = SegmentFile::open(path);
  ASSERT_TRUE(f) << f.error().message;
  auto got = read_all(*f);
  ASSERT_FALSE(got.empty());
  ASSERT_LT(got.size(), units.size());
  write_file(path, {bytes.data() + half, bytes.size() - half}, true);
  for (auto& u : read_all(*f)) got.push_back(std::move(u));
  f->finish();
  while (auto u = f->next()) got.push_back(std::move(*u));
  ASSERT_EQ(got.size(), units.size());
  for (std::size_t i = 0; i < got.size(); ++i) expect_same(got[i], units[i], i);
}

TEST(MediaSegmentFile, NotOurFileIsDataLoss) {
  TempDir dir;
  std::vector<std::uint8_t> junk(188 * 40, 0x47);
  write_file(dir.path() / "c.ts", junk);
  auto f = SegmentFile::open(dir.path() / "c.ts");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().kind, ErrorKind::data_loss);
  auto missing = SegmentFile::open(dir.path() / "none.ts");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
}

}  // namespace
}  // namespace zaulek::media::ts
