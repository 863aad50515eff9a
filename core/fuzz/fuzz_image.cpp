// libFuzzer target: the image check (core/image/image.h) on hostile uploads. A
// result must be a PNG or JPEG of a size within the limits; anything else
// an error, never a crash or an out-of-bounds read (ASan, UBSan).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/image/image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const zaulek::ImageLimits limits;
  auto r =
      zaulek::inspect_image(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (r && (r->width <= 0 || r->height <= 0 || r->width > limits.max_side ||
            r->height > limits.max_side ||
            static_cast<std::int64_t>(r->width) * r->height > limits.max_pixels))
    __builtin_trap();
  return 0;
}
