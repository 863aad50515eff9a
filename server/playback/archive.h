// One camera's footage read back in time order (playback's I/O side): the
// catalogued segments (closed files), then the segment being written (its
// *.ts.part, which the catalogue does not list yet), as access units with
// wall times for the Player (server/playback/player.h).
//
// Blocking (SQLite, file reads, the recorder's status): call it only from
// playback's own threads, never from a network strand. Not thread-safe; one
// owner (a viewer's strand).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/error.h"
#include "media/ts_reader.h"
#include "server/playback/player.h"
#include "storage/catalog.h"

namespace zaulek::server::playback {

// The segment being written for a camera: the wall time of its first frame
// and its file (nullopt when none is open).
struct OpenSegment {
  std::int64_t start_ns = 0;
  std::filesystem::path path;
};
using OpenSegmentLookup = std::function<std::optional<OpenSegment>(const std::string& camera)>;

class Archive {
 public:
  Archive(storage::Catalog& catalog, std::filesystem::path root, std::string camera_id,
          OpenSegmentLookup open_segment);

  // Positions at the keyframe at or before t, or where footage begins after
  // t. not_found when there is no footage at or after t (closed or being
  // written).
  Status open(std::int64_t t_ns);

  // The next access unit; nullopt when there is nothing more for now (the
  // live edge: read again later). An error is the catalogue's; a damaged or
  // vanished file is logged and skipped.
  Result<std::optional<Frame>> next();

  // Whether the file being read is the one still being written.
  bool reading_open_segment() const { return growing_; }
  media::Codec codec() const { return file_ ? file_->meta().codec : media::Codec::h264; }
  std::uint64_t files_skipped() const { return files_skipped_; }

 private:
  // Opens a segment file; positions at t (or its start when t is before it).
  Status open_file(const std::filesystem::path& path, std::int64_t start_ns, bool growing,
                   std::optional<std::int64_t> t_ns);
  // After the current file: the next segment, or the one being written.
  Result<bool> advance();

  storage::Catalog& catalog_;
  std::filesystem::path root_;
  std::string camera_;
  OpenSegmentLookup open_segment_;
  std::optional<media::ts::SegmentFile> file_;
  std::filesystem::path path_;
  std::int64_t start_ns_ = 0;  // of the current file's segment
  bool growing_ = false;       // the current file is a *.ts.part
  std::int64_t serial_ = 0;    // Frame::segment of the current file
  std::uint64_t files_skipped_ = 0;
};

}  // namespace zaulek::server::playback
