// Send-time stamps (zaulek-sim --send-times): each frame carries one SEI
// user_data_unregistered NAL (H.264 type 6, H.265 prefix SEI type 39,
// payloadType 5) with our UUID and, in ASCII, the stream's frame number and
// the wall-clock time the simulator handed the frame to its payloader:
//   UUID "zaulek-sim-frame" (16 bytes) then "n=<frame> t=<unix microseconds>"
// The payload has no zero bytes, so it needs no emulation prevention and a
// reader finds it by the UUID in any container (TS, fMP4 mdat, byte-stream)
// as long as a frame is not split across container packets. Benchmarks use
// it for absolute latency and to tell which frames a recording misses.
#pragma once

#include "media/codec.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace zaulek::sim {

inline constexpr std::string_view kSendTimeUuid = "zaulek-sim-frame";

// Byte offset of the start code of the first VCL NAL (a slice) in an Annex B
// access unit; size when it has none.
std::size_t first_vcl_offset(const std::uint8_t* data, std::size_t size, media::Codec codec);

// The SEI NAL with its 4-byte start code, to go in front of the first slice.
std::string send_time_sei(media::Codec codec, std::uint64_t frame, std::int64_t wall_us);

}  // namespace zaulek::sim
