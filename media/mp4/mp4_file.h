// One non-fragmented MP4 file from access units, remuxed without
// re-encoding (libavformat's MP4 muxer, set up as live view's is:
// media/mp4/av_mp4.h), handed to a sink front to back, every byte once and
// final when handed over: the caller can hash the file and wrap it in a ZIP
// entry as it is made, with no second pass over 1.8 GB
// (docs/design/export.md).
//
// The muxer's one mdat, whose size it writes at its start after the last
// sample, is cut into boxes of about kChunkBytes (1 MiB) here: each box is closed,
// its size set, before its bytes leave. The muxer's own size write at the
// end is dropped and its moov (at the end, sample tables only in memory
// until then: about 20 bytes a frame) is patched in memory before it leaves.
// Sample offsets are the muxer's: the 8 header bytes of each box are
// written through the muxer's output between samples, so its positions are
// the file's.
//
// Times are 90 kHz ticks relative to the instant playback should start (the
// export's `from`): the frames of the GOP before it have negative times,
// and the edit list the muxer writes starts presentation at 0. finish()
// then shortens the edit (and the movie's duration) to exactly `duration`,
// so the file shows [0, duration) even where the last decoded frames are
// presented later (B-frames). Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "core/error.h"
#include "media/codec.h"

namespace zaulek::media::mp4 {

class Mp4File {
 public:
  // Takes the file's next bytes (valid during the call). An error stops the
  // file: write() and finish() return it.
  using Sink = std::function<Status(std::span<const std::uint8_t>)>;
  // An mdat box is closed at the first sample boundary past this many bytes
  // (the muxer's own chunks are at most 1 MiB; 8 header bytes per MiB).
  static constexpr std::int64_t kChunkBytes = 1 << 20;

  ~Mp4File();  // an unfinished file is abandoned (the caller removes what the sink wrote)
  Mp4File(const Mp4File&) = delete;
  Mp4File& operator=(const Mp4File&) = delete;

  // `params` the parameter sets, byte-stream.
  static Result<std::unique_ptr<Mp4File>> create(Sink sink, Codec codec, int width, int height,
                                                 std::span<const std::uint8_t> params);

  // One access unit (byte-stream; parameter sets and delimiters dropped, they
  // are in the sample entry). dts strictly increasing, pts >= dts. The
  // previous sample lasts until this one's dts (a gap holds the last frame).
  Status write(std::span<const std::uint8_t> au, std::int64_t dts_90k, std::int64_t pts_90k,
               bool keyframe);

  // Hands over the last mdat box and the moov (the last sample lasting
  // `last_duration_90k`, the presented duration set to `duration_90k` when
  // shorter than the samples reach). Returns the file's size. The sink's
  // errors come back as they are.
  Result<std::int64_t> finish(std::int64_t last_duration_90k, std::int64_t duration_90k);

  std::int64_t samples() const { return samples_; }

 private:
  struct Impl;
  explicit Mp4File(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::int64_t samples_ = 0;
};

}  // namespace zaulek::media::mp4
