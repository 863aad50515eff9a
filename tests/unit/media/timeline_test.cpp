// The recorder's time line (media/record/timeline.h) driven by a fake clock:
// presentation times kept through B-frame reordering, the RTP wrap, a camera
// restarting its clock, timestamps running ahead of our clock, sender
// report anchoring and reconnects.
#include "media/record/timeline.h"

#include "core/clock.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace zaulek::media {
namespace {

constexpr std::int64_t F = 40'000'000;  // 25 fps
constexpr std::int64_t kBase = 1'000'000'000'000;

struct In {
  std::int64_t slot;  // presentation slot (frames)
  bool key;
};

// GOPs of `len` frames in decode order; with b > 0, x264's I P B B (no
// pyramid): each reference is sent before the B-frames shown before it.
std::vector<In> stream(int gops, int len, int b) {
  std::vector<In> out;
  for (int g = 0; g < gops; ++g) {
    const std::int64_t start = static_cast<std::int64_t>(g) * len;
    out.push_back({start, true});
    std::int64_t pos = start;
    const std::int64_t end = start + len - 1;
    while (pos < end) {
      const std::int64_t p = std::min<std::int64_t>(pos + b + 1, end);
      out.push_back({p, false});
      for (std::int64_t i = pos + 1; i < p; ++i) out.push_back({i, false});
      pos = p;
    }
  }
  return out;
}

// Feeds frames one per 40 ms of the fake clock.
struct Feeder {
  FakeClock clock;
  Timeline tl;
  std::vector<Timeline::Timed> out;

  Timeline::Timed push(std::int64_t pts, bool key, std::optional<std::int64_t> ntp = {}) {
    const auto t = tl.frame(pts, key, ntp, clock.monotonic(), clock.realtime());
    out.push_back(t);
    clock.advance(std::chrono::nanoseconds(F));
    return t;
  }
};

TEST(MediaTimeline, PlainStreamKeepsPresentationTimesAndAnchorsAtArrival) {
  Feeder f;
  const std::int64_t arrival = to_unix_ns(f.clock.realtime());
  const auto in = stream(4, 25, 0);
  for (const In& i : in) f.push(kBase + i.slot * F, i.key);
  const auto& first = f.out.front();
  EXPECT_EQ(first.media_ns, 0);
  // A new line starts with room for reordering (DecodeTimes::kStartDepth).
  EXPECT_EQ(first.cts_ns, DecodeTimes::kStartDepth * F);
  EXPECT_EQ(f.tl.wall_ns(first.media_ns, first.cts_ns), arrival + first.cts_ns);
  for (std::size_t i = 1; i < in.size(); ++i) {
    EXPECT_GT(f.out[i].media_ns, f.out[i - 1].media_ns) << i;
    EXPECT_EQ(f.out[i].media_ns + f.out[i].cts_ns - first.media_ns - first.cts_ns, in[i].slot * F)
        << i;
  }
  // After a whole GOP without reordering the depth drops to 0: no offset.
  EXPECT_EQ(f.out.back().cts_ns, 0);
  EXPECT_EQ(f.tl.frame_ns(), F);
  EXPECT_EQ(f.tl.counters().timestamp_jumps, 0u);
  EXPECT_EQ(f.tl.counters().ntp_frames, 0u);
}

TEST(MediaTimeline, BFramesDecodeTimeIncreasesWhilePresentationGoesBack) {
  Feeder f;
  const auto in = stream(6, 24, 2);
  for (const In& i : in) f.push(kBase + i.slot * F, i.key);
  const auto& first = f.out.front();
  bool went_back = false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    // PTS >= DTS: the composition offset is never negative.
    EXPECT_GE(f.out[i].cts_ns, 0) << i;
    if (i == 0) continue;
    EXPECT_GT(f.out[i].media_ns, f.out[i - 1].media_ns) << i;
    const std::int64_t shown = f.out[i].media_ns + f.out[i].cts_ns;
    const std::int64_t shown_before = f.out[i - 1].media_ns + f.out[i - 1].cts_ns;
    went_back = went_back || shown < shown_before;
    EXPECT_EQ(shown - first.media_ns - first.cts_ns, in[i].slot * F) << i;
  }
  EXPECT_TRUE(went_back);  // the B-frames were really reordered
  EXPECT_EQ(f.tl.frame_ns(), F);
  EXPECT_EQ(f.tl.counters().timestamp_jumps, 0u);
}

TEST(MediaTimeline, RtpWrapIsOneFrameLater) {
  Feeder f;
  std::uint32_t rtp = 0xffffffffu - 3 * 3600 + 1;
  std::int64_t prev_pts = 0;
  for (int i = 0; i < 50; ++i, rtp += 3600) {  // wraps after the third frame
    const std::int64_t pts = f.tl.rtp_pts_ns(rtp, 90'000);
    if (i > 0) {
      EXPECT_EQ(pts - prev_pts, F) << i;
    }
    prev_pts = pts;
    f.push(pts, i % 25 == 0);
  }
  EXPECT_EQ(f.tl.counters().timestamp_jumps, 0u);
  for (std::size_t i = 1; i < f.out.size(); ++i)
    EXPECT_EQ(f.out[i].media_ns + f.out[i].cts_ns - f.out[i - 1].media_ns - f.out[i - 1].cts_ns, F)
        << i;
}

TEST(MediaTimeline, RtpTicksToNs) {
  EXPECT_EQ(rtp_ticks_to_ns(90'000, 90'000), 1'000'000'000);
  EXPECT_EQ(rtp_ticks_to_ns(3600, 90'000), F);
  EXPECT_EQ(rtp_ticks_to_ns(3600, 0), F);  // no rate: 90 kHz
  // Thirty days at 90 kHz: no overflow.
  const std::int64_t days30 = 30LL * 86'400 * 90'000 + 45'000;
  EXPECT_EQ(rtp_ticks_to_ns(days30, 90'000), 30LL * 86'400 * 1'000'000'000 + 500'000'000);
}

// A camera restarting its clock: back an hour, or forward by 20 s. Media
// time goes on by one frame and the jump is counted.
TEST(MediaTimeline, TimestampJumpBecomesOneFrame) {
  for (const std::int64_t leap : {-3'600'000'000'000LL, 20'000'000'000LL}) {
    Feeder f;
    for (int i = 0; i < 50; ++i) f.push(kBase + i * F, i % 25 == 0);
    const std::int64_t before = f.out.back().media_ns;
    const std::int64_t restart = kBase + 50 * F + leap;
    for (int i = 0; i < 50; ++i) f.push(restart + i * F, i % 25 == 0);
    EXPECT_EQ(f.tl.counters().timestamp_jumps, 1u) << leap;
    EXPECT_EQ(f.out[50].media_ns - before, F) << leap;
    for (std::size_t i = 51; i < f.out.size(); ++i)
      EXPECT_GT(f.out[i].media_ns, f.out[i - 1].media_ns);
  }
}

// Timestamps that leap forward by less than a jump (8 s) cannot make media
// time run ahead of our clock by more than kPaceSlack (+0.1 %).
TEST(MediaTimeline, MediaTimeIsPacedByTheClock) {
  Feeder f;
  const MonoTime start = f.clock.monotonic();
  std::int64_t pts = kBase;
  for (int i = 0; i < 100; ++i) {
    f.push(pts, i % 25 == 0);
    pts += (i == 60) ? 8'000'000'000 : F;
  }
  EXPECT_GE(f.tl.counters().timestamp_jumps, 1u);
  const std::int64_t elapsed = (f.clock.monotonic() - start).count();
  EXPECT_LE(f.out.back().media_ns, elapsed + elapsed / 1000 + kPaceSlack);
  // Without the pacing media time would be 8 s ahead of the frames' spacing.
  EXPECT_LT(f.out.back().media_ns, 99 * F + 8'000'000'000 - F);
  for (std::size_t i = 1; i < f.out.size(); ++i)
    EXPECT_GT(f.out[i].media_ns, f.out[i - 1].media_ns);
}

// A sender report moves the anchor: the frame carrying it is shown at its
// NTP time; the first one's offset from our clock is kept.
TEST(MediaTimeline, SenderReportAnchorsWallTime) {
  Feeder f;
  for (int i = 0; i < 30; ++i) f.push(kBase + i * F, i % 25 == 0);
  const std::int64_t arrival = to_unix_ns(f.clock.realtime());
  const std::int64_t ntp = arrival + 1'500'000'000;  // the camera's clock is 1.5 s ahead
  const auto t = f.push(kBase + 30 * F, false, ntp);
  EXPECT_TRUE(t.first_ntp);
  EXPECT_EQ(f.tl.wall_ns(t.media_ns, t.cts_ns), ntp);
  EXPECT_EQ(f.tl.counters().ntp_offset_ms, (ntp - t.cts_ns - arrival) / 1'000'000);
  const auto next = f.push(kBase + 31 * F, false, ntp + F);
  EXPECT_FALSE(next.first_ntp);
  EXPECT_EQ(f.tl.wall_ns(next.media_ns, next.cts_ns), ntp + F);
  // Without one the wall time runs on from the last anchor.
  const auto later = f.push(kBase + 32 * F, false);
  EXPECT_EQ(f.tl.wall_ns(later.media_ns, later.cts_ns), ntp + 2 * F);
  // An SR time of 0 (none) is no anchor.
  f.push(kBase + 33 * F, false, 0);
  EXPECT_EQ(f.tl.counters().ntp_frames, 2u);
}

// A reconnect: media time starts again at 0, anchored at the new arrival;
// the frame duration learned is kept.
TEST(MediaTimeline, RestartAnchorsAgain) {
  Feeder f;
  for (int i = 0; i < 60; ++i) f.push(kBase + i * 2 * F, i % 25 == 0);  // 12.5 fps
  EXPECT_EQ(f.tl.frame_ns(), 2 * F);
  f.tl.restart();
  f.clock.advance(std::chrono::seconds(3));
  const std::int64_t arrival = to_unix_ns(f.clock.realtime());
  const auto t = f.push(5'000'000'000, true);
  EXPECT_EQ(t.media_ns, 0);
  EXPECT_EQ(f.tl.wall_ns(t.media_ns, t.cts_ns), arrival + t.cts_ns);
  EXPECT_EQ(f.tl.frame_ns(), 2 * F);
  EXPECT_EQ(f.tl.counters().timestamp_jumps, 0u);
  f.tl.set_frame_ns(F / 2);
  EXPECT_EQ(f.tl.frame_ns(), F / 2);
}

// The camera pauses 4 s and resumes on the same session (zaulek-sim's
// rtsp_stall_ms): its presentation times leap by the pause, mid-GOP. The
// first frame after it is presented at its own time with an ordinary
// composition offset, and media time crosses the pause as the clock did
// (it was once the other way round: an offset of the whole pause, media
// time one frame on).
TEST(MediaTimeline, APauseMovesMediaTimeNotTheCompositionOffset) {
  for (const auto& [b, at] : {std::pair{0, std::size_t{10}}, std::pair{2, std::size_t{80}}}) {
    Feeder f;
    const auto in = stream(6, 25, b);
    constexpr std::int64_t kPause = 100 * F;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (i == at) f.clock.advance(std::chrono::nanoseconds(kPause));
      f.push(kBase + in[i].slot * F + (i >= at ? kPause : 0), in[i].key);
    }
    EXPECT_EQ(f.tl.counters().timestamp_jumps, 0u) << b;
    const auto& first = f.out.front();
    for (std::size_t i = 1; i < in.size(); ++i) {
      EXPECT_LE(f.out[i].cts_ns, 10 * F) << b << " frame " << i;
      EXPECT_GT(f.out[i].media_ns, f.out[i - 1].media_ns) << b << " frame " << i;
      const std::int64_t shown =
          f.out[i].media_ns + f.out[i].cts_ns - first.media_ns - first.cts_ns;
      EXPECT_EQ(shown, in[i].slot * F + (i >= at ? kPause : 0)) << b << " frame " << i;
    }
    EXPECT_GE(f.out[at].media_ns - f.out[at - 1].media_ns, kPause) << b;
  }
}

}  // namespace
}  // namespace zaulek::media
