// Playback's state machine (pure: no I/O, no clock reads; times are given).
// It takes the access units the archive reads (server/playback/archive.h),
// in decode order with their wall times, and says what to send a viewer and
// when: text messages and frames with their fMP4 times, paced at the speed.
//
// The media time line (what the fMP4 says): starts at 0 at the first
// keyframe sent and runs on without holes: over a gap in the footage, and
// after a seek, it continues where it was (a MediaSource keeps appending);
// the text messages map it to the wall clock:
//   {"type":"start","time":T,"keyframe":K,"media_time":m,"speed":s}
//     playback from T begins at the keyframe K (at or before T); T is at
//     media time m (seconds): a player sets currentTime = m and so skips
//     the frames between K and T. Sent at the start and after every seek.
//   {"type":"gap","from":A,"to":B,"media_time":m}  no footage from A to B;
//     what follows (B) is at media time m.
//   {"type":"live"}  playback caught up with the recording: frames come as
//     they are written (seconds behind).
//   {"type":"speed","value":s}, {"type":"paused"}, {"type":"playing"}: acks.
// Times are RFC 3339 (the caller formats them); here nanoseconds.
//
// Pacing: a frame at media time t (decode) is due at a + (t - t0) / speed -
// kLead, where (a, t0) is the anchor set when the first frame at or after
// the start time T is taken (again after play, a speed change or a seek).
// Frames before T go at once (the player skips them). So over any stretch
// playback never runs faster than real time x speed, only kLead ahead.
// Above 4x only keyframes are sent, each lasting until the next.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "media/codec.h"

namespace zaulek::server::playback {

using Data = std::shared_ptr<const std::vector<std::uint8_t>>;

// One access unit out of the archive.
struct Frame {
  Data data;
  std::int64_t dts_ns = 0;  // wall clock, decode
  std::int64_t pts_ns = 0;  // wall clock, presentation (>= dts_ns)
  bool keyframe = false;
  std::int64_t segment = 0;  // which segment file: frames of one are evenly timed
  media::Codec codec = media::Codec::h264;
};

// The speeds a viewer may ask for.
bool valid_speed(int speed);

// A gap smaller than this between two segments is not reported (the
// recorder starts a segment where the last ended; the timeline API merges
// the same way).
constexpr std::int64_t kGapToleranceNs = 1'000'000'000;
// How far ahead of its due time a frame may go (a player's buffer).
constexpr std::chrono::milliseconds kLead{500};
// Frames held ready to send (read ahead), and their bytes.
constexpr std::size_t kMaxReady = 48;
constexpr std::size_t kMaxReadyBytes = 16u << 20;

struct Output {
  enum class Kind { start, gap, live, speed, paused, playing, frame };
  Kind kind = Kind::frame;
  // start: time (T), at (keyframe's presentation), media (T's media time);
  // gap: time (from), at (to), media (to's media time); speed: speed.
  std::int64_t time_ns = 0;
  std::int64_t at_ns = 0;
  std::int64_t media_ns = 0;
  int speed = 1;
  // frame: media times (ns), duration until the next frame sent.
  Frame frame;
  std::int64_t dts_ns = 0;
  std::int64_t pts_ns = 0;
  std::int64_t duration_ns = 0;
};

class Player {
 public:
  // Answers (speed, paused, playing) beyond this many unsent are dropped.
  static constexpr std::size_t kMaxAcks = 8;

  Player(std::int64_t from_ns, int speed);

  // --- from the archive ---
  // The next access unit in decode order.
  void push(Frame frame);
  // The reader has read all there is for now (the segment being written,
  // or nothing after the last segment); a frame held for its duration is
  // released with the last known duration when `flush`.
  void at_edge(bool flush);

  // --- from the viewer (validated by the caller) ---
  // A new start: everything read and not yet sent is dropped; the caller
  // reopens the archive at `to_ns`.
  void seek(std::int64_t to_ns);
  void set_speed(int speed);
  void pause();
  void play();

  // --- to the viewer ---
  // What to send now, if anything is due.
  std::optional<Output> take(MonoTime now);
  // When the next frame is due (nullopt: nothing ready, or paused).
  std::optional<MonoTime> next_due(MonoTime now) const;
  // Whether to read more (the ready queue is below its bounds).
  bool wants_frames() const { return ready_frames_ < kMaxReady && ready_bytes_ < kMaxReadyBytes; }

  int speed() const { return speed_; }
  bool paused() const { return paused_; }
  std::int64_t target_ns() const { return target_ns_; }
  // Frames dropped by the keyframes-only speeds, or while waiting for a keyframe.
  std::uint64_t skipped() const { return skipped_; }

 private:
  void emit(const Frame& f, std::int64_t duration_ns);
  bool media_behind(const Frame& f) const;
  void place(const Frame& f);
  void keep_keyframes();
  void recount_shown();
  MonoTime due(const Output& o) const;
  void control(Output o) { ready_.push_back(std::move(o)); }
  // Answers beyond kMaxAcks unsent are dropped (a client that sends
  // without reading).
  void ack(Output o) {
    if (acks_.size() < kMaxAcks) acks_.push_back(std::move(o));
  }

  std::int64_t target_ns_;
  int speed_;
  bool paused_ = false;
  bool started_ = false;  // the start message for target_ns_ was queued
  bool need_key_ = true;
  bool anchored_ = false;
  MonoTime anchor_mono_{};
  std::int64_t anchor_media_ = 0;
  bool live_said_ = false;
  // Media time line: media = wall - offset_ for the current segment.
  std::int64_t offset_ns_ = 0;
  std::int64_t next_media_ns_ = 0;    // where the next frame's decode time goes
  std::int64_t sent_media_end_ = 0;   // end of the last frame taken
  std::int64_t sent_shown_end_ = 0;   // media: end of the latest frame shown, of those taken
  std::int64_t shown_media_end_ = 0;  // the same of those emitted
  std::int64_t cts_boost_ = 0;        // added to composition offsets since the last place()
  std::int64_t shown_end_ns_ = 0;     // wall: end of the latest frame shown
  std::optional<Frame> held_;         // waits for the next frame to know its duration
  // The frame pushed last (kept or skipped), for segment boundaries.
  bool have_prev_ = false;
  std::int64_t prev_dts_ = 0;
  std::int64_t prev_segment_ = 0;
  std::int64_t prev_step_ = 40'000'000;  // its segment's frame spacing
  std::deque<Output> ready_;             // in stream order: frames, start, gap, live
  std::deque<Output> acks_;              // answers to the viewer: ahead of everything
  std::size_t ready_frames_ = 0;
  std::size_t ready_bytes_ = 0;
  std::uint64_t skipped_ = 0;
};

}  // namespace zaulek::server::playback
