// The recorder's time line (internal to media/). Pure: no clock reads, no I/O;
// the caller passes the times it read from its Clock. One per camera; a new
// ingest instance (reconnect) calls restart().
//
// Each frame arrives with its presentation time (RTP, in decode order). From
// it come (see docs/design/time.md):
//  - its decode time (B-frames: media/reorder.h) and composition offset
//    (cts = PTS - DTS >= 0);
//  - media time: the decode times made continuous across the instance. A
//    jump back, or forward by more than 10 s, or one that DecodeTimes reports,
//    becomes one frame's duration; media time may not run ahead of the
//    monotonic clock (paced_step). Each correction is counted;
//  - wall time: an anchor (wall, media) advanced by media time. The anchor is
//    the arrival time of the first frame, replaced by the RTCP sender
//    report's NTP time whenever a frame carries one.
#pragma once

#include "core/clock.h"
#include "media/reorder.h"

#include <cstdint>
#include <optional>

namespace zaulek::media {

constexpr std::int64_t kDefaultFrameNs = 40'000'000;  // 25 fps until we know better

// RTP ticks (64-bit, media/reorder.h RtpUnwrap) at clock_rate Hz to ns; split
// so that a long connection cannot overflow. A rate of 0 is taken as 90 kHz.
std::int64_t rtp_ticks_to_ns(std::int64_t ticks, std::uint32_t clock_rate);

class Timeline {
 public:
  struct Timed {
    std::int64_t media_ns = 0;  // continuous media time of its decode
    std::int64_t cts_ns = 0;    // composition offset (PTS - DTS)
    bool first_ntp = false;     // the first sender report time of this instance
  };
  struct Counters {
    std::uint64_t timestamp_jumps = 0;  // re-anchored or paced frames
    std::uint64_t ntp_frames = 0;       // frames timed from a sender report
    std::int64_t ntp_offset_ms = 0;     // sender-report time minus arrival (first SR)
  };

  // A new ingest instance: a new time line (media time starts again at 0 and
  // is anchored anew; the frame duration and learned reorder depth are kept).
  void restart();

  // The presentation time of an RTP timestamp on this instance, in ns.
  std::int64_t rtp_pts_ns(std::uint32_t rtp_time, std::uint32_t clock_rate);

  // A frame duration the stream states (GStreamer's buffer duration).
  void set_frame_ns(std::int64_t ns) { frame_ns_ = ns; }

  // Times one frame, in decode order. ntp_wall: its presentation time from
  // an RTCP sender report (ns since the Unix epoch), when known. mono and
  // wall: the clocks at its arrival.
  Timed frame(std::int64_t pts_ns, bool keyframe, std::optional<std::int64_t> ntp_wall,
              MonoTime mono, WallTime wall);

  // Wall time (ns since the Unix epoch) at which the frame timed (media, cts)
  // is presented.
  std::int64_t wall_ns(std::int64_t media_ns, std::int64_t cts_ns) const {
    return anchor_wall_ns_ + (media_ns - anchor_media_) + cts_ns;
  }

  std::int64_t frame_ns() const { return frame_ns_; }
  std::int64_t media_ns() const { return media_ns_; }
  const Counters& counters() const { return counters_; }

 private:
  bool anchored_ = false;
  bool ntp_seen_ = false;
  bool have_last_ = false;
  std::int64_t anchor_media_ = 0;
  std::int64_t anchor_wall_ns_ = 0;
  std::int64_t last_dts_ = 0;  // the derived DTS of the last frame
  DecodeTimes reorder_;        // PTS (RTP) -> DTS; keeps the learned depth
  MonoTime pace_mono_{};       // when media time 0 of this instance arrived
  MonoTime last_mono_{};       // when the last frame arrived (a pause: media/reorder.h)
  RtpUnwrap rtp_clock_;
  std::int64_t media_ns_ = 0;  // continuous media time of the last frame
  std::int64_t frame_ns_ = kDefaultFrameNs;
  Counters counters_;
};

}  // namespace zaulek::media
