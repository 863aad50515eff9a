// The segment files of one camera (internal to media/): opens a segment at a
// keyframe (after checking the disk has room), writes stamped access units
// into it, cuts it where media/record/segment_span.h says and closes it
// (media/segment.h: fsync, rename from *.ts.part, named by segment_stem).
// No GStreamer, no Asio; called on the recorder's strand.
#pragma once

#include "media/record/segment_span.h"
#include "media/recorder.h"
#include "media/segment.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace zaulek::media {

class Segmenter {
 public:
  explicit Segmenter(const CameraConfig& cfg);

  bool is_open() const { return writer_ != nullptr; }
  // The open segment ends before this frame (see SegmentSpan::cut_before).
  bool cut_before(std::int64_t media_ns, std::int64_t cts_ns, bool keyframe,
                  std::int64_t frame_ns) const {
    return is_open() && span_.cut_before(media_ns, cts_ns, keyframe, frame_ns);
  }

  // Opens a segment whose first frame (media, cts) the time line places at
  // wall_ns. The error's message is the reason to fail the pipeline with.
  Status open(std::int64_t wall_ns, std::int64_t media_ns, std::int64_t cts_ns, Codec codec,
              int width, int height, MonoTime now);
  // Appends one byte-stream access unit to the open segment.
  Status add(std::span<const std::uint8_t> au, std::int64_t media_ns, std::int64_t cts_ns,
             bool keyframe, MonoTime now);
  // Writes/syncs what the policy says is due.
  Status tick(MonoTime now);

  // Closes the open segment (its last frame lasting frame_ns); the segment
  // when its file is complete on disk, nullopt when there was none, nothing
  // reached it or it is left for reconciliation (each logged with `why`).
  std::optional<SegmentInfo> close(const char* why, std::int64_t frame_ns);

  // Bytes of the open segment that reached the kernel.
  std::uint64_t written() const { return writer_ ? writer_->written() : 0; }
  // The live edge: the open segment's first frame and the end of its last
  // one; nullopt when none is open or it has no frame yet.
  struct Edge {
    std::int64_t start_ns = 0;
    std::int64_t end_ns = 0;
  };
  std::optional<Edge> edge(std::int64_t frame_ns) const;

 private:
  const CameraConfig& cfg_;
  SegmentSpan span_;
  std::unique_ptr<SegmentWriter> writer_;
  SegmentInfo info_;
};

}  // namespace zaulek::media
