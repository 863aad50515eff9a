// One non-fragmented MP4 file from access units, remuxed without
// re-encoding (libavformat's MP4 muxer, set up as live view's is:
// media/mp4/av_mp4.h). Written front to back with the moov at the end: the
// samples go straight to the file and only the sample tables (a few bytes
// per frame) stay in memory, so a 1.8 GB export costs one pass over its
// bytes and no second copy (faststart would rewrite the whole file to move
// the moov to the front; a player reading a local file does not need it).
//
// Times are 90 kHz ticks relative to the instant playback should start (the
// export's `from`): the frames of the GOP before it have negative times,
// and the edit list the muxer writes starts presentation at 0. finish()
// then shortens the edit (and the movie's duration) to exactly `duration`,
// so the file shows [0, duration) even where the last decoded frames are
// presented later (B-frames). Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "core/error.h"
#include "media/codec.h"

namespace zaulek::media::mp4 {

class Mp4File {
 public:
  ~Mp4File();  // an unfinished file is left as it is (the caller removes it)
  Mp4File(const Mp4File&) = delete;
  Mp4File& operator=(const Mp4File&) = delete;

  // Creates `file` (O_EXCL: never overwrites); `params` the parameter sets, byte-stream.
  static Result<std::unique_ptr<Mp4File>> create(const std::filesystem::path& file, Codec codec,
                                                 int width, int height,
                                                 std::span<const std::uint8_t> params);

  // One access unit (byte-stream; parameter sets and delimiters dropped, they
  // are in the sample entry). dts strictly increasing, pts >= dts. The
  // previous sample lasts until this one's dts (a gap holds the last frame).
  Status write(std::span<const std::uint8_t> au, std::int64_t dts_90k, std::int64_t pts_90k,
               bool keyframe);

  // Writes the moov (the last sample lasting `last_duration_90k`), sets the
  // presented duration to `duration_90k` (when shorter than the samples
  // reach), fdatasyncs and closes. Returns the file's size. I/O errors
  // (ENOSPC) are resource_exhausted or unavailable, naming the file.
  Result<std::int64_t> finish(std::int64_t last_duration_90k, std::int64_t duration_90k);

  std::int64_t samples() const { return samples_; }

 private:
  struct Impl;
  explicit Mp4File(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::int64_t samples_ = 0;
};

}  // namespace zaulek::media::mp4
