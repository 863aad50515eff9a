// libFuzzer target: the segment reader (media/ts_reader.h) on hostile bytes
// (a damaged or foreign file in the footage directory). Input: byte 0 sets
// the chunk size the bytes are fed in; the rest is the file. Checks the
// reader's promises: no unit over the cap, units in the order fed, offsets
// inside what was fed.
#include <cstddef>
#include <cstdint>
#include <span>

#include "media/ts_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace zaulek::media::ts;
  if (size < 1) return 0;
  const std::size_t step = 1 + static_cast<std::size_t>(data[0]) * 7;
  constexpr std::size_t kCap = 16 * 1024;
  Demuxer d(kCap);
  std::span<const std::uint8_t> file(data + 1, size - 1);
  std::uint64_t last_offset = 0;
  bool any = false;
  auto take = [&] {
    while (auto u = d.next()) {
      if (u->data.size() > kCap) __builtin_trap();
      if (u->offset >= file.size() || u->offset % kPacketSize != 0) __builtin_trap();
      if (any && u->offset <= last_offset) __builtin_trap();
      last_offset = u->offset;
      any = true;
    }
  };
  for (std::size_t i = 0; i < file.size(); i += step) {
    d.feed(file.subspan(i, std::min(step, file.size() - i)));
    take();
  }
  d.finish();
  take();
  if (d.consumed() > file.size()) __builtin_trap();
  return 0;
}
