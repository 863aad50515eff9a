#include "media/mp4/mp4_file.h"

#include "media/mp4/av_mp4.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/mem.h>
}

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace zaulek::media::mp4 {
namespace {

// The muxer's buffer holds a whole box (up to a box plus the largest
// sample the segment reader hands out), so a box leaves in one piece
// straight from it, with no copy.
constexpr int kIoBuffer = static_cast<int>(Mp4File::kChunkBytes + (9 << 20));
// A moov larger than this is not ours to patch (about 90 bytes a frame: a
// day at 60 fps is 0.5 GB of footage per 1 MB of tables).
constexpr std::size_t kMaxMoov = 256u << 20;
// An mdat header whose size is set when the box closes.
constexpr std::uint8_t kMdatHeader[8] = {0, 0, 0, 0, 'm', 'd', 'a', 't'};

std::uint64_t get_be(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}
void put_be(std::uint8_t* p, int n, std::uint64_t v) {
  for (int i = n - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v & 0xff);
}

struct Box {
  std::size_t at = 0;    // header start within the buffer
  std::size_t body = 0;  // payload start
  std::size_t end = 0;
  std::string type;
};

// The child boxes of buf[from, to); stops at anything malformed.
std::vector<Box> children(const std::vector<std::uint8_t>& buf, std::size_t from, std::size_t to) {
  std::vector<Box> out;
  std::size_t at = from;
  while (at + 8 <= to) {
    std::uint64_t size = get_be(&buf[at], 4);
    std::size_t header = 8;
    if (size == 1) {
      if (at + 16 > to) break;
      size = get_be(&buf[at + 8], 8);
      header = 16;
    } else if (size == 0) {
      size = to - at;
    }
    if (size < header || size > to - at) break;
    out.push_back({at, at + header, at + static_cast<std::size_t>(size),
                   std::string(reinterpret_cast<const char*>(&buf[at + 4]), 4)});
    at += static_cast<std::size_t>(size);
  }
  return out;
}

const Box* child(const std::vector<Box>& boxes, std::string_view type) {
  for (const auto& b : boxes)
    if (b.type == type) return &b;
  return nullptr;
}

// Shortens the movie, track and edit list to `duration_90k` in a moov (the
// whole of `buf`).
Status set_duration(std::vector<std::uint8_t>& buf, std::int64_t duration_90k) {
  auto top = children(buf, 0, buf.size());
  const Box* moov = child(top, "moov");
  if (!moov) return make_error(ErrorKind::internal, "export: no moov after the samples");
  auto in_moov = children(buf, moov->body, moov->end);
  const Box* mvhd = child(in_moov, "mvhd");
  if (!mvhd || mvhd->end - mvhd->body < 32)
    return make_error(ErrorKind::internal, "export: no mvhd");
  const bool v1 = buf[mvhd->body] == 1;
  const std::size_t ts_at = mvhd->body + (v1 ? 20 : 12);
  const auto timescale = static_cast<std::int64_t>(get_be(&buf[ts_at], 4));
  if (timescale <= 0) return make_error(ErrorKind::internal, "export: mvhd without time scale");
  const std::int64_t d = (duration_90k * timescale + 45'000) / 90'000;
  auto shorten = [&](std::size_t field, bool wide) {
    int n = wide ? 8 : 4;
    auto cur = static_cast<std::int64_t>(get_be(&buf[field], n));
    if (d < cur) put_be(&buf[field], n, static_cast<std::uint64_t>(d));
  };
  shorten(ts_at + 4, v1);
  for (const auto& trak : in_moov) {
    if (trak.type != "trak") continue;
    auto in_trak = children(buf, trak.body, trak.end);
    if (const Box* tkhd = child(in_trak, "tkhd"); tkhd && tkhd->end - tkhd->body >= 32) {
      bool w = buf[tkhd->body] == 1;
      shorten(tkhd->body + (w ? 28 : 20), w);
    }
    const Box* edts = child(in_trak, "edts");
    if (!edts) continue;
    auto in_edts = children(buf, edts->body, edts->end);
    const Box* elst = child(in_edts, "elst");
    if (!elst || elst->end - elst->body < 8) continue;
    bool w = buf[elst->body] == 1;
    auto count = get_be(&buf[elst->body + 4], 4);
    std::size_t entry = w ? 20 : 12;
    if (count == 0 || elst->body + 8 + count * entry > elst->end) continue;
    // The edits before the last (an empty edit) keep their length; the last
    // one ends at d.
    std::int64_t before = 0;
    for (std::uint64_t i = 0; i + 1 < count; ++i)
      before += static_cast<std::int64_t>(get_be(&buf[elst->body + 8 + i * entry], w ? 8 : 4));
    std::size_t last = elst->body + 8 + (count - 1) * entry;
    auto cur = static_cast<std::int64_t>(get_be(&buf[last], w ? 8 : 4));
    if (d - before >= 0 && d - before < cur)
      put_be(&buf[last], w ? 8 : 4, static_cast<std::uint64_t>(d - before));
  }
  return {};
}

}  // namespace

struct Mp4File::Impl {
  Sink sink;
  std::optional<Error> err;  // the first error (the sink's or ours)
  AVIOContext* io = nullptr;
  AVFormatContext* ctx = nullptr;
  Codec codec = Codec::h264;
  // The muxer's writes: `pos` where the next one lands. Bytes before
  // `emitted` have gone to the sink; `pending` holds [emitted, ...).
  std::int64_t pos = 0;
  std::int64_t emitted = 0;
  std::vector<std::uint8_t> pending;
  std::int64_t box_at = -1;      // the open mdat box's header
  std::int64_t muxer_mdat = -1;  // the muxer's mdat header (its size write is dropped)
  bool closing = false;          // the flush that ends a box
  bool trailer = false;
  // The sample held back until the next one's dts gives its duration.
  std::vector<std::uint8_t> held, scratch;
  std::int64_t held_dts = 0, held_pts = 0;
  bool held_key = false, have_held = false;
  bool finished = false;

  ~Impl() {
    close_output(ctx);
    if (io) {
      av_freep(&io->buffer);
      avio_context_free(&io);
    }
  }

  int fail(Error e) {
    if (!err) err = std::move(e);
    return AVERROR(EIO);
  }

  Status emit(const std::uint8_t* data, std::size_t n) {
    if (auto st = sink({data, n}); !st) {
      fail(st.error());
      return st;
    }
    emitted += static_cast<std::int64_t>(n);
    return {};
  }

  static int write(void* opaque, std::uint8_t* buf, int size) {  // not const in FFmpeg 5
    auto* self = static_cast<Impl*>(opaque);
    if (self->err) return AVERROR(EIO);
    const auto n = static_cast<std::size_t>(size);
    if (self->trailer && self->pos < self->emitted) {
      // The muxer's mdat size (32 bits at its header, or 64 bits from 8
      // bytes before): our boxes carry their own.
      if (self->pos < self->muxer_mdat - 8 || self->pos + size > self->muxer_mdat + 16)
        return self->fail(
            make_error(ErrorKind::internal, "export: the MP4 muxer rewrote bytes already written"));
      self->pos += size;
      return size;
    }
    if (self->pos != self->emitted + static_cast<std::int64_t>(self->pending.size()))
      return self->fail(
          make_error(ErrorKind::internal, "export: the MP4 muxer wrote out of order"));
    if (self->closing && self->pending.empty() && self->box_at == self->pos) {
      // A whole box from the muxer's buffer: its size, then out.
      put_be(buf, 4, n);
      if (!self->emit(buf, n)) return AVERROR(EIO);
    } else {
      self->pending.insert(self->pending.end(), buf, buf + n);
    }
    self->pos += size;
    return size;
  }

  static std::int64_t seek(void* opaque, std::int64_t offset, int whence) {
    auto* self = static_cast<Impl*>(opaque);
    const std::int64_t end = self->emitted + static_cast<std::int64_t>(self->pending.size());
    if (whence & AVSEEK_SIZE) return end;
    switch (whence & ~AVSEEK_FORCE) {
      case SEEK_SET:
        break;
      case SEEK_CUR:
        offset += self->pos;
        break;
      case SEEK_END:
        offset += end;
        break;
      default:
        return AVERROR(EINVAL);
    }
    if (offset < 0) return AVERROR(EINVAL);
    self->pos = offset;
    return offset;
  }

  // Ends the open box at the muxer's position: all its bytes to the sink.
  Status close_box() {
    closing = true;
    avio_flush(io);
    closing = false;
    if (err) return *err;
    if (!pending.empty()) {
      const std::int64_t end = emitted + static_cast<std::int64_t>(pending.size());
      if (box_at < emitted || box_at + 8 > end)
        return make_error(ErrorKind::internal, "export: an mdat box out of place");
      put_be(&pending[static_cast<std::size_t>(box_at - emitted)], 4,
             static_cast<std::uint64_t>(end - box_at));
      if (auto st = emit(pending.data(), pending.size()); !st) return st;
      pending.clear();
    }
    box_at = -1;
    return {};
  }

  Status open_box() {
    box_at = avio_tell(io);
    avio_write(io, kMdatHeader, sizeof kMdatHeader);
    return {};
  }

  Status put(std::int64_t duration) {
    if (avio_tell(io) - box_at >= kChunkBytes) {
      if (auto st = close_box(); !st) return st;
      if (auto st = open_box(); !st) return st;
    }
    AVPacket* pkt = av_packet_alloc();
    if (!pkt) return make_error(ErrorKind::resource_exhausted, "export: out of memory");
    pkt->data = held.data();
    pkt->size = static_cast<int>(held.size());
    pkt->dts = held_dts;
    pkt->pts = held_pts;
    pkt->duration = duration;
    pkt->stream_index = 0;
    av_packet_rescale_ts(pkt, AVRational{1, 90'000}, ctx->streams[0]->time_base);
    if (held_key) pkt->flags |= AV_PKT_FLAG_KEY;
    int r = av_write_frame(ctx, pkt);
    av_packet_free(&pkt);
    if (r < 0) return failure(r, "writing a sample");
    return {};
  }

  Error failure(int r, const std::string& what) {
    if (err) return *err;
    return make_error(ErrorKind::internal, "export: " + what + ": " + av_text(r));
  }
};

Mp4File::Mp4File(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Mp4File::~Mp4File() = default;

Result<std::unique_ptr<Mp4File>> Mp4File::create(Sink sink, Codec codec, int width, int height,
                                                 std::span<const std::uint8_t> params) {
  auto impl = std::make_unique<Impl>();
  impl->sink = std::move(sink);
  impl->codec = codec;
  auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBuffer));
  if (!buffer) return make_error(ErrorKind::resource_exhausted, "export: out of memory");
  impl->io =
      avio_alloc_context(buffer, kIoBuffer, 1, impl.get(), nullptr, &Impl::write, &Impl::seek);
  if (!impl->io) {
    av_free(buffer);
    return make_error(ErrorKind::resource_exhausted, "export: out of memory");
  }
  auto ctx = open_output(codec, width, height, params, impl->io, "export");
  if (!ctx) return ctx.error();
  impl->ctx = *ctx;
  // The pre-roll's negative times stay as they are: the edit list skips them.
  impl->ctx->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "use_editlist", "1", 0);
  int r = avformat_write_header(impl->ctx, &opts);
  av_dict_free(&opts);
  if (r < 0) return impl->failure(r, "mp4 header");
  avio_flush(impl->io);
  if (impl->err) return *impl->err;
  // ftyp, free, then the muxer's mdat header (size 0 until its trailer):
  // the first box; nothing has left yet.
  const auto& head = impl->pending;
  for (std::size_t at = 0; at + 8 <= head.size();) {
    const auto size = static_cast<std::size_t>(get_be(&head[at], 4));
    if (std::memcmp(&head[at + 4], "mdat", 4) == 0 && at + 8 == head.size()) {
      impl->muxer_mdat = static_cast<std::int64_t>(at);
      break;
    }
    if (size < 8) break;
    at += size;
  }
  if (impl->muxer_mdat < 0)
    return make_error(ErrorKind::internal, "export: the MP4 muxer's header ends without an mdat");
  impl->box_at = impl->muxer_mdat;
  return std::unique_ptr<Mp4File>(new Mp4File(std::move(impl)));
}

Status Mp4File::write(std::span<const std::uint8_t> au, std::int64_t dts_90k, std::int64_t pts_90k,
                      bool keyframe) {
  auto& m = *impl_;
  if (m.finished) return make_error(ErrorKind::failed_precondition, "export: file finished");
  if (m.err) return *m.err;
  if (pts_90k < dts_90k)
    return make_error(ErrorKind::invalid_argument, "export: a frame presented before decoded");
  if (m.have_held && dts_90k <= m.held_dts)
    return make_error(ErrorKind::invalid_argument, "export: decode times must increase");
  sample_data(m.codec, au, m.scratch);
  if (m.scratch.empty())
    return make_error(ErrorKind::invalid_argument, "export: empty access unit");
  if (m.have_held)
    if (auto st = m.put(dts_90k - m.held_dts); !st) return st;
  std::swap(m.held, m.scratch);
  m.held_dts = dts_90k;
  m.held_pts = pts_90k;
  m.held_key = keyframe;
  m.have_held = true;
  ++samples_;
  return {};
}

Result<std::int64_t> Mp4File::finish(std::int64_t last_duration_90k, std::int64_t duration_90k) {
  auto& m = *impl_;
  if (m.finished) return make_error(ErrorKind::failed_precondition, "export: file finished");
  m.finished = true;
  if (m.err) return *m.err;
  if (!m.have_held) return make_error(ErrorKind::failed_precondition, "export: no frames");
  if (auto st = m.put(std::max<std::int64_t>(1, last_duration_90k)); !st) return st.error();
  if (auto st = m.close_box(); !st) return st.error();
  // What the trailer writes: the muxer's mdat size (dropped) and the moov,
  // kept here until its durations are set.
  m.trailer = true;
  if (int r = av_write_trailer(m.ctx); r < 0) return m.failure(r, "mp4 trailer");
  avio_flush(m.io);
  if (m.err) return *m.err;
  if (m.pending.size() > kMaxMoov)
    return make_error(ErrorKind::internal, "export: a moov over 256 MiB");
  if (auto st = set_duration(m.pending, duration_90k); !st) return st.error();
  if (auto st = m.emit(m.pending.data(), m.pending.size()); !st) return st.error();
  m.pending.clear();
  return m.emitted;
}

}  // namespace zaulek::media::mp4
