#include "sim/sei.h"

namespace zaulek::sim {

std::size_t first_vcl_offset(const std::uint8_t* data, std::size_t size, media::Codec codec) {
  for (std::size_t i = 0; i + 3 < size; ++i) {
    if (data[i] != 0 || data[i + 1] != 0 || data[i + 2] != 1) continue;
    const std::uint8_t header = data[i + 3];
    // H.264: types 1-5 are slices; H.265: types 0-31.
    const bool vcl = codec == media::Codec::h264 ? (header & 0x1F) >= 1 && (header & 0x1F) <= 5
                                                 : ((header >> 1) & 0x3F) <= 31;
    if (vcl) return i > 0 && data[i - 1] == 0 ? i - 1 : i;  // a 4-byte start code
    i += 2;
  }
  return size;
}

std::string send_time_sei(media::Codec codec, std::uint64_t frame, std::int64_t wall_us) {
  const std::string text = "n=" + std::to_string(frame) + " t=" + std::to_string(wall_us);
  std::string out("\0\0\0\1", 4);
  if (codec == media::Codec::h264) {
    out += '\x06';
  } else {
    out += '\x4e';  // prefix SEI (39), layer 0
    out += '\x01';  // temporal id 0
  }
  out += '\x05';                                                 // user_data_unregistered
  out += static_cast<char>(kSendTimeUuid.size() + text.size());  // < 255: one byte
  out += kSendTimeUuid;
  out += text;
  out += '\x80';  // rbsp trailing bits
  return out;
}

}  // namespace zaulek::sim
