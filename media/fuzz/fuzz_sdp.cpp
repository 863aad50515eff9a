// libFuzzer target: the SDP of a DESCRIBE answer (media/rtsp_parse.h). The
// first line of the input is the base URL, the rest the SDP.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "media/rtsp_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace zaulek::media::rtsp;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto nl = text.find('\n');
  const std::string_view base = nl == std::string_view::npos ? text : text.substr(0, nl);
  const std::string_view sdp =
      nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  if (auto v = parse_sdp_video(sdp, base)) {
    if (v->clock_rate == 0 || v->control_url.empty() || v->params.size() > 16 * 1024 + 8)
      __builtin_trap();
    if (v->control_url.size() > 2 * kMaxUrl + 1) __builtin_trap();
  }
  if (auto b = decode_base64(text); b && b->size() > kMaxParamSet) __builtin_trap();
  return 0;
}
