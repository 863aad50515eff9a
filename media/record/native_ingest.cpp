#include "media/record/native_ingest.h"

namespace zaulek::media {

std::shared_ptr<RtspClient> make_native_ingest(const CameraConfig& cfg, const Clock& clock,
                                               Strand strand, std::weak_ptr<IngestSink> sink,
                                               std::uint64_t generation) {
  RtspTarget target;
  target.url = cfg.url;
  target.username = cfg.username;
  target.password = cfg.password;
  target.allow_basic = cfg.allow_basic_auth;
  target.timeout = cfg.stall_timeout;
  target.clock = &clock;
  RtspHandlers h;
  h.on_playing = [sink, generation](const RtspStream& st) {
    if (auto r = sink.lock()) r->on_playing(generation, st);
  };
  h.on_unit = [sink, generation](const rtp::AccessUnit& u, std::optional<std::int64_t> wall) {
    if (auto r = sink.lock()) r->on_unit(generation, u, wall);
  };
  h.on_error = [sink, generation](const std::string& e) {
    if (auto r = sink.lock()) r->on_failure(generation, e);
  };
  return make_rtsp_client(std::move(strand), std::move(target), std::move(h));
}

std::optional<PictureSize> unit_picture_size(Codec codec, std::span<const std::uint8_t> au) {
  for (std::size_t i = 0; i + 4 < au.size(); ++i) {
    if (au[i] != 0 || au[i + 1] != 0 || au[i + 2] != 1) continue;
    const std::uint8_t first = au[i + 3];
    const bool sps = codec == Codec::h264 ? (first & 0x1f) == 7 : ((first >> 1) & 0x3f) == 33;
    if (!sps) continue;
    std::size_t end = i + 3;
    while (end + 2 < au.size() && !(au[end] == 0 && au[end + 1] == 0 && au[end + 2] <= 1)) ++end;
    if (end + 2 >= au.size()) end = au.size();
    return sps_picture_size(codec, au.subspan(i + 3, end - i - 3));
  }
  return std::nullopt;
}

}  // namespace zaulek::media
