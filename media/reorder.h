// Decode times for a stream that carries presentation times only (RTP: one
// timestamp per access unit, its PTS), fed in decode order. Pure: no clock,
// no I/O; one instance per camera time line (internal to media/).
//
// Why: an encoder with B-frames sends frames in decode order with PTS out of
// order (x264 defaults: I0 P4 B2 b1 b3 ...). Writing PTS as DTS makes the
// file's DTS go backwards, and a time line that follows it sees a jump at
// every B-frame. See docs/design/time.md "Decode times".
//
// How (from the stream alone; no SPS/VUI needed): a frame's reorder depth is
// how many earlier frames present after it (b1 above: P4 and B2, so 2). With
// a depth of d, the decode time of a frame is the (d+1)-th largest PTS seen so
// far (as ffmpeg does for PTS-only input): never above the frame's own PTS,
// never going back. A new time line starts with d = kStartDepth and d synthetic
// earlier PTS (one frame duration apart), so the first frames already have
// room for reordering; after one whole GOP (keyframe to keyframe) d drops to
// the deepest reordering seen so far, at a keyframe, where no later frame
// presents earlier (closed GOP). DTS then jumps forward once; PTS are untouched.
//
// Contract: for every frame pushed, dts <= pts. Within a time line (between
// two frames with `jump`), dts strictly increases. `jump` is set when the PTS
// leapt (a camera restarting its clock: back by more than kMaxBack, forward
// by more than kMaxForward), when two frames share a PTS, or when a frame is
// reordered deeper than the depth in use (kStartDepth exceeded, or a later GOP
// deeper than the first); the caller then starts a new time line at this frame
// (media time continues by one frame duration).
//
// A pause (the camera stalled and resumed on the same session, or frames
// were lost) is not reordering: no encoder reorders across it, so the decode
// time crosses it at its first frame, whose composition offset stays as small
// as the depth in use; no jump. Taken as a pause: presentation time ahead of
// the newest by more than kMaxDepth + 1 frames (longer than B-frame runs
// usually are) or kPauseLead, after a silence of at least half that lead
// (a P-frame after a long B-frame run arrives in the stream's cadence; a
// stalled camera's frames stop). The presentation times alone cannot tell:
// an encoder may send 31 B-frames after their reference.
#pragma once

#include <cstdint>
#include <vector>

namespace zaulek::media {

// RTP timestamps (32 bits, wrapping every 13 h at 90 kHz) made 64-bit. A step
// is taken as the signed 32-bit difference to the previous one, so B-frames
// (small steps back) and the wrap both come out right.
class RtpUnwrap {
 public:
  std::int64_t ticks(std::uint32_t rtp);
  void reset() { have_ = false; }

 private:
  bool have_ = false;
  std::uint32_t last_ = 0;
  std::int64_t ticks_ = 0;
};

// Media time may run ahead of the monotonic clock by kPaceSlack (a camera
// sending a buffered GOP at once, jitter, frames that waited for a busy
// strand when the first one was timed) plus 0.1 % (clock drift), no more:
// a camera whose timestamps run fast, or leap forward by less than a jump
// each time, cannot make the catalogue claim footage for time that has not
// passed. Returns the step to take instead of `delta` (>= one 90 kHz tick,
// so that decode times still increase). Elapsed times are since the same
// start of the time line; all in ns.
constexpr std::int64_t kPaceSlack = 5'000'000'000;
constexpr std::int64_t kMinStep = 11'112;
std::int64_t paced_step(std::int64_t media_elapsed, std::int64_t wall_elapsed, std::int64_t delta);

class DecodeTimes {
 public:
  static constexpr int kStartDepth = 4;  // x264 pyramid needs 2; 4 as VLC's live555 module
  static constexpr int kMaxDepth = 16;   // the H.264/H.265 DPB holds at most 16 frames
  static constexpr std::int64_t kMaxBack = 2'000'000'000;      // ns
  static constexpr std::int64_t kMaxForward = 10'000'000'000;  // ns
  static constexpr std::int64_t kPauseLead = 1'000'000'000;    // ns

  // default_frame_ns spaces the synthetic PTS of a new time line until the
  // stream's own spacing is known.
  explicit DecodeTimes(std::int64_t default_frame_ns = 40'000'000)
      : default_frame_ns_(default_frame_ns) {}

  struct Frame {
    std::int64_t dts = 0;
    bool jump = false;  // a new time line starts here (see above)
  };
  // silence_ns: how long no frame had arrived when this one did (0: not
  // known; no pause is then taken).
  Frame push(std::int64_t pts, bool keyframe, std::int64_t silence_ns = 0);

  // A new connection: a new time line. Once a whole GOP was seen, it starts
  // at the depth learned (the same camera reconnecting sends the same GOP
  // structure), else at kStartDepth.
  void restart();

  int depth() const { return depth_; }      // in use
  int learned() const { return learned_; }  // deepest reordering seen
  // Frame spacing: the smallest step between the latest presentation times
  // seen (0 until two frames are in).
  std::int64_t frame_ns() const;

 private:
  std::int64_t step_ns() const;  // frame_ns(), or the default until known
  void start_line(std::int64_t pts);
  void insert(std::int64_t pts, bool real);

  struct Entry {
    std::int64_t pts;
    bool real;  // false: synthetic, before the time line's first frame
  };
  std::int64_t default_frame_ns_;
  std::vector<Entry> top_;  // the largest PTS seen on this line, ascending
  bool started_ = false;
  bool have_prev_ = false;
  std::int64_t prev_dts_ = 0;
  int depth_ = kStartDepth;
  int learned_ = 0;
  int gop_depth_ = 0;       // deepest reordering since the last keyframe
  bool gop_open_ = false;   // a keyframe was seen on this line
  bool gop_whole_ = false;  // a whole GOP was seen on this line
  bool trusted_ = false;    // a whole GOP was ever seen: learned_ holds
};

}  // namespace zaulek::media
