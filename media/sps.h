// The picture size from an H.264 or H.265 sequence parameter set, without
// GStreamer's parsers: what a native ingest needs to label a segment and to
// notice a resolution change (a new segment). Bounded and total: any input,
// however hostile, gives a size or nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "media/codec.h"

namespace zaulek::media {

struct PictureSize {
  int width = 0;
  int height = 0;
  bool operator==(const PictureSize&) const = default;
};

// `nal` is one SPS NAL unit with its header (H.264 type 7, H.265 type 33),
// emulation-prevention bytes included, no start code. Cropping applied.
std::optional<PictureSize> sps_picture_size(Codec codec, std::span<const std::uint8_t> nal);

}  // namespace zaulek::media
