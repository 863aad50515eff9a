// Where segments are cut and how their frames are stamped (internal to
// media/). Pure: no clock reads, no I/O. Times in ns: media time and
// composition offset from media/record/timeline.h, wall time since the Unix
// epoch.
//
// A segment starts at a keyframe and is cut before the first keyframe
// presented at least `target` after the segment's first frame (half a frame of
// slack, so that early frames' jittery timestamps cannot push the cut a whole
// GOP later). Presentation time, not decode time: decode times step once when
// the reorder depth is lowered. Within a segment time is media time (smooth,
// exact durations); the wall clock only places the segment's start, never
// before the end of the previous segment. The segment ends with the frame
// presented last, which with B-frames is not the one decoded last.
#pragma once

#include <chrono>
#include <cstdint>

namespace zaulek::media {

class SegmentSpan {
 public:
  explicit SegmentSpan(std::chrono::nanoseconds target) : target_ns_(target.count()) {}

  bool open() const { return open_; }

  // The open segment ends before this frame.
  bool cut_before(std::int64_t media_ns, std::int64_t cts_ns, bool keyframe,
                  std::int64_t frame_ns) const {
    return open_ && keyframe &&
           media_ns + cts_ns - start_media_ - start_cts_ + frame_ns / 2 >= target_ns_;
  }

  // Where a segment whose first frame the time line puts at wall_ns starts.
  std::int64_t start_at(std::int64_t wall_ns) const {
    return wall_ns < last_end_ns_ ? last_end_ns_ : wall_ns;
  }

  // A segment starting at start_ns (from start_at) with the frame (media, cts).
  void begin(std::int64_t start_ns, std::int64_t media_ns, std::int64_t cts_ns) {
    open_ = true;
    start_ns_ = start_ns;
    last_wall_ns_ = start_ns;
    start_media_ = media_ns;
    start_cts_ = cts_ns;
  }

  // 90 kHz file timestamps of a frame of the open segment.
  struct Stamp {
    std::uint64_t pts90 = 0;
    std::uint64_t dts90 = 0;
  };
  Stamp stamp(std::int64_t media_ns, std::int64_t cts_ns, std::uint64_t origin90) const {
    const std::int64_t rel = media_ns - start_media_;
    Stamp s;
    s.dts90 = origin90 + static_cast<std::uint64_t>(rel * 9 / 100'000);
    s.pts90 = s.dts90 + static_cast<std::uint64_t>(cts_ns * 9 / 100'000);
    return s;
  }

  // A frame of the open segment was written.
  void written(std::int64_t media_ns, std::int64_t cts_ns) {
    const std::int64_t shown = start_ns_ + (media_ns - start_media_) + cts_ns - start_cts_;
    if (shown > last_wall_ns_) last_wall_ns_ = shown;
  }

  // Wall time of the open segment's first frame, and the end of its last
  // (presented) frame when that lasts frame_ns.
  std::int64_t start_ns() const { return start_ns_; }
  std::int64_t end_ns(std::int64_t frame_ns) const { return last_wall_ns_ + frame_ns; }

  // Ends the open segment; returns its end (the next one starts no earlier).
  std::int64_t end(std::int64_t frame_ns) {
    open_ = false;
    last_end_ns_ = end_ns(frame_ns);
    return last_end_ns_;
  }

 private:
  std::int64_t target_ns_;
  bool open_ = false;
  std::int64_t start_ns_ = 0;
  std::int64_t last_wall_ns_ = 0;
  std::int64_t start_media_ = 0;
  std::int64_t start_cts_ = 0;  // composition offset of the segment's first frame
  std::int64_t last_end_ns_ = 0;
};

}  // namespace zaulek::media
