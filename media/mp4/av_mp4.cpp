#include "media/mp4/av_mp4.h"

#include "media/live/codec_string.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

#include <algorithm>
#include <cstring>
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

namespace {

// live::nal_units' split (the same units: trailing zeros of a 4-byte start
// code dropped, bytes before the first start code ignored), finding each
// start code's 01 with memchr: the byte-by-byte scan was a tenth of an
// export's CPU time (tests/bench/export.sh under perf).
template <class F>
void for_each_nal(std::span<const std::uint8_t> au, F&& f) {
  const std::uint8_t* p = au.data();
  const std::size_t n = au.size();
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t start = kNone;
  std::size_t k = 2;  // where the next start code's 01 may be
  while (k < n) {
    const void* hit = std::memchr(p + k, 1, n - k);
    if (!hit) break;
    k = static_cast<std::size_t>(static_cast<const std::uint8_t*>(hit) - p);
    if (p[k - 1] != 0 || p[k - 2] != 0) {
      ++k;
      continue;
    }
    if (start != kNone) {
      std::size_t end = k - 2;
      while (end > start && p[end - 1] == 0) --end;  // a 4-byte start code's zero
      if (end > start) f(au.subspan(start, end - start));
    }
    start = k + 1;
    k += 3;
  }
  if (start != kNone && start < n) f(au.subspan(start, n - start));
}

}  // namespace

void sample_data(Codec codec, std::span<const std::uint8_t> au, std::vector<std::uint8_t>& out) {
  out.clear();
  out.reserve(au.size() + 16);
  for_each_nal(au, [&](std::span<const std::uint8_t> nal) {
    if (live::is_parameter_set_or_aud(codec, nal)) return;
    static constexpr std::uint8_t kStart[] = {0, 0, 0, 1};
    out.insert(out.end(), std::begin(kStart), std::end(kStart));
    out.insert(out.end(), nal.begin(), nal.end());
  });
}

}  // namespace zaulek::media::mp4
