// The events-mode gate and pre-event buffer (media/record/event_gate.h) on a
// fake clock: what is written around an event, with pre-roll and post-roll.
#include "media/record/event_gate.h"

#include "core/clock.h"

#include <gtest/gtest.h>

#include <vector>

namespace zaulek::media {
namespace {

using namespace std::chrono_literals;
constexpr std::int64_t F = 40'000'000;  // 25 fps

struct TestFrame {
  std::int64_t media_ns = 0;
  bool keyframe = false;
  int index = 0;
};

// The recorder's use of the gate: frames one per 40 ms, a keyframe each
// second, 1000 bytes each; what it writes, and where segments end.
struct Camera {
  FakeClock clock;
  EventGate gate;
  PreRoll<TestFrame> prebuf;
  std::vector<int> written;
  int segment_ends = 0;
  bool segment_open = false;
  std::uint64_t not_recorded = 0;
  int next = 0;

  Camera(RecordingMode mode, std::chrono::milliseconds pre, std::chrono::milliseconds post,
         std::size_t max_bytes = 1 << 20)
      : gate(mode, post), prebuf(pre, max_bytes) {}

  void write(const TestFrame& f) {
    written.push_back(f.index);
    segment_open = true;
  }

  void frame() {
    TestFrame f{next * F, next % 25 == 0, next};
    ++next;
    const MonoTime now = clock.monotonic();
    switch (gate.route(now)) {
      case EventGate::Route::write:
        for (auto& old : prebuf.frames()) write(old);
        prebuf.clear();
        write(f);
        break;
      case EventGate::Route::drop:
        ++not_recorded;
        break;
      case EventGate::Route::hold:
        if (segment_open) {
          segment_open = false;
          ++segment_ends;
        }
        not_recorded += prebuf.hold(f, 1000);
        break;
    }
    clock.advance(std::chrono::nanoseconds(F));
  }
  void run(std::chrono::milliseconds d) {
    for (std::int64_t i = 0; i < d.count() / 40; ++i) frame();
  }
};

TEST(MediaEventGate, ContinuousWritesEverythingOffNothing) {
  Camera c(RecordingMode::continuous, 2s, 2s);
  c.run(3s);
  EXPECT_EQ(c.written.size(), 75u);
  EXPECT_EQ(c.not_recorded, 0u);
  EXPECT_FALSE(c.gate.closed(c.clock.monotonic()));

  Camera off(RecordingMode::off, 2s, 2s);
  off.gate.event(true, off.clock.monotonic());
  off.run(3s);
  EXPECT_TRUE(off.written.empty());
  EXPECT_EQ(off.not_recorded, 75u);
}

TEST(MediaEventGate, OpensWithPreRollStaysOpenForPostRollClosesAfter) {
  Camera c(RecordingMode::events, 2s, 3s);
  c.run(10s);  // frames 0..249, nothing written
  EXPECT_TRUE(c.written.empty());
  EXPECT_TRUE(c.gate.closed(c.clock.monotonic()));
  // Held: from the last keyframe at or before (newest 9.96 s - 2 s): frame
  // 175 (7 s); the frames before it were not recorded.
  ASSERT_FALSE(c.prebuf.empty());
  EXPECT_EQ(c.prebuf.frames().front().index, 175);
  EXPECT_TRUE(c.prebuf.frames().front().keyframe);
  EXPECT_EQ(c.prebuf.bytes(), 75u * 1000);
  EXPECT_EQ(c.not_recorded, 175u);

  c.gate.event(true, c.clock.monotonic());  // at 10 s
  EXPECT_FALSE(c.gate.closed(c.clock.monotonic()));
  c.run(4s);                                 // frames 250..349
  c.gate.event(false, c.clock.monotonic());  // at 14 s: open until 17 s
  c.run(2960ms);                             // frames 350..423; now 16.96 s, still open
  EXPECT_FALSE(c.gate.closed(c.clock.monotonic()));
  // Written: the pre-roll from 7 s, the event, the post-roll so far.
  ASSERT_FALSE(c.written.empty());
  EXPECT_EQ(c.written.front(), 175);
  EXPECT_EQ(c.written.back(), 423);
  for (std::size_t i = 1; i < c.written.size(); ++i) EXPECT_EQ(c.written[i], c.written[i - 1] + 1);
  EXPECT_EQ(c.segment_ends, 0);

  c.run(1s);  // from 17 s: closed; the segment ends at the first frame after
  EXPECT_TRUE(c.gate.closed(c.clock.monotonic()));
  EXPECT_EQ(c.written.back(), 424);  // 16.96 s, the last frame before 17 s
  EXPECT_EQ(c.segment_ends, 1);
  EXPECT_EQ(c.written.size(), 250u);
  EXPECT_EQ(c.prebuf.frames().front().index, 425);  // 17 s, the next pre-roll
}

TEST(MediaEventGate, StopWithoutStartIsNoEventAndNewEventReopens) {
  Camera c(RecordingMode::events, 1s, 1s);
  c.gate.event(false, c.clock.monotonic());  // no event was active: no post-roll
  c.run(2s);
  EXPECT_TRUE(c.written.empty());
  c.gate.event(true, c.clock.monotonic());
  c.gate.event(true, c.clock.monotonic());  // repeated start: one event
  c.run(1s);
  c.gate.event(false, c.clock.monotonic());
  c.run(2s);
  const std::size_t after_first = c.written.size();
  // Pre-roll from the keyframe at or before 0.96 s (0 s), the event
  // (2..3 s), post-roll to 4 s.
  EXPECT_EQ(c.written.front(), 0);
  EXPECT_EQ(c.written.back(), 99);
  EXPECT_EQ(c.segment_ends, 1);
  c.gate.event(true, c.clock.monotonic());  // at 5 s: pre-roll from 4 s
  c.run(40ms);
  EXPECT_EQ(c.written[after_first], 100);
  EXPECT_EQ(c.written.back(), 125);
}

TEST(MediaEventGate, PreRollStartsAtAKeyframe) {
  PreRoll<TestFrame> p(1s, 1 << 20);
  EXPECT_EQ(p.hold({0, false, 0}, 100), 1u);  // no keyframe to start with: not held
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.hold({F, true, 1}, 100), 0u);
  EXPECT_EQ(p.hold({2 * F, false, 2}, 100), 0u);
  EXPECT_EQ(p.frames().size(), 2u);
  EXPECT_EQ(p.bytes(), 200u);
  p.clear();
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.bytes(), 0u);
}

// Over the byte cap whole GOPs go from the front; a keyframe stays first.
TEST(MediaEventGate, PreRollByteCapDropsWholeGops) {
  PreRoll<TestFrame> p(10s, 60 * 1000);  // 10 s wanted, 2.4 s of 1000-byte frames allowed
  std::size_t dropped = 0;
  for (int i = 0; i < 125; ++i) dropped += p.hold({i * F, i % 25 == 0, i}, 1000);
  EXPECT_LE(p.bytes(), 60u * 1000);
  EXPECT_TRUE(p.frames().front().keyframe);
  EXPECT_EQ(p.frames().front().index, 75);  // the last two GOPs, 50 frames
  EXPECT_EQ(dropped + p.frames().size(), 125u);
  // One frame bigger than the cap: everything before it goes.
  PreRoll<TestFrame> q(10s, 1000);
  EXPECT_EQ(q.hold({0, true, 0}, 500), 0u);
  EXPECT_EQ(q.hold({F, false, 1}, 5000), 2u);
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace zaulek::media
