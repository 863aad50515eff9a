#include "media/record/timeline.h"

namespace zaulek::media {

std::int64_t rtp_ticks_to_ns(std::int64_t ticks, std::uint32_t clock_rate) {
  const std::int64_t rate = clock_rate > 0 ? clock_rate : 90'000;
  return ticks / rate * 1'000'000'000LL + ticks % rate * 1'000'000'000LL / rate;
}

void Timeline::restart() {
  anchored_ = false;
  ntp_seen_ = false;
  have_last_ = false;
  reorder_.restart();
  rtp_clock_.reset();
}

std::int64_t Timeline::rtp_pts_ns(std::uint32_t rtp_time, std::uint32_t clock_rate) {
  return rtp_ticks_to_ns(rtp_clock_.ticks(rtp_time), clock_rate);
}

Timeline::Timed Timeline::frame(std::int64_t pts_ns, bool keyframe,
                                std::optional<std::int64_t> ntp_wall, MonoTime mono,
                                WallTime wall) {
  Timed out;
  const std::int64_t silence =
      have_last_ ? std::chrono::duration_cast<std::chrono::nanoseconds>(mono - last_mono_).count()
                 : 0;
  last_mono_ = mono;
  const DecodeTimes::Frame d = reorder_.push(pts_ns, keyframe, silence);
  const std::int64_t dts_ns = d.dts;
  out.cts_ns = pts_ns - dts_ns;

  // Frame spacing from the presentation times (not from DTS steps, which
  // skip ahead once when the reorder depth is lowered).
  if (const std::int64_t f = reorder_.frame_ns(); f > 1'000'000 && f < 1'000'000'000) frame_ns_ = f;
  // Media time: the derived DTS made continuous. A jump back, or forward by
  // more than 10 s, is replaced by one frame's duration and counted.
  // Nor may it run ahead of our own clock (media/reorder.h paced_step).
  if (!have_last_) {
    media_ns_ = 0;
    pace_mono_ = mono;
  } else {
    std::int64_t delta = dts_ns - last_dts_;
    if (d.jump || delta <= 0 || delta > 10'000'000'000LL) {
      ++counters_.timestamp_jumps;
      delta = frame_ns_;
    }
    const std::int64_t paced = paced_step(
        media_ns_, std::chrono::duration_cast<std::chrono::nanoseconds>(mono - pace_mono_).count(),
        delta);
    if (paced != delta) ++counters_.timestamp_jumps;
    media_ns_ += paced;
  }
  last_dts_ = dts_ns;
  have_last_ = true;
  out.media_ns = media_ns_;

  // Wall time: the arrival of the first frame, or the sender report's NTP
  // time whenever a frame carries it. See docs/design/time.md.
  if (!anchored_) {
    anchor_media_ = media_ns_;
    anchor_wall_ns_ = to_unix_ns(wall);
    anchored_ = true;
  }
  if (ntp_wall && *ntp_wall > 0) {
    ++counters_.ntp_frames;
    anchor_media_ = media_ns_;
    anchor_wall_ns_ = *ntp_wall - out.cts_ns;  // the SR maps presentation time
    if (!ntp_seen_) {
      // How far the camera's clock (via its sender reports) is from ours at
      // arrival: a wrong camera clock shows here.
      ntp_seen_ = true;
      counters_.ntp_offset_ms = (anchor_wall_ns_ - to_unix_ns(wall)) / 1'000'000;
      out.first_ntp = true;
    }
  }
  return out;
}

}  // namespace zaulek::media
