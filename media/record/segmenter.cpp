#include "media/record/segmenter.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

namespace zaulek::media {
namespace {

WallTime wall(std::int64_t ns) {
  return WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds{ns})};
}

}  // namespace

Segmenter::Segmenter(const CameraConfig& cfg)
    : cfg_(cfg),
      span_(std::chrono::duration_cast<std::chrono::nanoseconds>(cfg.segment_duration)) {}

Status Segmenter::open(std::int64_t wall_ns, std::int64_t media_ns, std::int64_t cts_ns,
                       Codec codec, int width, int height, MonoTime now) {
  const std::int64_t start = span_.start_at(wall_ns);
  if (cfg_.min_free_bytes) {
    const std::uint64_t need = cfg_.min_free_bytes();
    struct statvfs st {};
    if (need > 0 && ::statvfs(cfg_.dir.c_str(), &st) == 0 &&
        static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize < need) {
      return make_error(
          ErrorKind::resource_exhausted,
          fmt::format("segment: disk full: {:.1f} MiB free on {}, a new segment needs {:.1f} MiB",
                      static_cast<double>(st.f_bavail) * st.f_frsize / 1048576.0, cfg_.dir.string(),
                      static_cast<double>(need) / 1048576.0));
    }
  }
  ts::StreamMeta meta{codec, width, height, start};
  SegmentPolicy policy{cfg_.flush_interval, cfg_.sync_interval};
  auto w = SegmentWriter::create(cfg_.dir, meta, policy, now);
  if (!w) return make_error(w.error().kind, "segment: " + w.error().message);
  writer_ = std::move(*w);
  span_.begin(start, media_ns, cts_ns);
  info_ = SegmentInfo{};
  info_.camera_id = cfg_.id;
  info_.codec = codec;
  info_.width = width;
  info_.height = height;
  info_.start = wall(start);
  return {};
}

Status Segmenter::add(std::span<const std::uint8_t> au, std::int64_t media_ns, std::int64_t cts_ns,
                      bool keyframe, MonoTime now) {
  const SegmentSpan::Stamp t = span_.stamp(media_ns, cts_ns, ts::kTimestampOrigin);
  Status st = writer_->add_frame(au, t.pts90, t.dts90, keyframe, now);
  if (!st) return make_error(st.error().kind, "write: " + st.error().message);
  ++info_.frames;
  if (keyframe) ++info_.keyframes;
  span_.written(media_ns, cts_ns);
  return {};
}

Status Segmenter::tick(MonoTime now) {
  if (!writer_) return {};
  if (auto st = writer_->tick(now); !st)
    return make_error(st.error().kind, "write: " + st.error().message);
  return {};
}

std::optional<Segmenter::Edge> Segmenter::edge(std::int64_t frame_ns) const {
  if (!writer_ || info_.frames == 0) return std::nullopt;
  return Edge{span_.start_ns(), span_.end_ns(frame_ns)};
}

std::optional<SegmentInfo> Segmenter::close(const char* why, std::int64_t frame_ns) {
  if (!writer_) return std::nullopt;
  info_.end = wall(span_.end(frame_ns));
  auto path = writer_->finish();
  info_.bytes = writer_->written();  // what is in the file (a failed write is cut off)
  const std::filesystem::path part = writer_->part_path();
  writer_.reset();
  if (!path && path.error().kind == ErrorKind::not_found) {
    spdlog::warn("camera {}: closing segment ({}): {}", cfg_.id, why, path.error().message);
    return std::nullopt;
  }
  if (!path) {
    spdlog::error("camera {}: closing {} ({}): {}; left for reconciliation", cfg_.id, part.string(),
                  why, path.error().message);
    return std::nullopt;
  }
  info_.path = *path;
  return info_;
}

}  // namespace zaulek::media
