// The segment index (what footage exists, where), its timeline, and the
// retention queries that pick what to delete. Part of Catalog
// (storage/catalog.h); the files themselves: storage/footage.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace zaulek::storage {

// Times on disk and in these structs: int64 nanoseconds since the Unix epoch, UTC.
enum class SegmentState { open, closed, deleting };
std::string_view to_string(SegmentState state);

struct Segment {
  std::int64_t id = 0;  // assigned by the catalogue
  std::string camera_id;
  std::int64_t start_ns = 0;  // first frame
  std::int64_t end_ns = 0;    // end of the last frame written; grows while open
  std::int64_t bytes = 0;
  std::string path;  // relative to the storage root, no "..": "cam-1/20261125T095300.000000Z.ts"
  std::string codec;
  std::int64_t keyframes = 0;
  std::optional<std::string> checksum;
  SegmentState state = SegmentState::open;
};

struct TimeRange {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  bool operator==(const TimeRange&) const = default;
};

// What a camera has recorded within [from, to): merged ranges, the gaps
// between them (also within [from, to)), and how many segments overlap.
struct Timeline {
  std::vector<TimeRange> ranges;
  std::vector<TimeRange> gaps;
  std::int64_t segments = 0;
};

class SegmentCatalog {
 public:
  // Segments (see docs/design/storage.md for the order of file and row).
  virtual Result<std::int64_t> add_segment(const Segment& segment) = 0;  // returns the id
  // Up to kMaxBatch segments in one transaction (start-up reconciliation, tests).
  virtual Result<std::vector<std::int64_t>> add_segments(const std::vector<Segment>& segments) = 0;
  // The open segment grew: moves the live edge. failed_precondition unless open.
  virtual Status update_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                                std::int64_t keyframes) = 0;
  virtual Status close_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                               std::int64_t keyframes, std::optional<std::string> checksum) = 0;
  virtual Result<Segment> find_segment(std::int64_t id) = 0;
  // Segments overlapping [from_ns, to_ns), by start; not those being deleted.
  virtual Result<std::vector<Segment>> list_segments(const std::string& camera_id,
                                                     std::int64_t from_ns, std::int64_t to_ns,
                                                     int limit) = 0;
  // Ranges within [from_ns, to_ns): segments whose gap is <= tolerance_ns merge.
  virtual Result<Timeline> timeline(const std::string& camera_id, std::int64_t from_ns,
                                    std::int64_t to_ns, std::int64_t tolerance_ns) = 0;
  // Records the intent to delete (durably, before any unlink). Held or open
  // segments are skipped; returns the ids actually marked.
  virtual Result<std::vector<std::int64_t>> mark_segments_deleting(
      const std::vector<std::int64_t>& ids) = 0;
  // Every segment row with id > after_id, by id, any state (reconciliation).
  virtual Result<std::vector<Segment>> list_all_segments(std::int64_t after_id, int limit) = 0;
  // Segments whose deletion was intended but not finished (after a crash).
  virtual Result<std::vector<Segment>> list_deleting_segments(int limit) = 0;
  // Removes rows (after their files are unlinked, or found missing).
  virtual Status delete_segments(const std::vector<std::int64_t>& ids) = 0;

  // Retention. Only closed segments that overlap no hold (and no queued or
  // running export) are ever returned.
  // Disk pressure: the oldest footage across all cameras, oldest first, so
  // every camera is cut back to about the same depth of history (a camera
  // with months of footage gives up its oldest before another loses hours).
  // Computed by merging each camera's own oldest few: no full-table sort.
  virtual Result<std::vector<Segment>> oldest_unheld_segments(int limit) = 0;
  // Age: segments that ended more than min(camera retention_days,
  // max_age_days) days before now (max_age_days for a deleted camera).
  virtual Result<std::vector<Segment>> expired_segments(int max_age_days, int limit) = 0;

  // Recorders cut about every minute; the bound lets an overlap query use the
  // (camera, start) index without scanning a camera's whole history.
  static constexpr std::int64_t kMaxSegmentNs = 6LL * 3600 * 1'000'000'000;

 protected:
  ~SegmentCatalog() = default;
};

}  // namespace zaulek::storage
