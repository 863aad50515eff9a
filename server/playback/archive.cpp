#include "server/playback/archive.h"

#include <spdlog/spdlog.h>

#include <memory>

namespace zaulek::server::playback {
namespace {

// Segments are listed by start over [t, kFarNs): later than any footage.
constexpr std::int64_t kFarNs = INT64_MAX / 4;
// Rows looked at per query when stepping to the next segment (a few may
// overlap the current one).
constexpr int kNextRows = 16;

}  // namespace

Archive::Archive(storage::Catalog& catalog, std::filesystem::path root, std::string camera_id,
                 OpenSegmentLookup open_segment)
    : catalog_(catalog),
      root_(std::move(root)),
      camera_(std::move(camera_id)),
      open_segment_(std::move(open_segment)) {}

Status Archive::open_file(const std::filesystem::path& path, std::int64_t start_ns, bool growing,
                          std::optional<std::int64_t> t_ns) {
  auto f = media::ts::SegmentFile::open(path);
  if (!f) return f.error();
  // Wall times from the catalogue's start (the recorder writes the same
  // value into the file's table; the row is what the timeline shows).
  if (t_ns && *t_ns > start_ns) {
    const auto target =
        f->first_pts90() + static_cast<std::uint64_t>((*t_ns - start_ns) * 9 / 100'000);
    auto at = f->seek_keyframe(target);
    if (!at) return at.error();
  }
  file_ = std::move(*f);
  path_ = path;
  start_ns_ = start_ns;
  growing_ = growing;
  ++serial_;
  return {};
}

Status Archive::open(std::int64_t t_ns) {
  // The current file stays until another one opens: a failed seek goes on.
  auto rows = catalog_.list_segments(camera_, t_ns, kFarNs, kNextRows);
  if (!rows) return rows.error();
  for (const auto& row : *rows) {
    auto st = open_file(root_ / row.path, row.start_ns, false, t_ns);
    if (st) return {};
    ++files_skipped_;
    spdlog::warn("playback {}: segment {} skipped: {}", camera_, row.path, st.error().message);
  }
  if (open_segment_) {
    if (auto os = open_segment_(camera_)) {
      auto st = open_file(os->path, os->start_ns, true, t_ns);
      if (st) return {};
      if (st.error().kind != ErrorKind::not_found)
        spdlog::warn("playback {}: segment being written {}: {}", camera_, os->path.string(),
                     st.error().message);
    }
  }
  return make_error(ErrorKind::not_found, "no footage of camera '" + camera_ + "' at or after " +
                                              std::to_string(t_ns) + " ns");
}

Result<bool> Archive::advance() {
  std::int64_t after = start_ns_;
  auto rows = catalog_.list_segments(camera_, after + 1, kFarNs, kNextRows);
  if (!rows) return rows.error();
  for (const auto& row : *rows) {
    if (row.start_ns <= after) continue;  // the one just read (now catalogued), or overlapping
    auto st = open_file(root_ / row.path, row.start_ns, false, std::nullopt);
    if (st) return true;
    ++files_skipped_;
    start_ns_ = row.start_ns;  // do not try it again
    spdlog::warn("playback {}: segment {} skipped: {}", camera_, row.path, st.error().message);
  }
  if (open_segment_) {
    if (auto os = open_segment_(camera_); os && os->start_ns > after) {
      auto st = open_file(os->path, os->start_ns, true, std::nullopt);
      if (st) return true;
      if (st.error().kind != ErrorKind::not_found)
        spdlog::warn("playback {}: segment being written {}: {}", camera_, os->path.string(),
                     st.error().message);
    }
  }
  return false;
}

Result<std::optional<Frame>> Archive::next() {
  auto frame = [this](media::ts::AccessUnit& u) {
    Frame f;
    const auto wall = [this](std::uint64_t t90) {
      return start_ns_ +
             (static_cast<std::int64_t>(t90) - static_cast<std::int64_t>(file_->first_pts90())) *
                 100'000 / 9;
    };
    f.dts_ns = wall(u.dts90);
    f.pts_ns = wall(u.pts90);
    f.keyframe = u.keyframe;
    f.segment = serial_;
    f.codec = file_->meta().codec;
    f.data = std::make_shared<const std::vector<std::uint8_t>>(std::move(u.data));
    return std::optional<Frame>(std::move(f));
  };
  // Each turn reads bytes or moves to another file: it ends.
  for (;;) {
    if (!file_) {
      auto moved = advance();
      if (!moved) return moved.error();
      if (!*moved) return std::optional<Frame>{};
      continue;
    }
    if (auto u = file_->next()) return frame(*u);
    if (const auto& err = file_->demuxer().error()) {
      ++files_skipped_;
      spdlog::warn("playback {}: {}: {}; the rest of it is skipped", camera_, path_.string(),
                   err->message);
      file_.reset();
      continue;
    }
    auto n = file_->read_some();
    if (!n) {
      ++files_skipped_;
      spdlog::warn("playback {}: {}", camera_, n.error().message);
      file_.reset();
      continue;
    }
    if (*n > 0) continue;
    if (growing_) {
      std::error_code ec;
      if (std::filesystem::exists(path_, ec)) return std::optional<Frame>{};  // the live edge
      // Renamed to *.ts: complete, every byte written before the rename.
      growing_ = false;
      continue;
    }
    file_->finish();
    if (auto u = file_->next()) return frame(*u);
    file_.reset();
  }
}

}  // namespace zaulek::server::playback
