// Segment files on disk against their catalogue rows: deletion in crash-safe
// order, retention (age and free space), and start-up reconciliation. The
// order of every step is docs/design/storage.md "Crash invariants".
//
// Files live under the storage root as <root>/<camera_id>/...; a row's path
// is relative to the root. Reading a media file is not storage's business:
// the caller passes a probe (the server wraps media::probe_segment).
// Calls block on file system work: run them off the Asio threads that serve
// requests (e.g. a dedicated thread or a blocking pool).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "storage/catalog.h"

namespace zaulek::storage {

struct DeleteReport {
  std::int64_t deleted = 0;        // rows removed (file unlinked, or already gone)
  std::int64_t bytes_freed = 0;    // by the catalogue's byte counts
  std::int64_t missing_files = 0;  // the file was already gone
  std::int64_t skipped = 0;        // held, open, unknown, or already being deleted
  std::int64_t failed = 0;         // unlink failed: row left 'deleting' for a later retry
};

// Intent (durable), unlink, fsync the directory, then the rows. Held and open
// segments are skipped. At most Catalog::kMaxBatch ids.
Result<DeleteReport> delete_footage(Catalog& catalog, const std::filesystem::path& root,
                                    const std::vector<std::int64_t>& ids);

// Percent of the file system holding `path` that an unprivileged writer may
// still use (statvfs f_bavail / f_blocks).
Result<double> free_percent(const std::filesystem::path& path);

// A file of `bytes` real blocks that keeps room for the catalogue on the
// storage file system. When footage fills the disk (ENOSPC), release() gives
// the space back so that SQLite can still write the storage health event,
// the alarm and the segment rows; ensure() takes it again once the file
// system has twice that much free. Without it the catalogue lives on the
// same full disk as the footage and cannot record that the disk is full.
class SpaceReserve {
 public:
  SpaceReserve(std::filesystem::path file, std::uint64_t bytes)
      : file_(std::move(file)), bytes_(bytes) {}
  // Creates the file (posix_fallocate, fsync) if missing and there is room;
  // true when the reserve is held afterwards. Blocks on the file system.
  Result<bool> ensure();
  // Unlinks the file; true when it was there. Cheap (no data written).
  bool release();
  const std::filesystem::path& file() const { return file_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::filesystem::path file_;
  std::uint64_t bytes_;
};

struct RetentionPolicy {
  int max_age_days = 90;         // legal ceiling; cameras may keep less
  double min_free_percent = 10;  // below this, the oldest unheld footage goes
  int age_batch = 1000;          // segments per age round
  int pressure_batch = 60;       // segments per free-space round, then measure again
  int max_rounds = 200;          // bound on the work of one call
};

struct RetentionReport {
  std::int64_t expired_deleted = 0;
  std::int64_t pressure_deleted = 0;
  std::int64_t bytes_freed = 0;
  std::int64_t failed = 0;
  bool below_min_free = false;  // still short of space: everything left is held or open
};

// One retention pass: first everything past its age, then oldest-first while
// free space is under the minimum. `free` measures free space (free_percent
// of the root in production; a test passes its own).
Result<RetentionReport> enforce_retention(Catalog& catalog, const std::filesystem::path& root,
                                          const RetentionPolicy& policy,
                                          const std::function<Result<double>()>& free);

// Reads a segment file: fills start_ns, end_ns, bytes, keyframes, codec.
using FileProbe =
    std::function<Result<Segment>(const std::filesystem::path& file, const std::string& camera_id)>;

struct ReconcileReport {
  std::int64_t deletions_finished = 0;  // 'deleting' rows completed
  std::int64_t rows_dropped = 0;        // rows whose file is gone
  std::int64_t open_closed = 0;         // 'open' rows closed from their file
  std::int64_t files_indexed = 0;       // files with no row, now indexed
  std::int64_t orphans = 0;             // files with no row (indexed only with repair + probe)
  std::int64_t size_mismatches = 0;     // row bytes differ from the file (reported only)
  std::vector<std::string> findings;    // one line per finding (first 1000), also logged
  bool clean() const { return findings.empty(); }
};

// Compares rows and files. Without `repair` nothing changes (zaulekd check);
// with it, each finding is fixed as the crash invariants say. `probe` may be
// empty: orphan files are then reported, not indexed. Files ending in .part
// are media's (media::reconcile_camera_dir) and are left alone.
Result<ReconcileReport> reconcile(Catalog& catalog, const std::filesystem::path& root, bool repair,
                                  const FileProbe& probe);

}  // namespace zaulek::storage
