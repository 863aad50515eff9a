// Image files checked without decoding them: what an upload claims to be
// (a site's plan, PNG or JPEG) is read from its own bytes, never from the
// Content-Type or a file name. The structure is walked (PNG chunks up to
// IEND, JPEG segments up to the scan and its EOI), so a truncated or padded
// file, a type that lies, or a header that does not add up is refused; the
// pixel size comes from the header (IHDR, SOFn) and is bounded. Nothing is
// decompressed here: the browser decodes, the server only vouches for type
// and size (a decoder would add a decompression-bomb surface for nothing).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/error.h"

namespace zaulek {

enum class ImageType { png, jpeg };
// "image/png", "image/jpeg".
std::string_view content_type(ImageType type);

struct ImageInfo {
  ImageType type = ImageType::png;
  int width = 0;  // pixels, > 0
  int height = 0;
};

struct ImageLimits {
  int max_side = 16384;                  // pixels per side (browsers' canvas limit)
  std::int64_t max_pixels = 64'000'000;  // width * height
};

// invalid_argument with a message that says what is wrong ("not a PNG or
// JPEG file", "PNG is truncated in chunk IDAT", "JPEG has no frame header
// before its scan", "image is 20000x100 pixels; at most 16384 per side").
Result<ImageInfo> inspect_image(std::string_view bytes, const ImageLimits& limits = {});

}  // namespace zaulek
