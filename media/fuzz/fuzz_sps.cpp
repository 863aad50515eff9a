// libFuzzer target: the SPS parser (media/sps.h) on hostile bytes. Byte 0
// picks the codec (even: H.264, odd: H.265); the rest is one SPS NAL unit.
// Built with UBSan: a signed overflow in the exp-Golomb arithmetic traps.
#include <cstddef>
#include <cstdint>
#include <span>

#include "media/sps.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace zaulek::media;
  if (size < 1) return 0;
  const Codec codec = (data[0] & 1) != 0 ? Codec::h265 : Codec::h264;
  if (auto s = sps_picture_size(codec, std::span(data + 1, size - 1))) {
    if (s->width <= 0 || s->height <= 0 || s->width > 16384 || s->height > 16384) __builtin_trap();
  }
  return 0;
}
