// The kept GOP (internal to media/live; pure, header-only): what arrived
// since the last keyframe, so that a new viewer starts there at once
// instead of waiting for the camera's next keyframe. Bounded in count and
// bytes: a GOP past either is dropped whole and nothing is kept until the
// next keyframe (a viewer joining then waits for it; counted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace zaulek::media::live {

template <class T>
class GopCache {
 public:
  GopCache(std::size_t max_units, std::size_t max_bytes)
      : max_units_(max_units), max_bytes_(max_bytes) {}

  // Keeps `unit` (of `bytes` bytes); a keyframe starts a new GOP. False when
  // it is not kept: no keyframe yet, or the GOP overflowed.
  bool push(T unit, std::size_t bytes, bool keyframe) {
    if (keyframe) {
      clear();
      broken_ = false;
    }
    if (broken_ || (units_.empty() && !keyframe)) return false;
    if (units_.size() >= max_units_ || bytes_ + bytes > max_bytes_) {
      ++overflows_;
      clear();
      broken_ = true;
      return false;
    }
    bytes_ += bytes;
    units_.push_back(std::move(unit));
    return true;
  }

  void clear() {
    units_.clear();
    bytes_ = 0;
  }
  // Nothing is kept until the next keyframe (the stream broke: a new instance).
  void reset() {
    clear();
    broken_ = true;
  }

  const std::vector<T>& units() const { return units_; }
  std::size_t bytes() const { return bytes_; }
  std::uint64_t overflows() const { return overflows_; }

 private:
  std::size_t max_units_;
  std::size_t max_bytes_;
  std::vector<T> units_;
  std::size_t bytes_ = 0;
  bool broken_ = true;  // waiting for a keyframe
  std::uint64_t overflows_ = 0;
};

}  // namespace zaulek::media::live
