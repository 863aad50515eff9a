// One stream's fragmented-MP4 muxer (internal to media/live): libavformat's
// MP4 muxer in-process (docs/design/live.md says why not our own boxes),
// writing into memory. An initialization segment (ftyp+moov, empty_moov)
// once, then one media segment (moof+mdat) per access unit.
//
// Access units come as byte-stream (Annex B); parameter sets go into the
// sample entry (avcC / hvcC, tag hvc1 for H.265), not into the samples.
// Times are 90 kHz ticks: decode time increasing, presentation >= decode.
// Not thread-safe; one owner (the feed's strand).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/error.h"
#include "media/codec.h"

namespace zaulek::media::live {

class Fmp4Muxer {
 public:
  ~Fmp4Muxer();
  Fmp4Muxer(const Fmp4Muxer&) = delete;
  Fmp4Muxer& operator=(const Fmp4Muxer&) = delete;

  // A muxer for this format; `params` the parameter sets, byte-stream.
  static Result<std::unique_ptr<Fmp4Muxer>> open(Codec codec, int width, int height,
                                                 std::span<const std::uint8_t> params);

  // ftyp+moov.
  const std::string& init() const { return init_; }

  // One access unit (byte-stream; its parameter sets are dropped) as one
  // moof+mdat. duration: the frame's, for the last sample of the fragment.
  Result<std::string> fragment(std::span<const std::uint8_t> au, std::int64_t dts_90k,
                               std::int64_t pts_90k, std::int64_t duration_90k, bool keyframe);

 private:
  struct Impl;
  explicit Fmp4Muxer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string init_;
  Codec codec_ = Codec::h264;
};

}  // namespace zaulek::media::live
