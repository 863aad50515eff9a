// The events-mode gate (internal to media/). Pure: no clock reads, no I/O;
// the caller passes the monotonic time it read from its Clock.
//
// continuous: every frame is written. off: none (counted). events: frames are
// written while an event is active and for post_event after it stopped; the
// footage before an event waits in a pre-event buffer (PreRoll) that starts
// at the last keyframe at or before (newest - pre_event) and stays under a
// byte cap (whole GOPs dropped beyond it). When the gate opens the buffer is
// written first; when it closes the open segment ends.
#pragma once

#include "core/clock.h"
#include "media/recorder.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>

namespace zaulek::media {

class EventGate {
 public:
  enum class Route {
    write,  // to the segment (events mode: after the pre-event buffer)
    drop,   // not recorded (mode off)
    hold,   // events mode outside an event: into the pre-event buffer
  };

  EventGate(RecordingMode mode, std::chrono::milliseconds post_event)
      : mode_(mode), post_event_(post_event) {}

  // An event started (true) or stopped (false) at now.
  void event(bool active, MonoTime now) {
    if (active) {
      active_ = true;
    } else if (active_) {
      active_ = false;
      post_until_ = now + post_event_;
    }
  }

  // Where a frame handed on at now goes.
  Route route(MonoTime now) const {
    switch (mode_) {
      case RecordingMode::continuous:
        return Route::write;
      case RecordingMode::off:
        return Route::drop;
      case RecordingMode::events:
        break;
    }
    return is_open(now) ? Route::write : Route::hold;
  }

  // Events mode with no event and the post-event time over: an open segment
  // ends (even if no frame arrives to say so).
  bool closed(MonoTime now) const { return mode_ == RecordingMode::events && !is_open(now); }

 private:
  bool is_open(MonoTime now) const { return active_ || now < post_until_; }

  RecordingMode mode_;
  std::chrono::milliseconds post_event_;
  bool active_ = false;
  MonoTime post_until_{};
};

// The pre-event buffer. F is the frame type: movable, with `media_ns` (its
// media time) and `keyframe` members.
template <class F>
class PreRoll {
 public:
  PreRoll(std::chrono::milliseconds pre_event, std::size_t max_bytes)
      : pre_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(pre_event).count()),
        max_bytes_(max_bytes) {}

  // Holds a frame of `bytes` bytes; returns how many frames this did not
  // record: the frame itself when the buffer is empty and it is no keyframe
  // (nothing could decode it), older frames trimmed off the front.
  std::size_t hold(F f, std::size_t bytes) {
    if (frames_.empty() && !f.keyframe) return 1;
    bytes_ += bytes;
    sizes_.push_back(bytes);
    frames_.push_back(std::move(f));
    return trim();
  }

  // The frames held, oldest first (a keyframe first).
  std::deque<F>& frames() { return frames_; }
  std::size_t bytes() const { return bytes_; }
  bool empty() const { return frames_.empty(); }
  void clear() {
    frames_.clear();
    sizes_.clear();
    bytes_ = 0;
  }

 private:
  // Keeps the buffer starting at the last keyframe at or before
  // (newest - pre_event), and under its byte cap (dropping whole GOPs).
  std::size_t trim() {
    const std::int64_t newest = frames_.back().media_ns;
    std::size_t keep_from = 0;
    for (std::size_t i = 0; i < frames_.size(); ++i) {
      if (frames_[i].media_ns > newest - pre_ns_) break;
      if (frames_[i].keyframe) keep_from = i;
    }
    std::size_t dropped = 0;
    auto drop_front = [&](std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) {
        bytes_ -= sizes_.front();
        sizes_.pop_front();
        frames_.pop_front();
        ++dropped;
      }
    };
    drop_front(keep_from);
    while (bytes_ > max_bytes_ && frames_.size() > 1) {
      std::size_t next_key = 1;
      while (next_key < frames_.size() && !frames_[next_key].keyframe) ++next_key;
      drop_front(next_key);  // no later keyframe: all of them
    }
    return dropped;
  }

  std::int64_t pre_ns_;
  std::size_t max_bytes_;
  std::deque<F> frames_;
  std::deque<std::size_t> sizes_;
  std::size_t bytes_ = 0;
};

}  // namespace zaulek::media
