#include "server/playback/player.h"

#include <algorithm>

namespace zaulek::server::playback {
namespace {

constexpr std::int64_t kMaxStepNs = 10'000'000'000;  // a frame spacing beyond this is not one

}  // namespace

bool valid_speed(int speed) {
  return speed == 1 || speed == 2 || speed == 4 || speed == 8;
}

Player::Player(std::int64_t from_ns, int speed) : target_ns_(from_ns), speed_(speed) {}

void Player::push(Frame f) {
  // Segment boundaries: a hole between the end of the last frame and this
  // one (frames skipped at high speed count too).
  const bool new_segment = have_prev_ && f.segment != prev_segment_;
  std::int64_t hole = 0;
  if (new_segment) {
    hole = f.dts_ns - (prev_dts_ + prev_step_);
  } else if (have_prev_) {
    const std::int64_t step = f.dts_ns - prev_dts_;
    if (step > 0 && step < kMaxStepNs) prev_step_ = step;
  }
  have_prev_ = true;
  prev_dts_ = f.dts_ns;
  prev_segment_ = f.segment;
  const bool gap = new_segment && hole > kGapToleranceNs;

  if ((need_key_ || speed_ > 4) && !f.keyframe) {
    ++skipped_;
    return;
  }
  need_key_ = false;

  if (!started_) {
    // The first keyframe of a start or seek: it begins where the media
    // time line stands.
    started_ = true;
    place(f);
    const std::int64_t media_pts = next_media_ns_ + (f.pts_ns - f.dts_ns) + cts_boost_;
    Output s;
    s.kind = Output::Kind::start;
    s.at_ns = f.pts_ns;
    if (f.pts_ns > target_ns_ + kGapToleranceNs) {
      // No footage at T: say so, and start where footage begins.
      Output g;
      g.kind = Output::Kind::gap;
      g.time_ns = target_ns_;
      g.at_ns = f.pts_ns;
      g.media_ns = media_pts;
      control(g);
      target_ns_ = f.pts_ns;
    }
    s.time_ns = target_ns_;
    s.media_ns = std::max(target_ns_ - offset_ns_ + cts_boost_, media_pts);
    s.speed = speed_;
    control(s);
    held_ = std::move(f);
    return;
  }

  const bool had_held = held_.has_value();
  if (held_) {
    // The held frame lasts until this one (over a gap: until the end of
    // the footage before it).
    std::int64_t duration = f.dts_ns - held_->dts_ns - (gap ? hole : 0);
    if (duration <= 0 || duration > kMaxStepNs) duration = prev_step_;
    emit(*held_, duration);
    held_.reset();
  }
  // After a gap, or a frame released early at the edge: continue the media
  // time line where it stands (no hole a MediaSource would stop at).
  if (gap || !had_held || new_segment || media_behind(f)) place(f);
  if (gap) {
    Output g;
    g.kind = Output::Kind::gap;
    g.time_ns = shown_end_ns_;
    g.at_ns = f.pts_ns;
    g.media_ns = next_media_ns_ + (f.pts_ns - f.dts_ns) + cts_boost_;
    control(g);
  }
  held_ = std::move(f);
}

bool Player::media_behind(const Frame& f) const {
  return f.dts_ns - offset_ns_ < next_media_ns_;
}

// Where a frame that does not simply follow the last one goes: after the
// last decode time, and presented after everything shown so far (two files
// may differ in composition offset: the recorder's time line lowers its
// reorder depth once; presentation must not go back).
// The muxer lays each fragment where the last one's duration ends: decode
// times cannot jump; a later presentation is a larger composition offset,
// kept for what follows.
void Player::place(const Frame& f) {
  offset_ns_ = f.dts_ns - next_media_ns_;
  cts_boost_ = std::max<std::int64_t>(
      0, shown_media_end_ - (next_media_ns_ + std::max<std::int64_t>(f.pts_ns - f.dts_ns, 0)));
}

void Player::emit(const Frame& f, std::int64_t duration_ns) {
  Output o;
  o.kind = Output::Kind::frame;
  o.dts_ns = std::max(f.dts_ns - offset_ns_, next_media_ns_);
  o.pts_ns = o.dts_ns + std::max<std::int64_t>(f.pts_ns - f.dts_ns, 0) + cts_boost_;
  o.duration_ns = duration_ns;
  next_media_ns_ = o.dts_ns + duration_ns;
  shown_media_end_ = std::max(shown_media_end_, o.pts_ns + duration_ns);
  shown_end_ns_ = std::max(shown_end_ns_, f.pts_ns + duration_ns);
  ready_bytes_ += f.data ? f.data->size() : 0;
  ++ready_frames_;
  o.frame = f;
  ready_.push_back(std::move(o));
}

void Player::at_edge(bool flush) {
  if (flush && held_) {
    emit(*held_, prev_step_);
    held_.reset();
  }
  if (started_ && !live_said_ && ready_frames_ == 0) {
    live_said_ = true;
    Output o;
    o.kind = Output::Kind::live;
    control(o);
  }
}

void Player::seek(std::int64_t to_ns) {
  ready_.clear();  // frames and messages of the old position
  ready_frames_ = 0;
  ready_bytes_ = 0;
  held_.reset();
  next_media_ns_ = sent_media_end_;
  shown_media_end_ = sent_shown_end_;
  target_ns_ = to_ns;
  started_ = false;
  need_key_ = true;
  anchored_ = false;
  live_said_ = false;
  have_prev_ = false;
}

void Player::set_speed(int speed) {
  if (speed_ > 4 && speed <= 4) need_key_ = true;  // the frames after a skipped one need a key
  if (speed_ <= 4 && speed > 4) keep_keyframes();
  speed_ = speed;
  anchored_ = false;
  Output o;
  o.kind = Output::Kind::speed;
  o.speed = speed;
  ack(o);
}

// Keyframes only from now on, also of what was read ahead: from its first
// keyframe on the other frames go (those before it follow the frames sent),
// each frame kept lasts until the next one (media time has no hole), and
// the last one kept waits again for its duration.
void Player::keep_keyframes() {
  if (held_ && !held_->keyframe) {
    held_.reset();
    ++skipped_;
  }
  std::deque<Output> kept;
  Output* last = nullptr;  // the last frame kept
  bool key = false;        // frames before the first keyframe follow what was sent: kept
  for (auto& o : ready_) {
    if (o.kind == Output::Kind::frame && o.frame.keyframe) key = true;
    if (o.kind == Output::Kind::frame && !o.frame.keyframe && key) {
      --ready_frames_;
      ready_bytes_ -= o.frame.data ? o.frame.data->size() : 0;
      ++skipped_;
      continue;
    }
    if (o.kind == Output::Kind::frame && last) last->duration_ns = o.dts_ns - last->dts_ns;
    kept.push_back(std::move(o));
    if (kept.back().kind == Output::Kind::frame) last = &kept.back();
  }
  ready_ = std::move(kept);
  if (held_) {
    if (last) last->duration_ns = held_->dts_ns - offset_ns_ - last->dts_ns;
    recount_shown();
    return;
  }
  // Nothing held: the last keyframe kept is held again (unless messages
  // follow it: then it keeps its duration and media time moves on).
  if (!ready_.empty() && ready_.back().kind == Output::Kind::frame) {
    Output o = std::move(ready_.back());
    ready_.pop_back();
    --ready_frames_;
    ready_bytes_ -= o.frame.data ? o.frame.data->size() : 0;
    next_media_ns_ = o.dts_ns;
    held_ = std::move(o.frame);
  }
  recount_shown();
}

// The end of what is shown, of the frames sent and those ready.
void Player::recount_shown() {
  shown_media_end_ = sent_shown_end_;
  for (const auto& o : ready_)
    if (o.kind == Output::Kind::frame)
      shown_media_end_ = std::max(shown_media_end_, o.pts_ns + o.duration_ns);
}

void Player::pause() {
  paused_ = true;
  live_said_ = false;
  Output o;
  o.kind = Output::Kind::paused;
  ack(o);
}

void Player::play() {
  paused_ = false;
  anchored_ = false;
  Output o;
  o.kind = Output::Kind::playing;
  ack(o);
}

std::optional<Output> Player::take(MonoTime now) {
  auto pop = [this](std::deque<Output>& q) {
    Output o = std::move(q.front());
    q.pop_front();
    if (o.kind == Output::Kind::frame) {
      --ready_frames_;
      ready_bytes_ -= o.frame.data ? o.frame.data->size() : 0;
      sent_media_end_ = o.dts_ns + o.duration_ns;
      sent_shown_end_ = std::max(sent_shown_end_, o.pts_ns + o.duration_ns);
    }
    return o;
  };
  if (!acks_.empty()) return pop(acks_);
  if (ready_.empty()) return std::nullopt;
  const Output& o = ready_.front();
  if (o.kind != Output::Kind::frame) return pop(ready_);
  if (paused_) return std::nullopt;
  if (!anchored_) {
    // Frames before the start time go at once: the player skips them.
    if (o.frame.pts_ns < target_ns_) return pop(ready_);
    anchored_ = true;
    anchor_mono_ = now;
    anchor_media_ = o.dts_ns;
    return pop(ready_);
  }
  if (now >= due(o)) return pop(ready_);
  return std::nullopt;
}

MonoTime Player::due(const Output& o) const {
  const std::int64_t ahead = (o.dts_ns - anchor_media_) / speed_;
  return anchor_mono_ + std::chrono::nanoseconds(ahead) - kLead;
}

std::optional<MonoTime> Player::next_due(MonoTime now) const {
  if (!acks_.empty()) return now;
  if (ready_.empty()) return std::nullopt;
  const Output& o = ready_.front();
  if (o.kind != Output::Kind::frame || !anchored_)
    return paused_ && o.kind == Output::Kind::frame ? std::nullopt : std::optional<MonoTime>(now);
  if (paused_) return std::nullopt;
  return std::max(now, due(o));
}

}  // namespace zaulek::server::playback
