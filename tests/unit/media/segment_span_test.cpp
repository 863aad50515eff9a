// Where segments are cut and how frames are stamped (media/record/
// segment_span.h): at the first keyframe presented at least the target
// duration after the segment's start, never before the previous one's end.
#include "media/record/segment_span.h"

#include <gtest/gtest.h>

#include <vector>

namespace zaulek::media {
namespace {

using namespace std::chrono_literals;
constexpr std::int64_t F = 40'000'000;  // 25 fps
constexpr std::int64_t kWall = 1'700'000'000'000'000'000;

// The recorder's use of it: 25 fps, a keyframe every `gop` frames; returns
// the frame indexes where segments start.
std::vector<int> cuts(SegmentSpan& s, int frames, int gop, std::int64_t jitter_at_key = 0) {
  std::vector<int> starts;
  for (int i = 0; i < frames; ++i) {
    const bool key = i % gop == 0;
    const std::int64_t media = i * F + (key && i > 0 ? jitter_at_key : 0);
    if (s.cut_before(media, 0, key, F)) s.end(F);
    if (!s.open()) {
      if (!key) continue;
      s.begin(s.start_at(kWall + media), media, 0);
      starts.push_back(i);
    }
    s.written(media, 0);
  }
  return starts;
}

TEST(MediaSegmentSpan, CutAtTheFirstKeyframeAfterTheTarget) {
  SegmentSpan two(2s);  // keyframes each second: cut every 2 s exactly
  EXPECT_EQ(cuts(two, 250, 25), (std::vector<int>{0, 50, 100, 150, 200}));
  SegmentSpan odd(2500ms);  // 2.5 s: the keyframe at 3 s
  EXPECT_EQ(cuts(odd, 250, 25), (std::vector<int>{0, 75, 150, 225}));
  SegmentSpan long_gop(2s);  // a keyframe each 3 s: segments of 3 s
  EXPECT_EQ(cuts(long_gop, 250, 75), (std::vector<int>{0, 75, 150, 225}));
}

// Half a frame of slack: a keyframe 10 ms early still cuts at the target; 30
// ms early does not (the cut moves a whole GOP later).
TEST(MediaSegmentSpan, HalfAFrameOfSlack) {
  SegmentSpan early(2s);
  EXPECT_EQ(cuts(early, 150, 25, -10'000'000), (std::vector<int>{0, 50, 100}));
  SegmentSpan too_early(2s);
  EXPECT_EQ(cuts(too_early, 150, 25, -30'000'000), (std::vector<int>{0, 75, 125}));
}

TEST(MediaSegmentSpan, OnlyAKeyframeCutsAndOnlyAnOpenSegment) {
  SegmentSpan s(1s);
  EXPECT_FALSE(s.cut_before(10 * F * 25, 0, true, F));  // nothing open
  s.begin(kWall, 0, 0);
  EXPECT_FALSE(s.cut_before(100 * F, 0, false, F));
  EXPECT_TRUE(s.cut_before(100 * F, 0, true, F));
  EXPECT_FALSE(s.cut_before(20 * F, 0, true, F));
}

// B-frames: presentation time decides; the composition offset of the
// segment's first frame is taken off.
TEST(MediaSegmentSpan, PresentationTimeDecidesTheCut) {
  SegmentSpan s(2s);
  s.begin(kWall, 0, 3 * F);  // first keyframe shown 3 frames after its decode
  // A keyframe decoded at 2 s with the same offset is presented 2 s later.
  EXPECT_TRUE(s.cut_before(50 * F, 3 * F, true, F));
  // Decoded at 2 s but with no offset (the depth dropped): shown at 1.88 s.
  EXPECT_FALSE(s.cut_before(50 * F, 0, true, F));
}

TEST(MediaSegmentSpan, StampsAndEnds) {
  SegmentSpan s(60s);
  s.begin(s.start_at(kWall), 10 * F, 2 * F);
  EXPECT_EQ(s.start_ns(), kWall);
  constexpr std::uint64_t kOrigin = 90'000;
  const auto first = s.stamp(10 * F, 2 * F, kOrigin);
  EXPECT_EQ(first.dts90, kOrigin);
  EXPECT_EQ(first.pts90, kOrigin + 2 * 3600);
  const auto later = s.stamp(13 * F, F, kOrigin);
  EXPECT_EQ(later.dts90, kOrigin + 3 * 3600);
  EXPECT_EQ(later.pts90, kOrigin + 4 * 3600);
  s.written(10 * F, 2 * F);
  s.written(11 * F, 4 * F);  // a P shown last: 11 + 4 - 2 = 3 frames after the start
  s.written(12 * F, 0);      // a B shown before it
  EXPECT_EQ(s.end_ns(F), kWall + 3 * F + F);
  EXPECT_EQ(s.end(F), kWall + 4 * F);
  EXPECT_FALSE(s.open());
  // The next segment never starts before the previous one's end.
  EXPECT_EQ(s.start_at(kWall + 2 * F), kWall + 4 * F);
  EXPECT_EQ(s.start_at(kWall + 9 * F), kWall + 9 * F);
}

}  // namespace
}  // namespace zaulek::media
