#include "media/mp4/av_mp4.h"

#include "media/live/codec_string.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

#include <algorithm>
#include <mutex>

namespace zaulek::media::mp4 {

std::string av_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

void close_output(AVFormatContext* ctx) {
  if (!ctx) return;
  ctx->pb = nullptr;  // the caller's
  avformat_free_context(ctx);
}

Result<AVFormatContext*> open_output(Codec codec, int width, int height,
                                     std::span<const std::uint8_t> params, AVIOContext* io,
                                     const char* what) {
  // libavformat's own log goes to stderr unformatted: errors only (ours are returned).
  static std::once_flag quiet;
  std::call_once(quiet, [] { av_log_set_level(AV_LOG_ERROR); });
  const std::string prefix = std::string(what) + ": ";
  const AVOutputFormat* mp4 = av_guess_format("mp4", nullptr, nullptr);
  if (!mp4) return make_error(ErrorKind::internal, prefix + "libavformat has no mp4 muxer");
  AVFormatContext* ctx = nullptr;
  if (int r = avformat_alloc_output_context2(&ctx, mp4, nullptr, nullptr); r < 0)
    return make_error(ErrorKind::internal, prefix + "mp4 muxer: " + av_text(r));
  ctx->pb = io;
  ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  AVStream* st = avformat_new_stream(ctx, nullptr);
  if (!st) {
    close_output(ctx);
    return make_error(ErrorKind::resource_exhausted, prefix + "out of memory");
  }
  st->time_base = AVRational{1, 90'000};
  AVCodecParameters* par = st->codecpar;
  par->codec_type = AVMEDIA_TYPE_VIDEO;
  par->codec_id = codec == Codec::h264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC;
  // hvc1: parameter sets only in the sample entry, what Safari and Chrome's
  // MSE expect (hev1 would allow them in band).
  if (codec == Codec::h265) par->codec_tag = MKTAG('h', 'v', 'c', '1');
  par->width = width;
  par->height = height;
  // Annex B extradata: the muxer writes avcC / hvcC from it.
  par->extradata =
      static_cast<std::uint8_t*>(av_mallocz(params.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!par->extradata) {
    close_output(ctx);
    return make_error(ErrorKind::resource_exhausted, prefix + "out of memory");
  }
  std::copy(params.begin(), params.end(), par->extradata);
  par->extradata_size = static_cast<int>(params.size());
  return ctx;
}

void sample_data(Codec codec, std::span<const std::uint8_t> au, std::vector<std::uint8_t>& out) {
  out.clear();
  for (auto nal : live::nal_units(au)) {
    if (live::is_parameter_set_or_aud(codec, nal)) continue;
    static constexpr std::uint8_t kStart[] = {0, 0, 0, 1};
    out.insert(out.end(), std::begin(kStart), std::end(kStart));
    out.insert(out.end(), nal.begin(), nal.end());
  }
}

}  // namespace zaulek::media::mp4
