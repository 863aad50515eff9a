// One access unit on its way from an ingest to the segment writer (internal
// to media/): held back one frame (so that an untimed continuation can still
// join it) or waiting in the events-mode pre-event buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

struct _GstSample;  // GStreamer's; only media/record/gst_ingest.cpp looks inside

namespace zaulek::media {

// An owned reference to a GStreamer sample (the GStreamer ingest's frames),
// movable through asio::post. Its members are defined in gst_ingest.cpp.
class SampleRef {
 public:
  SampleRef() = default;
  explicit SampleRef(_GstSample* adopt) : s_(adopt) {}
  SampleRef(SampleRef&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  SampleRef& operator=(SampleRef&& o) noexcept;
  ~SampleRef();

  explicit operator bool() const { return s_ != nullptr; }
  _GstSample* get() const { return s_; }
  // Bytes in its buffer (0 without one).
  std::size_t size() const;
  // Calls fn with the buffer's bytes mapped; false when it cannot be mapped.
  bool read(const std::function<void(std::span<const std::uint8_t>)>& fn) const;

 private:
  _GstSample* s_ = nullptr;
};

struct Frame {
  SampleRef sample;                 // GStreamer ingest: the unit, as the parser gave it
  std::vector<std::uint8_t> extra;  // untimed continuation buffers
  std::vector<std::uint8_t> data;   // native ingest: the whole unit, byte-stream
  bool native = false;
  std::int64_t media_ns = 0;  // media/record/timeline.h
  std::int64_t cts_ns = 0;
  bool keyframe = false;

  bool empty() const { return !sample && !native; }
  std::size_t size() const { return sample.size() + extra.size() + data.size(); }
};

}  // namespace zaulek::media
