#include "media/segment.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

namespace zaulek::media {
namespace {

Error errno_error(const std::string& what, const std::filesystem::path& path) {
  const int e = errno;
  const ErrorKind kind =
      (e == ENOSPC || e == EDQUOT) ? ErrorKind::resource_exhausted : ErrorKind::unavailable;
  return make_error(kind, what + " " + path.string() + ": " + std::strerror(e));
}

Status write_all(int fd, const std::uint8_t* data, std::size_t size,
                 const std::filesystem::path& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write", path);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

std::string segment_stem(WallTime t) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  const long micros = static_cast<long>((ns % 1'000'000'000) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d.%06ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return buf;
}

Status fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error("open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return errno_error("fsync directory", dir);
  return {};
}

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::create(const std::filesystem::path& dir,
                                                             ts::StreamMeta meta,
                                                             SegmentPolicy policy, MonoTime now) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorKind::unavailable, "create " + dir.string() + ": " + ec.message());
  const std::string stem = segment_stem(WallTime{std::chrono::nanoseconds{meta.start_ns}});
  // Two segments may start in the same microsecond only after a clock step;
  // O_EXCL keeps the first and a suffix names the second.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string name = attempt == 0 ? stem : stem + "-" + std::to_string(attempt);
    const std::filesystem::path final_path = dir / (name + ".ts");
    const std::filesystem::path part = dir / (name + ".ts.part");
    if (std::filesystem::exists(final_path, ec)) continue;
    const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return errno_error("create", part);
    }
    if (auto st = fsync_dir(dir); !st) {
      ::close(fd);
      ::unlink(part.c_str());
      return st.error();
    }
    return std::unique_ptr<SegmentWriter>(
        new SegmentWriter(fd, part, final_path, meta, policy, now));
  }
  return make_error(ErrorKind::already_exists, "no free segment name for " + stem);
}

SegmentWriter::SegmentWriter(int fd, std::filesystem::path part, std::filesystem::path final_path,
                             ts::StreamMeta meta, SegmentPolicy policy, MonoTime now)
    : fd_(fd),
      part_(std::move(part)),
      final_(std::move(final_path)),
      muxer_(meta),
      policy_(policy),
      last_flush_(now),
      last_sync_(now) {
  buffer_.reserve(policy_.flush_bytes + 64 * 1024);
}

SegmentWriter::~SegmentWriter() {
  // Not finished: leave the .part for reconciliation, with what we had.
  if (fd_ >= 0) {
    (void)flush();
    ::close(fd_);
  }
}

Status SegmentWriter::add_frame(std::span<const std::uint8_t> au, std::uint64_t pts90,
                                std::uint64_t dts90, bool keyframe, MonoTime now) {
  if (fd_ < 0) return make_error(ErrorKind::failed_precondition, "segment closed");
  muxer_.write_frame(buffer_, au, pts90, dts90, keyframe);
  if (buffer_.size() >= policy_.flush_bytes || now - last_flush_ >= policy_.flush_interval) {
    if (auto st = flush(); !st) return st;
    last_flush_ = now;
  }
  if (dirty_ && now - last_sync_ >= policy_.sync_interval) {
    if (auto st = sync(); !st) return st;
    last_sync_ = now;
  }
  return {};
}

Status SegmentWriter::tick(MonoTime now) {
  if (fd_ < 0) return {};
  if (!buffer_.empty() && now - last_flush_ >= policy_.flush_interval) {
    if (auto st = flush(); !st) return st;
    last_flush_ = now;
  }
  if (dirty_ && now - last_sync_ >= policy_.sync_interval) {
    if (auto st = sync(); !st) return st;
    last_sync_ = now;
  }
  return {};
}

Status SegmentWriter::flush() {
  if (buffer_.empty()) return {};
  auto st = write_all(fd_, buffer_.data(), buffer_.size(), part_);
  if (!st) {
    // Disk full or an I/O error part-way: cut the file back to the end of the
    // last whole write (a frame boundary), so that what is on disk stays a
    // clean segment. The frames of this buffer are lost, and the caller ends
    // the segment.
    if (::ftruncate(fd_, static_cast<off_t>(written_)) == 0)
      (void)::lseek(fd_, static_cast<off_t>(written_), SEEK_SET);
    buffer_.clear();
    dirty_ = true;
    return st;
  }
  written_ += buffer_.size();
  buffer_.clear();
  dirty_ = true;
  return st;
}

Status SegmentWriter::sync() {
  if (::fdatasync(fd_) != 0) return errno_error("fdatasync", part_);
  dirty_ = false;
  return {};
}

Result<std::filesystem::path> SegmentWriter::finish() {
  if (fd_ < 0) return make_error(ErrorKind::failed_precondition, "segment closed");
  Status st = flush();
  if (st) st = sync();
  ::close(fd_);
  fd_ = -1;
  if (written_ == 0) {
    // Nothing reached the file (e.g. the disk was full from the first
    // write): an empty segment is no footage; remove it rather than index it.
    ::unlink(part_.c_str());
    (void)fsync_dir(part_.parent_path());
    return make_error(ErrorKind::not_found,
                      "nothing was written to " + part_.filename().string() +
                          (st ? std::string() : " (" + st.error().message + ")") + "; removed");
  }
  if (!st) return st.error();
  if (::rename(part_.c_str(), final_.c_str()) != 0) return errno_error("rename", part_);
  if (auto ds = fsync_dir(final_.parent_path()); !ds) return ds.error();
  return final_;
}

namespace {

Result<ts::Scan> scan_file(const std::filesystem::path& path, std::uint64_t& size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorKind::unavailable, "open " + path.string());
  ts::Scanner scanner;
  std::vector<std::uint8_t> chunk(ts::kPacketSize * 2048);
  size = 0;
  while (in) {
    in.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(chunk.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    size += n;
    if (!scanner.feed({chunk.data(), n})) break;
  }
  return scanner.result();
}

SegmentInfo info_from_scan(const ts::Scan& scan, const std::filesystem::path& path,
                           const std::string& camera_id, std::uint64_t bytes) {
  SegmentInfo info;
  info.camera_id = camera_id;
  info.path = path;
  info.start = WallTime{
      std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds{scan.meta.start_ns})};
  // The start is the first frame's presentation; the end is the last frame
  // shown plus its duration. Frame duration is not stored; take the mean
  // spacing of presentation times (decode times may step once, see
  // media/reorder.h), or 40 ms for one frame.
  std::uint64_t span90 = scan.max_pts >= scan.first_pts ? scan.max_pts - scan.first_pts : 0;
  const std::uint64_t frame90 =
      scan.frames > 1 ? (scan.max_pts - scan.min_pts) / (scan.frames - 1) : ts::kClock / 25;
  span90 += frame90;
  info.end = info.start + std::chrono::duration_cast<WallTime::duration>(
                              std::chrono::microseconds{span90 * 1000 / 90});
  info.bytes = bytes;
  info.codec = scan.meta.codec;
  info.width = scan.meta.width;
  info.height = scan.meta.height;
  info.keyframes = scan.keyframes;
  info.frames = scan.frames;
  return info;
}

}  // namespace

Result<SegmentInfo> probe_segment(const std::filesystem::path& path, const std::string& camera_id) {
  std::uint64_t size = 0;
  auto scan = scan_file(path, size);
  if (!scan) return scan.error();
  if (!scan->has_meta || !scan->codec_known)
    return make_error(ErrorKind::data_loss, path.string() + ": no Zaułek stream table");
  if (scan->frames == 0) return make_error(ErrorKind::data_loss, path.string() + ": no frames");
  return info_from_scan(*scan, path, camera_id, scan->good_bytes);
}

Result<std::vector<SegmentInfo>> reconcile_camera_dir(const std::filesystem::path& dir,
                                                      const std::string& camera_id) {
  std::vector<SegmentInfo> out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  std::vector<std::filesystem::path> parts;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 8 && name.ends_with(".ts.part") && entry.is_regular_file(ec))
      parts.push_back(entry.path());
  }
  if (ec) return make_error(ErrorKind::unavailable, "list " + dir.string() + ": " + ec.message());
  std::sort(parts.begin(), parts.end());
  for (const auto& part : parts) {
    std::uint64_t size = 0;
    auto scan = scan_file(part, size);
    if (!scan) return scan.error();
    if (!scan->has_meta || !scan->codec_known || scan->frames == 0) {
      spdlog::warn("camera {}: unfinished segment {} holds no whole frame; removed", camera_id,
                   part.string());
      std::filesystem::remove(part, ec);
      continue;
    }
    if (scan->good_bytes < size) {
      if (::truncate(part.c_str(), static_cast<off_t>(scan->good_bytes)) != 0)
        return errno_error("truncate", part);
      spdlog::warn("camera {}: unfinished segment {} trimmed from {} to {} bytes", camera_id,
                   part.string(), size, scan->good_bytes);
    }
    const int fd = ::open(part.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno_error("open", part);
    const int rc = ::fdatasync(fd);
    ::close(fd);
    if (rc != 0) return errno_error("fdatasync", part);
    std::filesystem::path final_path = part;
    final_path.replace_extension();  // drop ".part"
    if (std::filesystem::exists(final_path, ec))
      final_path = dir / (part.stem().stem().string() + "-recovered.ts");
    if (::rename(part.c_str(), final_path.c_str()) != 0) return errno_error("rename", part);
    if (auto st = fsync_dir(dir); !st) return st.error();
    SegmentInfo info = info_from_scan(*scan, final_path, camera_id, scan->good_bytes);
    info.recovered = true;
    spdlog::info("camera {}: recovered segment {} ({} frames, {} bytes)", camera_id,
                 final_path.string(), info.frames, info.bytes);
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace zaulek::media
