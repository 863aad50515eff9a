#include "media/mp4/mp4_file.h"

#include "media/mp4/av_mp4.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/mem.h>
}

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace zaulek::media::mp4 {
namespace {

// Large writes: the file is written once, front to back.
constexpr int kIoBuffer = 1 << 20;
// A moov larger than this is not ours to patch (about 90 bytes a frame: a
// day at 60 fps is 0.5 GB of footage per 1 MB of tables).
constexpr std::int64_t kMaxMoov = 256LL << 20;

Error io_error(int err, const std::string& what) {
  return make_error(
      err == ENOSPC || err == EDQUOT ? ErrorKind::resource_exhausted : ErrorKind::unavailable,
      what + ": " + std::strerror(err));
}

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

}  // namespace

struct Mp4File::Impl {
  std::filesystem::path path;
  int fd = -1;
  int err = 0;  // the first I/O error
  AVIOContext* io = nullptr;
  AVFormatContext* ctx = nullptr;
  Codec codec = Codec::h264;
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
    if (fd >= 0) ::close(fd);
  }

  static int write(void* opaque, std::uint8_t* buf, int size) {  // not const in FFmpeg 5
    auto* self = static_cast<Impl*>(opaque);
    int done = 0;
    while (done < size) {
      ssize_t n = ::write(self->fd, buf + done, static_cast<std::size_t>(size - done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (!self->err) self->err = n < 0 ? errno : EIO;
        return AVERROR(self->err);
      }
      done += static_cast<int>(n);
    }
    return size;
  }

  static std::int64_t seek(void* opaque, std::int64_t offset, int whence) {
    auto* self = static_cast<Impl*>(opaque);
    if (whence & AVSEEK_SIZE) {
      struct stat st {};
      return ::fstat(self->fd, &st) == 0 ? st.st_size : AVERROR(errno);
    }
    off_t r = ::lseek(self->fd, offset, whence & ~AVSEEK_FORCE);
    return r < 0 ? AVERROR(errno) : r;
  }

  Status put(std::int64_t duration) {
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
    if (err) return io_error(err, "export: " + what + " to " + path.string());
    return make_error(ErrorKind::internal, "export: " + what + ": " + av_text(r));
  }

  // Shortens the movie, track and edit list to `d` (movie time scale units of
  // mvhd) in the moov the muxer wrote at the end of the file.
  Status set_duration(std::int64_t duration_90k) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return io_error(errno, "export: " + path.string());
    // Top-level boxes: ftyp, free, mdat, moov.
    std::int64_t at = 0, moov_at = -1, moov_size = 0;
    while (at + 8 <= st.st_size) {
      std::uint8_t h[16];
      if (::pread(fd, h, sizeof h, at) < 8)
        return io_error(errno ? errno : EIO, "export: reading back");
      std::uint64_t size = get_be(h, 4);
      if (size == 1) size = get_be(h + 8, 8);
      if (size == 0) size = static_cast<std::uint64_t>(st.st_size - at);
      if (size < 8 || static_cast<std::int64_t>(size) > st.st_size - at) break;
      if (std::memcmp(h + 4, "moov", 4) == 0) {
        moov_at = at;
        moov_size = static_cast<std::int64_t>(size);
      }
      at += static_cast<std::int64_t>(size);
    }
    if (moov_at < 0 || moov_size > kMaxMoov)
      return make_error(ErrorKind::internal, "export: no moov in " + path.string());
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(moov_size));
    if (::pread(fd, buf.data(), buf.size(), moov_at) != moov_size)
      return io_error(errno ? errno : EIO, "export: reading back " + path.string());
    auto top = children(buf, 0, buf.size());
    const Box* moov = child(top, "moov");
    if (!moov) return make_error(ErrorKind::internal, "export: unreadable moov");
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
    if (::pwrite(fd, buf.data(), buf.size(), moov_at) != moov_size)
      return io_error(errno ? errno : EIO, "export: writing " + path.string());
    return {};
  }
};

Mp4File::Mp4File(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Mp4File::~Mp4File() = default;

Result<std::unique_ptr<Mp4File>> Mp4File::create(const std::filesystem::path& file, Codec codec,
                                                 int width, int height,
                                                 std::span<const std::uint8_t> params) {
  auto impl = std::make_unique<Impl>();
  impl->path = file;
  impl->codec = codec;
  impl->fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (impl->fd < 0) return io_error(errno, "export: creating " + file.string());
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
  return std::unique_ptr<Mp4File>(new Mp4File(std::move(impl)));
}

Status Mp4File::write(std::span<const std::uint8_t> au, std::int64_t dts_90k, std::int64_t pts_90k,
                      bool keyframe) {
  auto& m = *impl_;
  if (m.finished) return make_error(ErrorKind::failed_precondition, "export: file finished");
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
  if (!m.have_held) return make_error(ErrorKind::failed_precondition, "export: no frames");
  if (auto st = m.put(std::max<std::int64_t>(1, last_duration_90k)); !st) return st.error();
  if (int r = av_write_trailer(m.ctx); r < 0) return m.failure(r, "mp4 trailer");
  avio_flush(m.io);
  if (m.err) return io_error(m.err, "export: writing " + m.path.string());
  if (auto st = m.set_duration(duration_90k); !st) return st.error();
  if (::fdatasync(m.fd) != 0) return io_error(errno, "export: syncing " + m.path.string());
  struct stat st {};
  if (::fstat(m.fd, &st) != 0) return io_error(errno, "export: " + m.path.string());
  ::close(m.fd);
  m.fd = -1;
  return static_cast<std::int64_t>(st.st_size);
}

}  // namespace zaulek::media::mp4
