// libFuzzer target: the RTP depayloader (media/rtp.h) and the SPS parser
// (media/sps.h) on hostile bytes. Input: byte 0 picks the codec (even: H.264,
// odd: H.265); the rest is a sequence of packets, each prefixed by its
// length (2 bytes, big-endian). Every packet also goes to the SPS parser.
#include <cstddef>
#include <cstdint>
#include <span>

#include "media/rtp.h"
#include "media/sps.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace zaulek::media;
  if (size < 1) return 0;
  const Codec codec = (data[0] & 1) != 0 ? Codec::h265 : Codec::h264;
  rtp::Depayloader d(codec);
  std::size_t o = 1;
  while (o + 2 <= size) {
    const std::size_t n = (static_cast<std::size_t>(data[o]) << 8) | data[o + 1];
    o += 2;
    if (n > size - o) break;
    std::span<const std::uint8_t> packet(data + o, n);
    if (const auto* u = d.push(packet)) {
      if (u->data.size() > rtp::kMaxUnitBytes) __builtin_trap();
    }
    if (auto s = sps_picture_size(codec, packet); s && (s->width <= 0 || s->height <= 0))
      __builtin_trap();
    o += n;
  }
  (void)d.flush();
  return 0;
}
