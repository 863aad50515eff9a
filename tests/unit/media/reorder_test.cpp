// Decode times from presentation times on synthetic GOP structures, in the
// decode order real encoders send: no reordering, x264's B-frames with and
// without pyramid, x265's hierarchical GOP, RTP wrap, a camera restarting its
// clock, reconnects and hostile sequences.
#include "media/reorder.h"

#include <gtest/gtest.h>

#include <random>
#include <utility>
#include <vector>

namespace zaulek::media {
namespace {

constexpr std::int64_t F = 40'000'000;  // 25 fps
constexpr std::int64_t kBase = 1'000'000'000'000;

struct In {
  std::int64_t pts;
  bool key;
};

// One closed GOP of `len` frames starting at presentation slot `start`, in
// decode order: mini-GOPs of `b` B-frames; with pyramid the middle one is a
// reference decoded first (x264 b-pyramid=normal, x265 hierarchical).
void gop(std::vector<In>& out, std::int64_t start, int len, int b, bool pyramid) {
  out.push_back({start, true});
  std::int64_t pos = start;
  const std::int64_t end = start + len - 1;
  auto bs = [&](std::int64_t lo, std::int64_t hi, auto&& self) -> void {
    if (lo > hi) return;
    if (!pyramid) {
      for (std::int64_t i = lo; i <= hi; ++i) out.push_back({i, false});
      return;
    }
    const std::int64_t mid = (lo + hi + 1) / 2;
    out.push_back({mid, false});
    self(lo, mid - 1, self);
    self(mid + 1, hi, self);
  };
  while (pos < end) {
    const std::int64_t p = std::min<std::int64_t>(pos + b + 1, end);
    out.push_back({p, false});
    bs(pos + 1, p - 1, bs);
    pos = p;
  }
}

std::vector<In> stream(int gops, int len, int b, bool pyramid, std::int64_t first = 0) {
  std::vector<In> slots;
  for (int g = 0; g < gops; ++g) gop(slots, first + g * len, len, b, pyramid);
  for (auto& s : slots) s.pts = kBase + s.pts * F;
  return slots;
}

struct Result {
  std::vector<std::int64_t> dts;
  std::vector<bool> jump;
};

// silence: how long before each frame none arrived (0: not known).
Result feed(DecodeTimes& d, const std::vector<In>& in, std::int64_t silence = 0) {
  Result r;
  for (const In& f : in) {
    const auto out = d.push(f.pts, f.key, silence);
    r.dts.push_back(out.dts);
    r.jump.push_back(out.jump);
  }
  return r;
}

// dts <= pts always; strictly increasing where no jump was reported.
void expect_valid(const std::vector<In>& in, const Result& r) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_LE(r.dts[i], in[i].pts) << "frame " << i;
    if (i > 0 && !r.jump[i]) {
      EXPECT_GT(r.dts[i], r.dts[i - 1]) << "frame " << i;
    }
  }
}

int jumps(const Result& r) {
  int n = 0;
  for (bool j : r.jump) n += j ? 1 : 0;
  return n;
}

TEST(Reorder, GopGeneratorMatchesX264Pyramid) {
  std::vector<In> g;
  gop(g, 0, 9, 3, true);
  std::vector<std::int64_t> order;
  for (auto& f : g) order.push_back(f.pts);
  EXPECT_EQ(order, (std::vector<std::int64_t>{0, 4, 2, 1, 3, 8, 6, 5, 7}));
}

TEST(Reorder, NoBFramesEndsWithDtsEqualPts) {
  const auto in = stream(3, 50, 0, false);
  DecodeTimes d;
  const Result r = feed(d, in);
  expect_valid(in, r);
  EXPECT_EQ(jumps(r), 0);
  // First GOP: room for the start depth; from the second keyframe, PTS = DTS.
  EXPECT_EQ(r.dts[0], in[0].pts - DecodeTimes::kStartDepth * F);
  for (std::size_t i = 50; i < in.size(); ++i) EXPECT_EQ(r.dts[i], in[i].pts) << i;
  EXPECT_EQ(d.depth(), 0);
  EXPECT_EQ(d.frame_ns(), F);
}

TEST(Reorder, IbbpWithoutPyramidHasDepthOne) {
  const auto in = stream(3, 48, 2, false);
  DecodeTimes d;
  const Result r = feed(d, in);
  expect_valid(in, r);
  EXPECT_EQ(jumps(r), 0);
  EXPECT_EQ(d.learned(), 1);
  EXPECT_EQ(d.depth(), 1);
  // Steady state: decode times on the frame grid, one frame behind.
  for (std::size_t i = 49; i < in.size(); ++i) EXPECT_EQ(r.dts[i], kBase + (i - 1) * F) << i;
}

TEST(Reorder, X264PyramidHasDepthTwo) {
  const auto in = stream(4, 50, 3, true);
  DecodeTimes d;
  const Result r = feed(d, in);
  expect_valid(in, r);
  EXPECT_EQ(jumps(r), 0);
  EXPECT_EQ(d.learned(), 2);
  EXPECT_EQ(d.depth(), 2);
  for (std::size_t i = 51; i < in.size(); ++i) EXPECT_EQ(r.dts[i], kBase + (i - 2) * F) << i;
  // Decode times step by one frame except once, where the depth was lowered.
  int steps = 0;
  for (std::size_t i = 1; i < in.size(); ++i) steps += r.dts[i] - r.dts[i - 1] != F ? 1 : 0;
  EXPECT_EQ(steps, 1);
}

TEST(Reorder, H265HierarchicalSevenBFramesHasDepthThree) {
  const auto in = stream(3, 64, 7, true);
  DecodeTimes d;
  const Result r = feed(d, in);
  expect_valid(in, r);
  EXPECT_EQ(jumps(r), 0);
  EXPECT_EQ(d.learned(), 3);
}

TEST(Reorder, DeeperThanTheStartDepthIsOneJump) {
  // 31 B-frames hierarchical: depth 5 > kStartDepth.
  // They arrive one per frame: the P-frame 32 frames ahead is no pause.
  const auto in = stream(3, 64, 31, true);
  DecodeTimes d;
  const Result r = feed(d, in, F);
  expect_valid(in, r);
  EXPECT_EQ(jumps(r), 1);
  EXPECT_EQ(d.learned(), 5);
}

TEST(Reorder, ReconnectKeepsTheLearnedDepth) {
  DecodeTimes d;
  feed(d, stream(2, 50, 3, true));
  d.restart();
  EXPECT_EQ(d.depth(), 2);
  const auto in = stream(2, 50, 3, true, 1000);
  const Result r = feed(d, in);
  expect_valid(in, r);
  EXPECT_EQ(jumps(r), 0);
  EXPECT_EQ(r.dts[0], in[0].pts - 2 * F);  // no start-depth lag this time
}

TEST(Reorder, RestartBeforeAWholeGopUsesTheStartDepth) {
  DecodeTimes d;
  feed(d, stream(1, 10, 0, false));  // one GOP begun, none completed
  d.restart();
  EXPECT_EQ(d.depth(), DecodeTimes::kStartDepth);
}

TEST(Reorder, RtpWrapWithBFrames) {
  // 90 kHz ticks, 3600 per frame, pyramid order, starting just below 2^32.
  const auto in = stream(2, 50, 3, true);
  RtpUnwrap u;
  DecodeTimes d;
  std::vector<In> pts;
  const std::uint32_t start = 0xFFFFFFFFu - 20 * 3600;
  for (const In& f : in) {
    const auto slot = (f.pts - kBase) / F;
    const std::uint32_t rtp = start + static_cast<std::uint32_t>(slot * 3600);
    const std::int64_t ticks = u.ticks(rtp);
    EXPECT_EQ(ticks, slot * 3600);  // first unit is slot 0
    pts.push_back({ticks * 1'000'000'000 / 90'000, f.key});
  }
  const Result r = feed(d, pts);
  expect_valid(pts, r);
  EXPECT_EQ(jumps(r), 0);
}

TEST(Reorder, CameraRestartingItsClockIsOneJump) {
  auto in = stream(2, 50, 3, true);
  auto after = stream(2, 50, 3, true);
  for (auto& f : after) f.pts -= kBase - 5 * F;  // back to almost zero
  in.insert(in.end(), after.begin(), after.end());
  DecodeTimes d;
  const Result r = feed(d, in);
  expect_valid(in, r);
  EXPECT_EQ(jumps(r), 1);
  EXPECT_TRUE(r.jump[100]);
  // And a leap forward by an hour.
  DecodeTimes e;
  auto fwd = stream(1, 50, 0, false);
  auto later = stream(1, 50, 0, false, 90'000);
  fwd.insert(fwd.end(), later.begin(), later.end());
  const Result r2 = feed(e, fwd);
  expect_valid(fwd, r2);
  EXPECT_EQ(jumps(r2), 1);
  EXPECT_TRUE(r2.jump[50]);
}

TEST(Reorder, RepeatedPtsIsAJump) {
  DecodeTimes d;
  std::vector<In> in = {
      {kBase, true}, {kBase + F, false}, {kBase + F, false}, {kBase + 2 * F, false}};
  const Result r = feed(d, in);
  expect_valid(in, r);
  EXPECT_FALSE(r.jump[1]);
  EXPECT_TRUE(r.jump[2]);
  EXPECT_FALSE(r.jump[3]);
}

TEST(Reorder, FrameDurationFromTheStream) {
  DecodeTimes d;
  EXPECT_EQ(d.frame_ns(), 0);
  std::vector<In> in;
  for (int i = 0; i < 20; ++i) in.push_back({kBase + i * 100'000'000LL, i % 10 == 0});
  const Result r = feed(d, in);
  expect_valid(in, r);
  EXPECT_EQ(d.frame_ns(), 100'000'000);
  // A gap (a stalled camera) does not change it.
  d.push(kBase + 30 * 100'000'000LL, false);
  EXPECT_EQ(d.frame_ns(), 100'000'000);
}

// A camera that pauses (zaulek-sim's rtsp_stall_ms, a network outage) and
// resumes on the same session: its presentation times leap forward by the
// pause, mid-GOP, and the stream goes on with the same structure. No encoder
// reorders across a pause, so the first frames after it must not take their
// decode time from before it (that made the first frame's composition offset
// the whole pause while its decode time advanced one frame).
TEST(Reorder, APauseIsNotReordering) {
  // Without B-frames in the first GOP (the start depth still in use), and
  // with x264's pyramid mid-GOP once its depth is learned.
  for (const auto& [b, at] : {std::pair{0, std::size_t{30}}, std::pair{3, std::size_t{127}}}) {
    auto in = stream(4, 50, b, b > 0);
    constexpr std::int64_t kPause = 100 * F;  // 4 s of lost slots
    for (std::size_t i = at; i < in.size(); ++i) in[i].pts += kPause;
    DecodeTimes d;
    Result r;
    for (std::size_t i = 0; i < in.size(); ++i) {
      const auto out = d.push(in[i].pts, in[i].key, i == at ? kPause : F);
      r.dts.push_back(out.dts);
      r.jump.push_back(out.jump);
    }
    expect_valid(in, r);
    EXPECT_EQ(jumps(r), 0) << b;
    for (std::size_t i = 0; i < in.size(); ++i)
      EXPECT_LE(in[i].pts - r.dts[i], 10 * F) << b << " frame " << i;
    // Decode time crosses the pause at its first frame.
    EXPECT_GE(r.dts[at] - r.dts[at - 1], kPause - 2 * F) << b;
    EXPECT_EQ(d.frame_ns(), F) << b;
  }
}

TEST(Reorder, HostileSequencesKeepTheContract) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 50; ++round) {
    DecodeTimes d;
    std::vector<In> in;
    std::int64_t t = static_cast<std::int64_t>(rng() % 1'000'000'000'000);
    for (int i = 0; i < 300; ++i) {
      const int kind = static_cast<int>(rng() % 10);
      if (kind < 6) {
        t += F;
      } else if (kind < 9) {
        t -= static_cast<std::int64_t>(rng() % 8) * F;
      } else {
        t += static_cast<std::int64_t>(rng() % 40'000'000'000) - 20'000'000'000;
      }
      in.push_back({t, rng() % 25 == 0});
    }
    const Result r = feed(d, in);
    expect_valid(in, r);
    EXPECT_LE(d.depth(), DecodeTimes::kMaxDepth);
    // The same after a silence before every frame: every lead is a pause.
    DecodeTimes e;
    const Result paused = feed(e, in, 30'000'000'000);
    expect_valid(in, paused);
    EXPECT_LE(e.depth(), DecodeTimes::kMaxDepth);
  }
}

TEST(Pace, AStreamAtItsRateIsNotTouched) {
  // 25 fps for an hour on a fake clock, the camera 0.05 % fast.
  std::int64_t media = 0;
  std::int64_t wall = 0;
  for (int i = 0; i < 90'000; ++i) {
    wall += F;
    const std::int64_t step = paced_step(media, wall, F + F / 2000);
    ASSERT_EQ(step, F + F / 2000) << i;
    media += step;
  }
}

TEST(Pace, ABufferedGopAtConnectIsTakenAsIs) {
  // 2 s of frames arrive at once, then the stream runs in real time.
  std::int64_t media = 0;
  for (int i = 0; i < 50; ++i) media += paced_step(media, 0, F);
  EXPECT_EQ(media, 50 * F);
}

TEST(Pace, TimestampsRunningFastAreHeldToTheWallClock) {
  // Every frame claims 9 s (under the 10 s jump bound) while 40 ms pass.
  std::int64_t media = 0;
  std::int64_t wall = 0;
  for (int i = 0; i < 1000; ++i) {
    wall += F;
    const std::int64_t step = paced_step(media, wall, 9'000'000'000);
    ASSERT_GE(step, kMinStep);
    media += step;
    ASSERT_LE(media, wall + wall / 1000 + kPaceSlack + kMinStep) << i;
  }
  // A real gap afterwards (the camera stalled 5 s) is taken again.
  wall += 5'000'000'000;
  EXPECT_EQ(paced_step(media, wall, 5'000'000'000), 5'000'000'000);
}

}  // namespace
}  // namespace zaulek::media
