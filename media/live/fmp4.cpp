#include "media/live/fmp4.h"

#include "media/mp4/av_mp4.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/mem.h>
#include <libavutil/opt.h>
}

#include <vector>

namespace zaulek::media::live {
namespace {

constexpr int kIoBuffer = 64 * 1024;

}  // namespace

struct Fmp4Muxer::Impl {
  AVFormatContext* ctx = nullptr;
  AVIOContext* io = nullptr;
  std::string out;  // what the muxer wrote since it was last taken
  std::vector<std::uint8_t> scratch;

  ~Impl() {
    mp4::close_output(ctx);
    if (io) {
      av_freep(&io->buffer);
      avio_context_free(&io);
    }
  }

  static int write(void* opaque, std::uint8_t* buf, int size) {  // not const in FFmpeg 5
    auto* self = static_cast<Impl*>(opaque);
    self->out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(size));
    return size;
  }

  std::string take() {
    avio_flush(io);
    return std::exchange(out, {});
  }
};

Fmp4Muxer::Fmp4Muxer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Fmp4Muxer::~Fmp4Muxer() = default;

Result<std::unique_ptr<Fmp4Muxer>> Fmp4Muxer::open(Codec codec, int width, int height,
                                                   std::span<const std::uint8_t> params) {
  auto impl = std::make_unique<Impl>();
  auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBuffer));
  if (!buffer) return make_error(ErrorKind::resource_exhausted, "live: out of memory");
  impl->io = avio_alloc_context(buffer, kIoBuffer, 1, impl.get(), nullptr, &Impl::write, nullptr);
  if (!impl->io) {
    av_free(buffer);
    return make_error(ErrorKind::resource_exhausted, "live: out of memory");
  }
  auto ctx = mp4::open_output(codec, width, height, params, impl->io, "live");
  if (!ctx) return ctx.error();
  impl->ctx = *ctx;
  // Our decode times as they are (never shifted to start at 0): a viewer's
  // MediaSource time line stays continuous across muxer instances.
  impl->ctx->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;

  AVDictionary* opts = nullptr;
  // empty_moov: the init segment holds no samples; frag_custom: a fragment
  // is cut where we flush (after every access unit); default_base_moof: the
  // offsets MSE wants; frag_discont: tfdt carries our decode times from the
  // first fragment on (a muxer made for a viewer mid-stream).
  av_dict_set(&opts, "movflags", "empty_moov+frag_custom+default_base_moof+frag_discont", 0);
  av_dict_set(&opts, "use_editlist", "0", 0);
  int r = avformat_write_header(impl->ctx, &opts);
  av_dict_free(&opts);
  if (r < 0) return make_error(ErrorKind::invalid_argument, "live: mp4 header: " + mp4::av_text(r));
  std::unique_ptr<Fmp4Muxer> m(new Fmp4Muxer(std::move(impl)));
  m->codec_ = codec;
  m->init_ = m->impl_->take();
  if (m->init_.empty()) return make_error(ErrorKind::internal, "live: mp4 muxer wrote no header");
  return m;
}

Result<std::string> Fmp4Muxer::fragment(std::span<const std::uint8_t> au, std::int64_t dts_90k,
                                        std::int64_t pts_90k, std::int64_t duration_90k,
                                        bool keyframe) {
  // The samples without parameter sets or delimiters (they are in the sample entry).
  auto& data = impl_->scratch;
  mp4::sample_data(codec_, au, data);
  if (data.empty()) return make_error(ErrorKind::invalid_argument, "live: empty access unit");
  AVPacket* pkt = av_packet_alloc();
  if (!pkt) return make_error(ErrorKind::resource_exhausted, "live: out of memory");
  pkt->data = data.data();
  pkt->size = static_cast<int>(data.size());
  pkt->dts = dts_90k;
  pkt->pts = pts_90k;
  pkt->duration = duration_90k;
  pkt->stream_index = 0;
  // The muxer may have chosen its own time base for the stream.
  av_packet_rescale_ts(pkt, AVRational{1, 90'000}, impl_->ctx->streams[0]->time_base);
  if (keyframe) pkt->flags |= AV_PKT_FLAG_KEY;
  int r = av_write_frame(impl_->ctx, pkt);
  av_packet_free(&pkt);
  if (r < 0) return make_error(ErrorKind::invalid_argument, "live: mp4 sample: " + mp4::av_text(r));
  // A null packet flushes what is buffered as one fragment.
  if (r = av_write_frame(impl_->ctx, nullptr); r < 0)
    return make_error(ErrorKind::internal, "live: mp4 fragment: " + mp4::av_text(r));
  return impl_->take();
}

}  // namespace zaulek::media::live
