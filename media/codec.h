// The video codecs we record (and the simulator encodes): one definition for
// media/ and sim/, so that a codec means the same thing on both sides.
#pragma once

#include <string_view>

namespace zaulek::media {

enum class Codec { h264, h265 };

// "h264" / "h265", as in segment metadata and the API.
constexpr std::string_view to_string(Codec codec) {
  return codec == Codec::h264 ? "h264" : "h265";
}

}  // namespace zaulek::media
