#include "server/playback/player.h"

#include <gtest/gtest.h>

#include <vector>

namespace zaulek::server::playback {
namespace {

using namespace std::chrono_literals;
using Kind = Output::Kind;

constexpr std::int64_t kFrame = 40'000'000;  // 25 fps
constexpr std::int64_t kT0 = 1'700'000'000'000'000'000;
constexpr std::int64_t kCts = 2 * kFrame;  // B-frame-like presentation delay

// Frame i of a segment starting at `start` (wall), keyframe every `gop`.
Frame frame(std::int64_t start, int i, std::int64_t segment, int gop = 25) {
  Frame f;
  f.dts_ns = start + i * kFrame;
  f.pts_ns = f.dts_ns + kCts;
  f.keyframe = i % gop == 0;
  f.segment = segment;
  f.data = std::make_shared<const std::vector<std::uint8_t>>(100, static_cast<std::uint8_t>(i));
  return f;
}

struct Viewer {
  MonoTime now{};
  std::vector<Output> out;
  // Takes everything due now.
  void take(Player& p) {
    while (auto o = p.take(now)) out.push_back(*o);
  }
  std::vector<Output> frames() const {
    std::vector<Output> f;
    for (const auto& o : out)
      if (o.kind == Kind::frame) f.push_back(o);
    return f;
  }
  const Output* first(Kind k) const {
    for (const auto& o : out)
      if (o.kind == k) return &o;
    return nullptr;
  }
};

TEST(PlaybackPlayer, StartsAtTheKeyframeBeforeTAndSaysWhereTIs) {
  const std::int64_t target = kT0 + 30 * kFrame + kCts + 5'000'000;  // inside frame 30
  Player p(target, 1);
  for (int i = 20; i < 60; ++i) p.push(frame(kT0, i, 1));  // 20..24 are before a keyframe
  Viewer r;
  r.take(p);
  const Output* start = r.first(Kind::start);
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->time_ns, target);
  EXPECT_EQ(start->at_ns, kT0 + 25 * kFrame + kCts);  // keyframe 25's presentation
  // Media time starts at 0 at keyframe 25's decode time; T is 5 frames and 5 ms later.
  EXPECT_EQ(start->media_ns, 5 * kFrame + kCts + 5'000'000);
  EXPECT_EQ(p.skipped(), 5u);  // 20..24: no keyframe before them
  const auto f = r.frames();
  ASSERT_GE(f.size(), 6u);
  EXPECT_TRUE(f[0].frame.keyframe);
  EXPECT_EQ(f[0].dts_ns, 0);
  EXPECT_EQ(f[0].pts_ns, kCts);
  EXPECT_EQ(f[0].duration_ns, kFrame);
  EXPECT_EQ(f[1].dts_ns, kFrame);
  // The start message comes before the first frame.
  EXPECT_EQ(r.out[0].kind, Kind::start);
}

TEST(PlaybackPlayer, PacedNeverFasterThanRealTimeTimesSpeed) {
  for (int speed : {1, 2, 4}) {
    Player p(kT0, speed);
    Viewer r;
    int next = 0;
    for (int step = 0; step <= 100; ++step) {  // 10 s in 100 ms steps
      // As the viewer does: read while there is room, send what is due.
      for (std::size_t before = 0; before != r.out.size() || p.wants_frames();) {
        before = r.out.size();
        while (p.wants_frames()) p.push(frame(kT0, next++, 1));
        r.take(p);
        if (before == r.out.size()) break;
      }
      const auto f = r.frames();
      ASSERT_FALSE(f.empty());
      const std::int64_t elapsed = std::chrono::nanoseconds(r.now - MonoTime{}).count();
      // The last frame taken is due no later than now (+ the lead).
      const std::int64_t lead = std::chrono::nanoseconds(kLead).count();
      EXPECT_LE(f.back().dts_ns, (elapsed + lead) * speed) << "speed " << speed << " step " << step;
      // And pacing keeps up: everything due by now went out.
      EXPECT_GT(f.back().dts_ns + kFrame, (elapsed + lead) * speed)
          << "speed " << speed << " step " << step;
      r.now += 100ms;
    }
  }
}

TEST(PlaybackPlayer, AGapIsSaidAndTheMediaTimeLineRunsOn) {
  Player p(kT0, 1);
  for (int i = 0; i < 50; ++i) p.push(frame(kT0, i, 1));
  const std::int64_t second = kT0 + 50 * kFrame + 10'000'000'000;  // 10 s of nothing
  for (int i = 0; i < 10; ++i) p.push(frame(second, i, 2));
  p.at_edge(true);
  Viewer r;
  for (int i = 0; i < 200; ++i, r.now += 100ms) r.take(p);
  const Output* gap = r.first(Kind::gap);
  ASSERT_NE(gap, nullptr);
  EXPECT_EQ(gap->time_ns, kT0 + 50 * kFrame + kCts);  // end of the last frame shown
  EXPECT_EQ(gap->at_ns, second + kCts);
  EXPECT_EQ(gap->media_ns, 50 * kFrame + kCts);
  const auto f = r.frames();
  ASSERT_EQ(f.size(), 60u);
  for (std::size_t i = 1; i < f.size(); ++i) {
    EXPECT_EQ(f[i].dts_ns, f[i - 1].dts_ns + f[i - 1].duration_ns) << i;  // no hole
    EXPECT_EQ(f[i].dts_ns, static_cast<std::int64_t>(i) * kFrame) << i;
  }
  // The gap message comes after the last frame before it.
  std::size_t frames_before = 0;
  for (const auto& o : r.out) {
    if (o.kind == Kind::gap) break;
    frames_before += o.kind == Kind::frame;
  }
  EXPECT_EQ(frames_before, 50u);
}

TEST(PlaybackPlayer, SegmentsWithoutAGapJoinSilently) {
  Player p(kT0, 1);
  for (int i = 0; i < 50; ++i) p.push(frame(kT0, i, 1));
  for (int i = 0; i < 50; ++i) p.push(frame(kT0 + 50 * kFrame + 3'000'000, i, 2));
  Viewer r;
  for (int i = 0; i < 100; ++i, r.now += 100ms) r.take(p);
  EXPECT_EQ(r.first(Kind::gap), nullptr);
  const auto f = r.frames();
  ASSERT_EQ(f.size(), 99u);                          // the last one is held for its duration
  EXPECT_EQ(f[49].duration_ns, kFrame + 3'000'000);  // the few ms between the files
  EXPECT_EQ(f[50].dts_ns, 50 * kFrame + 3'000'000);
}

TEST(PlaybackPlayer, PresentationNeverGoesBackWhenTheCompositionOffsetDrops) {
  // The first file presents 4 frames after decoding, the next one at once
  // (the recorder lowered its reorder depth); also after a seek.
  auto plain = [](std::int64_t start, int i, std::int64_t segment) {
    Frame f = frame(start, i, segment);
    f.pts_ns = f.dts_ns;
    return f;
  };
  Player p(kT0, 1);
  for (int i = 0; i < 50; ++i) {
    Frame f = frame(kT0, i, 1);
    f.pts_ns = f.dts_ns + 4 * kFrame;
    p.push(f);
  }
  for (int i = 0; i < 50; ++i) p.push(plain(kT0 + 50 * kFrame, i, 2));
  Viewer r;
  for (int i = 0; i < 100; ++i, r.now += 100ms) r.take(p);
  p.seek(kT0 + 200 * kFrame);
  for (int i = 0; i < 30; ++i) p.push(plain(kT0 + 200 * kFrame, i, 3));
  for (int i = 0; i < 100; ++i, r.now += 100ms) r.take(p);
  const auto f = r.frames();
  ASSERT_GT(f.size(), 120u);
  for (std::size_t i = 1; i < f.size(); ++i) {
    EXPECT_GT(f[i].dts_ns, f[i - 1].dts_ns) << i;
    EXPECT_GT(f[i].pts_ns, f[i - 1].pts_ns) << i;  // no B-frames here: shown in order
  }
}

TEST(PlaybackPlayer, AboveFourTimesOnlyKeyframesEachLastingUntilTheNext) {
  Player p(kT0, 8);
  for (int i = 0; i < 251; ++i) p.push(frame(kT0, i, 1));
  Viewer r;
  for (int i = 0; i < 100; ++i, r.now += 100ms) r.take(p);
  const auto f = r.frames();
  ASSERT_EQ(f.size(), 10u);  // keyframes 0, 25, ..., 225 (250 held)
  for (std::size_t i = 0; i < f.size(); ++i) {
    EXPECT_TRUE(f[i].frame.keyframe);
    EXPECT_EQ(f[i].dts_ns, static_cast<std::int64_t>(i) * 25 * kFrame);
    EXPECT_EQ(f[i].duration_ns, 25 * kFrame);
  }
  EXPECT_EQ(p.skipped(), 250u - 10u);
}

TEST(PlaybackPlayer, BackToNormalSpeedWaitsForAKeyframe) {
  Player p(kT0, 8);
  for (int i = 0; i < 30; ++i) p.push(frame(kT0, i, 1));
  p.set_speed(1);
  for (int i = 30; i < 60; ++i) p.push(frame(kT0, i, 1));
  Viewer r;
  for (int i = 0; i < 50; ++i, r.now += 100ms) r.take(p);
  const auto f = r.frames();
  ASSERT_GE(f.size(), 4u);
  EXPECT_EQ(f[0].dts_ns, 0);
  EXPECT_EQ(f[0].duration_ns, 25 * kFrame);
  // Keyframe 25 (held when the speed changed) lasts until keyframe 50: the
  // frames between cannot be decoded without the ones skipped before.
  EXPECT_EQ(f[1].dts_ns, 25 * kFrame);
  EXPECT_EQ(f[1].duration_ns, 25 * kFrame);
  EXPECT_EQ(f[2].dts_ns, 50 * kFrame);
  EXPECT_TRUE(f[2].frame.keyframe);
  EXPECT_EQ(f[3].dts_ns, 51 * kFrame);
  EXPECT_FALSE(f[3].frame.keyframe);
  const Output* ack = r.first(Kind::speed);
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(ack->speed, 1);
}

TEST(PlaybackPlayer, FasterThanFourTimesAppliesToWhatWasReadAheadToo) {
  Player p(kT0, 1);
  int next = 0;
  for (; p.wants_frames(); ++next) p.push(frame(kT0, next, 1));
  Viewer r;
  r.take(p);  // keyframe 0 and the frames within the lead
  const std::size_t sent = r.frames().size();
  ASSERT_GT(sent, 1u);
  ASSERT_LT(sent, 25u);
  p.set_speed(8);
  for (int i = 0; i < 200; ++i) p.push(frame(kT0, next++, 1));
  for (int i = 0; i < 100; ++i, r.now += 100ms) r.take(p);
  const auto f = r.frames();
  ASSERT_GT(f.size(), sent + 3);
  // Frames read ahead before the next keyframe follow the ones sent; from
  // keyframe 25 on, only keyframes.
  std::size_t k = sent;
  while (k < f.size() && !f[k].frame.keyframe) ++k;
  ASSERT_LT(k + 3, f.size());
  EXPECT_EQ(f[k].dts_ns, 25 * kFrame);
  for (std::size_t i = k; i < f.size(); ++i) EXPECT_TRUE(f[i].frame.keyframe) << i;
  for (std::size_t i = 1; i < f.size(); ++i)
    EXPECT_EQ(f[i].dts_ns, f[i - 1].dts_ns + f[i - 1].duration_ns) << i;  // no hole
}

TEST(PlaybackPlayer, PauseHoldsFramesButAnswersAtOnce) {
  Player p(kT0, 1);
  for (int i = 0; i < 40; ++i) p.push(frame(kT0, i, 1));
  Viewer r;
  r.take(p);
  const std::size_t before = r.frames().size();
  p.pause();
  r.now += 5s;
  r.take(p);
  EXPECT_EQ(r.frames().size(), before);
  ASSERT_NE(r.first(Kind::paused), nullptr);
  EXPECT_FALSE(p.next_due(r.now));
  p.play();
  r.take(p);
  ASSERT_NE(r.first(Kind::playing), nullptr);
  // Resumed from where it stopped, paced from now: not everything at once.
  EXPECT_GT(r.frames().size(), before);
  EXPECT_LT(r.frames().size(), 39u);
}

TEST(PlaybackPlayer, SeekStartsAgainAndTheMediaTimeLineContinues) {
  Player p(kT0, 1);
  for (int i = 0; i < 40; ++i) p.push(frame(kT0, i, 1));
  Viewer r;
  r.take(p);  // frames up to the lead
  const auto sent = r.frames();
  ASSERT_FALSE(sent.empty());
  const std::int64_t end = sent.back().dts_ns + sent.back().duration_ns;
  const std::int64_t later = kT0 + 3'600'000'000'000;  // an hour on
  p.seek(later + 10 * kFrame);
  for (int i = 0; i < 30; ++i) p.push(frame(later, i, 7));
  r.out.clear();
  r.take(p);
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out[0].kind, Kind::start);
  EXPECT_EQ(r.out[0].time_ns, later + 10 * kFrame);
  EXPECT_EQ(r.out[0].at_ns, later + kCts);
  EXPECT_EQ(r.out[0].media_ns, end + 10 * kFrame);
  const auto f = r.frames();
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].dts_ns, end);
  EXPECT_TRUE(f[0].frame.keyframe);
}

TEST(PlaybackPlayer, NoFootageAtTIsAGapToWhereItBegins) {
  Player p(kT0, 1);
  const std::int64_t later = kT0 + 60'000'000'000;
  for (int i = 0; i < 5; ++i) p.push(frame(later, i, 1));
  Viewer r;
  r.take(p);
  ASSERT_GE(r.out.size(), 2u);
  EXPECT_EQ(r.out[0].kind, Kind::gap);
  EXPECT_EQ(r.out[0].time_ns, kT0);
  EXPECT_EQ(r.out[0].at_ns, later + kCts);
  EXPECT_EQ(r.out[1].kind, Kind::start);
  EXPECT_EQ(r.out[1].time_ns, later + kCts);
}

TEST(PlaybackPlayer, LiveOnceCaughtUpThenFramesAsTheyCome) {
  Player p(kT0, 2);
  int next = 0;
  for (; next < 10; ++next) p.push(frame(kT0, next, 1));
  Viewer r;
  p.at_edge(false);
  EXPECT_EQ(r.first(Kind::live), nullptr);
  for (int i = 0; i < 10; ++i, r.now += 100ms) r.take(p);
  p.at_edge(false);
  r.take(p);
  ASSERT_NE(r.first(Kind::live), nullptr);
  // Frames written from now on go out as they are read.
  const std::size_t before = r.frames().size();
  p.push(frame(kT0, next++, 1));
  r.take(p);
  EXPECT_EQ(r.frames().size(), before + 1);
}

TEST(PlaybackPlayer, ReadAheadIsBounded) {
  Player p(kT0, 1);
  int pushed = 0;
  while (p.wants_frames() && pushed < 10'000) p.push(frame(kT0, pushed++, 1));
  EXPECT_LE(pushed, static_cast<int>(kMaxReady) + 2);
  for (int i = 0; i < 100; ++i) p.pause();  // a client that sends without reading
  Viewer r;
  r.take(p);
  int acks = 0;
  for (const auto& o : r.out) acks += o.kind == Kind::paused;
  EXPECT_EQ(acks, static_cast<int>(Player::kMaxAcks));
}

}  // namespace
}  // namespace zaulek::server::playback
