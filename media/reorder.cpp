#include "media/reorder.h"

#include <algorithm>

namespace zaulek::media {

std::int64_t RtpUnwrap::ticks(std::uint32_t rtp) {
  if (have_) ticks_ += static_cast<std::int32_t>(rtp - last_);
  last_ = rtp;
  have_ = true;
  return ticks_;
}

std::int64_t paced_step(std::int64_t media_elapsed, std::int64_t wall_elapsed, std::int64_t delta) {
  const std::int64_t wall = std::max<std::int64_t>(0, wall_elapsed);
  const std::int64_t limit = wall + wall / 1000 + kPaceSlack;
  if (media_elapsed + delta <= limit) return delta;
  return std::clamp(limit - media_elapsed, std::min(kMinStep, delta), delta);
}

std::int64_t DecodeTimes::frame_ns() const {
  std::int64_t best = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : top_) {
    if (!e.real) continue;
    if (prev && e.pts > prev->pts && (best == 0 || e.pts - prev->pts < best))
      best = e.pts - prev->pts;
    prev = &e;
  }
  return best;
}

std::int64_t DecodeTimes::step_ns() const {
  const std::int64_t known = frame_ns();
  return known > 0 ? known : default_frame_ns_;
}

void DecodeTimes::restart() {
  started_ = false;
  have_prev_ = false;
  top_.clear();
  gop_open_ = false;
  gop_whole_ = false;
  gop_depth_ = 0;
  depth_ = trusted_ ? learned_ : kStartDepth;
}

// A new line: `depth_` synthetic PTS one frame apart before the first, so
// that the first frames' decode times leave room for reordering.
void DecodeTimes::start_line(std::int64_t pts) {
  const std::int64_t step = step_ns();
  top_.clear();
  for (int i = depth_; i >= 1; --i) top_.push_back({pts - i * step, false});
  gop_open_ = false;
  gop_whole_ = false;
  gop_depth_ = 0;
  started_ = true;
}

void DecodeTimes::insert(std::int64_t pts, bool real) {
  auto at = std::upper_bound(top_.begin(), top_.end(), pts,
                             [](std::int64_t v, const Entry& e) { return v < e.pts; });
  top_.insert(at, Entry{pts, real});
  if (top_.size() > static_cast<std::size_t>(kMaxDepth) + 1) top_.erase(top_.begin());
}

DecodeTimes::Frame DecodeTimes::push(std::int64_t pts, bool keyframe, std::int64_t silence_ns) {
  Frame out;
  if (!started_) {
    start_line(pts);
  } else {
    std::int64_t newest = top_.back().pts;
    if (pts > newest + kMaxForward || pts < prev_dts_ - kMaxBack) {
      out.jump = true;  // the camera's clock leapt: nothing before relates
      start_line(pts);
    } else if (const std::int64_t step = step_ns(), lead = pts - newest;
               lead > std::min((kMaxDepth + 1) * step, kPauseLead) && silence_ns >= lead / 2) {
      // A pause (see the header): the frames before it are no candidates
      // for this one's decode time. Room for the depth in use below it, as
      // on a new line; decode time crosses the pause here, without a jump.
      for (int i = depth_; i >= 1; --i) insert(pts - i * step, false);
    }
  }

  // Depth of this frame: how many frames seen earlier present after it.
  const int deeper = static_cast<int>(
      top_.end() - std::upper_bound(top_.begin(), top_.end(), pts,
                                    [](std::int64_t v, const Entry& e) { return v < e.pts; }));
  if (keyframe) {
    if (gop_open_) {
      // A whole GOP lies behind: its reordering is the stream's.
      learned_ = std::max(learned_, gop_depth_);
      gop_whole_ = true;
      trusted_ = true;
    }
    gop_open_ = true;
    gop_depth_ = 0;
    // Lowering the depth is safe here: in a closed GOP nothing after the
    // keyframe presents before it.
    if (gop_whole_ && deeper == 0 && learned_ < depth_) depth_ = learned_;
  }
  gop_depth_ = std::max(gop_depth_, std::min(deeper, kMaxDepth));
  if (deeper > depth_) {
    // Reordered deeper than assumed: no decode time fits both orders.
    depth_ = std::min(deeper, kMaxDepth);
    learned_ = std::max(learned_, depth_);
    out.jump = true;
  }

  for (const Entry& e : top_) {
    if (e.real && e.pts == pts) out.jump = true;  // two frames cannot present at once
  }
  insert(pts, true);
  const std::int64_t step = step_ns();
  while (top_.size() < static_cast<std::size_t>(depth_) + 1)
    top_.insert(top_.begin(), Entry{top_.front().pts - step, false});
  out.dts = std::min(top_[top_.size() - 1 - static_cast<std::size_t>(depth_)].pts, pts);
  if (!out.jump && have_prev_ && out.dts <= prev_dts_) out.jump = true;
  prev_dts_ = out.dts;
  have_prev_ = true;
  return out;
}

}  // namespace zaulek::media
