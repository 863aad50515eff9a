#include "media/ts_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace zaulek::media::ts {
namespace {

Error errno_error(const std::string& what, const std::filesystem::path& path) {
  const int e = errno;
  return make_error(e == ENOENT ? ErrorKind::not_found : ErrorKind::unavailable,
                    what + " " + path.string() + ": " + std::strerror(e));
}

// Where a packet's payload starts (188 when it has none); -1 when the
// adaptation field's length is impossible.
int payload_at(const std::uint8_t* p) {
  const int afc = (p[3] >> 4) & 0x03;
  int at = 4;
  if (afc & 0x2) {
    if (p[4] > 183) return -1;
    at = 5 + p[4];
  }
  if (!(afc & 0x1)) return static_cast<int>(kPacketSize);
  return at;
}

struct PesHeader {
  bool ok = false;
  std::uint64_t pts = 0;
  std::uint64_t dts = 0;
  std::size_t size = 0;  // header bytes before the payload
};

PesHeader parse_pes(const std::uint8_t* q, std::size_t n) {
  PesHeader h;
  if (n < 9 || q[0] != 0 || q[1] != 0 || q[2] != 1) return h;
  const int flags = q[7] >> 6;
  const std::size_t header = 9 + static_cast<std::size_t>(q[8]);
  if (flags < 2 || header > n || q[8] < (flags == 3 ? 10 : 5)) return h;
  h.pts = read_pes_timestamp(q + 9);
  h.dts = flags == 3 ? read_pes_timestamp(q + 14) : h.pts;
  h.size = header;
  h.ok = true;
  return h;
}

}  // namespace

PacketInfo inspect_packet(const std::uint8_t* p) {
  PacketInfo info;
  if (p[0] != 0x47) return info;
  info.sync = true;
  const bool pusi = (p[1] & 0x40) != 0;
  const std::uint16_t pid = static_cast<std::uint16_t>(((p[1] & 0x1F) << 8) | p[2]);
  if (!pusi || pid != kVideoPid) return info;
  const int at = payload_at(p);
  if (at < 0 || at >= static_cast<int>(kPacketSize)) return info;
  const PesHeader h = parse_pes(p + at, kPacketSize - static_cast<std::size_t>(at));
  if (!h.ok) return info;
  info.video_start = true;
  info.keyframe = (p[3] & 0x20) != 0 && p[4] >= 1 && (p[5] & 0x40) != 0;
  info.pts90 = h.pts;
  info.dts90 = h.dts;
  return info;
}

void Demuxer::fail(ErrorKind kind, std::string message) {
  if (!error_) error_ = make_error(kind, std::move(message));
  current_.reset();
  carry_.clear();
}

void Demuxer::reset(std::uint64_t offset) {
  carry_.clear();
  ready_.clear();
  current_.reset();
  current_broken_ = false;
  last_cc_ = -1;
  error_.reset();
  base_ = offset;
  consumed_ = 0;
}

void Demuxer::feed(std::span<const std::uint8_t> data) {
  if (error_) return;
  std::size_t i = 0;
  if (!carry_.empty()) {
    const std::size_t take = std::min(kPacketSize - carry_.size(), data.size());
    carry_.insert(carry_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    i = take;
    if (carry_.size() < kPacketSize) return;
    std::uint8_t whole[kPacketSize];
    std::memcpy(whole, carry_.data(), kPacketSize);
    carry_.clear();
    packet(whole);
  }
  for (; !error_ && i + kPacketSize <= data.size(); i += kPacketSize) packet(data.data() + i);
  if (!error_) carry_.assign(data.begin() + static_cast<std::ptrdiff_t>(i), data.end());
}

std::optional<AccessUnit> Demuxer::next() {
  if (ready_.empty()) return std::nullopt;
  AccessUnit u = std::move(ready_.front());
  ready_.pop_front();
  return u;
}

void Demuxer::finish() {
  carry_.clear();
  if (current_) {
    ++dropped_tail_;
    current_.reset();
  }
}

void Demuxer::complete() {
  if (!current_) return;
  if (current_broken_) {
    ++dropped_broken_;
  } else {
    ready_.push_back(std::move(*current_));
  }
  current_.reset();
  current_broken_ = false;
}

void Demuxer::packet(const std::uint8_t* p) {
  const std::uint64_t offset = base_ + consumed_;
  if (p[0] != 0x47) {
    fail(ErrorKind::data_loss, "lost sync at byte " + std::to_string(offset));
    return;
  }
  const int at = payload_at(p);
  if (at < 0) {
    fail(ErrorKind::data_loss, "bad adaptation field at byte " + std::to_string(offset));
    return;
  }
  consumed_ += kPacketSize;
  const bool pusi = (p[1] & 0x40) != 0;
  const std::uint16_t pid = static_cast<std::uint16_t>(((p[1] & 0x1F) << 8) | p[2]);
  const bool has_payload = at < static_cast<int>(kPacketSize);
  const std::uint8_t* q = p + at;
  const std::size_t n = kPacketSize - static_cast<std::size_t>(at);
  if (pid == kPmtPid) {
    if (pusi && has_payload && !has_meta_) parse_pmt({q, n}, meta_, has_meta_, codec_known_);
    return;
  }
  if (pid != kVideoPid || !has_payload) return;

  const int cc = p[3] & 0x0F;
  const bool continuous = last_cc_ < 0 || cc == ((last_cc_ + 1) & 0x0F);
  last_cc_ = cc;
  if (pusi) {
    complete();  // the previous unit ends where this one starts
    const PesHeader h = parse_pes(q, n);
    if (!h.ok) {
      ++dropped_broken_;
      return;  // skipped up to the next unit
    }
    AccessUnit u;
    u.pts90 = h.pts;
    u.dts90 = h.dts;
    u.keyframe = (p[3] & 0x20) != 0 && p[4] >= 1 && (p[5] & 0x40) != 0;
    u.offset = offset;
    u.data.assign(q + h.size, q + n);
    current_ = std::move(u);
    current_broken_ = false;
  } else {
    if (!current_) return;  // the rest of a unit we did not see start
    if (!continuous) current_broken_ = true;
    if (current_->data.size() + n > max_unit_) {
      fail(ErrorKind::resource_exhausted, "access unit at byte " +
                                              std::to_string(current_->offset) + " exceeds " +
                                              std::to_string(max_unit_) + " bytes");
      return;
    }
    current_->data.insert(current_->data.end(), q, q + n);
  }
  // The Muxer pads the last packet of every unit: the first packet's
  // adaptation field holds only the PCR (7 bytes after its length) unless
  // the unit ends there; a later packet has one only when it is the last.
  const bool adaptation = (p[3] & 0x20) != 0;
  if (adaptation && (!pusi || p[4] > 7)) complete();
}

// SegmentFile

SegmentFile::SegmentFile(SegmentFile&& o) noexcept {
  *this = std::move(o);
}

SegmentFile& SegmentFile::operator=(SegmentFile&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
    max_unit_ = o.max_unit_;
    meta_ = o.meta_;
    first_pts_ = o.first_pts_;
    first_dts_ = o.first_dts_;
    pos_ = o.pos_;
    demux_ = std::move(o.demux_);
    chunk_ = std::move(o.chunk_);
  }
  return *this;
}

SegmentFile::~SegmentFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<SegmentFile> SegmentFile::open(const std::filesystem::path& path,
                                      std::size_t max_unit_bytes) {
  SegmentFile f;
  f.path_ = path;
  f.max_unit_ = max_unit_bytes;
  f.demux_ = Demuxer(max_unit_bytes);
  f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd_ < 0) return errno_error("open", path);
  // Read front to back after the first probes: a larger readahead.
  ::posix_fadvise(f.fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  // The tables and the first unit's header are in the first few packets.
  std::vector<std::uint8_t> head(kPacketSize * 16);
  auto n = f.pread_some(0, head);
  if (!n) return n.error();
  bool has_meta = false, codec_known = false, first = false;
  for (std::size_t i = 0; i + kPacketSize <= *n && !first; i += kPacketSize) {
    const std::uint8_t* p = head.data() + i;
    if (p[0] != 0x47) break;
    const std::uint16_t pid = static_cast<std::uint16_t>(((p[1] & 0x1F) << 8) | p[2]);
    const int at = payload_at(p);
    if (pid == kPmtPid && (p[1] & 0x40) && at >= 0 && at < static_cast<int>(kPacketSize) &&
        !has_meta)
      parse_pmt({p + at, kPacketSize - static_cast<std::size_t>(at)}, f.meta_, has_meta,
                codec_known);
    const PacketInfo info = inspect_packet(p);
    if (info.video_start) {
      first = true;
      f.first_pts_ = info.pts90;
      f.first_dts_ = info.dts90;
    }
  }
  if (!first || !has_meta || !codec_known) {
    if (*n < head.size())
      return make_error(ErrorKind::not_found, path.string() + ": no whole first frame yet");
    return make_error(ErrorKind::data_loss, path.string() + ": no Zaułek stream table");
  }
  return f;
}

std::int64_t SegmentFile::wall_ns(std::uint64_t pts90) const {
  const std::int64_t d = static_cast<std::int64_t>(pts90) - static_cast<std::int64_t>(first_pts_);
  return meta_.start_ns + d * 100'000 / 9;
}

std::uint64_t SegmentFile::pts90_at(std::int64_t wall_ns) const {
  if (wall_ns <= meta_.start_ns) return first_pts_;
  return first_pts_ + static_cast<std::uint64_t>((wall_ns - meta_.start_ns) * 9 / 100'000);
}

Result<std::size_t> SegmentFile::pread_some(std::uint64_t at, std::span<std::uint8_t> into) const {
  std::size_t got = 0;
  while (got < into.size()) {
    const ssize_t n =
        ::pread(fd_, into.data() + got, into.size() - got, static_cast<off_t>(at + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read", path_);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

Result<std::uint64_t> SegmentFile::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return errno_error("stat", path_);
  return static_cast<std::uint64_t>(st.st_size);
}

Result<std::optional<std::pair<std::uint64_t, PacketInfo>>> SegmentFile::probe(
    std::uint64_t at, std::uint64_t limit) const {
  std::vector<std::uint8_t> buf(kPacketSize * 128);
  std::uint64_t done = 0;
  while (done < limit) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), limit - done));
    auto n = pread_some(at + done, {buf.data(), want});
    if (!n) return n.error();
    for (std::size_t i = 0; i + kPacketSize <= *n; i += kPacketSize) {
      const PacketInfo info = inspect_packet(buf.data() + i);
      if (info.video_start)
        return std::optional<std::pair<std::uint64_t, PacketInfo>>({at + done + i, info});
    }
    if (*n < want) break;
    done += *n;
  }
  return std::optional<std::pair<std::uint64_t, PacketInfo>>{};
}

Result<std::uint64_t> SegmentFile::seek_keyframe(std::uint64_t target) {
  auto sz = size();
  if (!sz) return sz.error();
  const std::uint64_t packets = *sz / kPacketSize;
  // 1. Bisect on decode times: lo ends at a unit decoded at or before the
  // target (decode times only grow through the file).
  std::uint64_t lo = 0, hi = packets;
  constexpr std::uint64_t kWindow = 64;  // packets scanned linearly at the end
  while (hi - lo > kWindow) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    auto found = probe(mid * kPacketSize, (hi - mid) * kPacketSize);
    if (!found) return found.error();
    if (!*found || (*found)->second.dts90 > target) {
      hi = mid;
    } else {
      lo = (*found)->first / kPacketSize;
      if (lo >= hi) break;
    }
  }
  // 2. Step back from there to the last keyframe presented at or before the
  // target, a chunk at a time (bounded: at most kMaxBack bytes, then the
  // file's first keyframe).
  constexpr std::uint64_t kChunk = kPacketSize * 1024;
  constexpr std::uint64_t kMaxBack = 256ull << 20;
  std::uint64_t end = std::min(packets, hi) * kPacketSize;
  std::optional<std::uint64_t> at;
  std::uint64_t at_pts = 0;
  std::uint64_t scanned = 0;
  std::vector<std::uint8_t> buf;
  while (!at && end > 0 && scanned < kMaxBack) {
    const std::uint64_t start = end > kChunk ? end - kChunk : 0;
    buf.resize(static_cast<std::size_t>(end - start));
    auto n = pread_some(start, buf);
    if (!n) return n.error();
    for (std::size_t i = 0; i + kPacketSize <= *n; i += kPacketSize) {
      const PacketInfo info = inspect_packet(buf.data() + i);
      if (info.video_start && info.keyframe && info.pts90 <= target && info.dts90 <= target) {
        at = start + i;
        at_pts = info.pts90;
      }
    }
    scanned += end - start;
    end = start;
  }
  if (!at) {
    auto first = probe(0, std::min<std::uint64_t>(*sz, kChunk));
    if (!first) return first.error();
    at = *first ? (*first)->first : 0;
    at_pts = *first ? (*first)->second.pts90 : first_pts_;
  }
  pos_ = *at;
  demux_.reset(pos_);
  return at_pts;
}

Result<std::size_t> SegmentFile::read_into(std::span<std::uint8_t> buffer) {
  if (demux_.error()) return std::size_t{0};
  auto n = pread_some(pos_, buffer);
  if (!n) return n.error();
  pos_ += *n;
  demux_.feed({buffer.data(), *n});
  return *n;
}

Result<std::size_t> SegmentFile::read_some(std::size_t budget) {
  if (demux_.error()) return std::size_t{0};
  chunk_.resize(std::max<std::size_t>(kPacketSize, budget));
  auto n = pread_some(pos_, chunk_);
  if (!n) return n.error();
  pos_ += *n;
  demux_.feed({chunk_.data(), *n});
  return *n;
}

}  // namespace zaulek::media::ts
