// The segment index, its timeline, and the retention queries over it.
#include <algorithm>
#include <filesystem>
#include <iterator>
#include <limits>

#include "core/ids.h"
#include "storage/catalog/sqlite_catalog.h"

namespace zaulek::storage {
namespace {

// Hold overlap test shared by retention queries (s = the segment row).
// An export in progress protects its footage like a hold does.
#define ZAULEK_NOT_HELD                                                      \
  " NOT EXISTS (SELECT 1 FROM holds h WHERE h.camera_id = s.camera_id"       \
  " AND h.from_ns < s.end_ns AND h.to_ns > s.start_ns)"                      \
  " AND NOT EXISTS (SELECT 1 FROM exports x WHERE x.camera_id = s.camera_id" \
  " AND x.state IN ('queued', 'running') AND x.from_ns < s.end_ns AND x.to_ns > s.start_ns) "

// Overlap of [from, to) using the (camera_id, start_ns) index: a segment
// that overlaps starts at most kMaxSegmentNs before `from`.
constexpr const char* kOverlapSql =
    "SELECT * FROM segments WHERE camera_id = ?1 AND start_ns >= ?2 - ?5 AND start_ns < ?3 "
    "AND end_ns > ?2 AND state != 'deleting' ORDER BY start_ns LIMIT ?4";
// The same rows, only the times: the timeline reads no paths or codecs.
constexpr const char* kOverlapTimesSql =
    "SELECT start_ns, end_ns FROM segments WHERE camera_id = ?1 AND start_ns >= ?2 - ?5 "
    "AND start_ns < ?3 AND end_ns > ?2 AND state != 'deleting' ORDER BY start_ns LIMIT ?4";

// How far before `from_ns` an overlapping segment may start (?5 above),
// saturated instead of overflowing near the int64 minimum.
std::int64_t overlap_back(std::int64_t from_ns) {
  return from_ns < std::numeric_limits<std::int64_t>::min() + Catalog::kMaxSegmentNs
             ? from_ns - std::numeric_limits<std::int64_t>::min()
             : Catalog::kMaxSegmentNs;
}

Result<Segment> read_segment(const sql::Stmt& st) {
  Segment s;
  s.id = st.int64("id");
  s.camera_id = st.text("camera_id");
  s.start_ns = st.int64("start_ns");
  s.end_ns = st.int64("end_ns");
  s.bytes = st.int64("bytes");
  s.path = st.text("path");
  s.codec = st.text("codec");
  s.keyframes = st.int64("keyframes");
  s.checksum = st.opt_text("checksum");
  std::string state = st.text("state");
  if (state == "open") {
    s.state = SegmentState::open;
  } else if (state == "closed") {
    s.state = SegmentState::closed;
  } else if (state == "deleting") {
    s.state = SegmentState::deleting;
  } else {
    return make_error(ErrorKind::data_loss,
                      "segment " + std::to_string(s.id) + " has state " + state);
  }
  return s;
}

Status validate_segment(const Segment& s) {
  if (!valid_camera_id(s.camera_id)) {
    return make_error(ErrorKind::invalid_argument, "segment has an invalid camera id");
  }
  std::int64_t length = 0;
  if (__builtin_sub_overflow(s.end_ns, s.start_ns, &length) || length < 0 ||
      length > Catalog::kMaxSegmentNs) {
    return make_error(
        ErrorKind::invalid_argument,
        "segment of " + s.camera_id + " must end after it starts and last at most 6 h");
  }
  if (s.path.empty() || s.path.size() > 1024) {
    return make_error(ErrorKind::invalid_argument, "segment path must be 1 to 1024 characters");
  }
  // Deletion unlinks root / path: a path must never lead outside the root.
  std::filesystem::path p(s.path);
  bool escapes = p.is_absolute();
  for (const auto& part : p) escapes = escapes || part == "..";
  if (escapes) {
    return make_error(
        ErrorKind::invalid_argument,
        "segment path " + s.path + " must be relative to the storage root, without ..");
  }
  if (s.bytes < 0 || s.keyframes < 0) {
    return make_error(ErrorKind::invalid_argument,
                      "segment bytes and keyframes must not be negative");
  }
  if (s.state == SegmentState::deleting) {
    return make_error(ErrorKind::invalid_argument, "a new segment cannot be in state deleting");
  }
  return {};
}

// Merges per-camera lists (each sorted by start) into the `limit` oldest.
std::vector<Segment> merge_oldest(std::vector<std::vector<Segment>> lists, int limit) {
  std::vector<Segment> all;
  for (auto& l : lists) std::move(l.begin(), l.end(), std::back_inserter(all));
  std::stable_sort(all.begin(), all.end(),
                   [](const Segment& a, const Segment& b) { return a.start_ns < b.start_ns; });
  if (all.size() > static_cast<std::size_t>(limit)) all.resize(static_cast<std::size_t>(limit));
  return all;
}

Status too_many(const char* what) {
  return make_error(
      ErrorKind::invalid_argument,
      std::string("at most ") + std::to_string(Catalog::kMaxBatch) + " " + what + " at a time");
}

}  // namespace

std::string_view to_string(SegmentState state) {
  switch (state) {
    case SegmentState::open:
      return "open";
    case SegmentState::closed:
      return "closed";
    case SegmentState::deleting:
      return "deleting";
  }
  return "open";
}

Result<std::int64_t> SqliteCatalog::add_segment(const Segment& segment) {
  auto ids = add_segments({segment});
  if (!ids) return ids.error();
  return ids->front();
}

Result<std::vector<std::int64_t>> SqliteCatalog::add_segments(
    const std::vector<Segment>& segments) {
  if (segments.empty() || segments.size() > static_cast<std::size_t>(kMaxBatch)) {
    return make_error(ErrorKind::invalid_argument,
                      "add 1 to " + std::to_string(kMaxBatch) + " segments at a time");
  }
  for (const Segment& s : segments) {
    if (auto v = validate_segment(s); !v) return v.error();
  }
  std::vector<std::int64_t> ids;
  ids.reserve(segments.size());
  std::lock_guard lock(write_mu_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  for (const Segment& s : segments) {
    if (auto r = sql::execute(*writer_,
                              "INSERT INTO segments (camera_id, start_ns, end_ns, bytes, path, "
                              "codec, keyframes, checksum, state) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                              s.camera_id, s.start_ns, s.end_ns, s.bytes, s.path, s.codec,
                              s.keyframes, s.checksum, to_string(s.state));
        !r) {
      if (r.error().kind == ErrorKind::already_exists) {
        return make_error(ErrorKind::already_exists,
                          "segment file " + s.path + " is already indexed");
      }
      return with_context(r.error(), "indexing segment " + s.path);
    }
    ids.push_back(writer_->last_insert_rowid());
  }
  if (auto c = tx->commit(); !c) return c.error();
  return ids;
}

Status SqliteCatalog::update_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                                     std::int64_t keyframes) {
  return finish_segment(id, end_ns, bytes, keyframes, std::nullopt, false);
}

Status SqliteCatalog::close_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                                    std::int64_t keyframes, std::optional<std::string> checksum) {
  return finish_segment(id, end_ns, bytes, keyframes, std::move(checksum), true);
}

Status SqliteCatalog::finish_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                                     std::int64_t keyframes, std::optional<std::string> checksum,
                                     bool close) {
  if (bytes < 0 || keyframes < 0) {
    return make_error(ErrorKind::invalid_argument,
                      "segment bytes and keyframes must not be negative");
  }
  std::lock_guard lock(write_mu_);
  if (auto r = sql::execute(
          *writer_,
          "UPDATE segments SET end_ns = ?2, bytes = ?3, keyframes = ?4, "
          "checksum = coalesce(?5, checksum), state = CASE WHEN ?6 THEN 'closed' ELSE state END "
          "WHERE id = ?1 AND state = 'open' AND ?2 >= start_ns AND ?2 - start_ns <= ?7",
          id, end_ns, bytes, keyframes, checksum, close ? 1 : 0, kMaxSegmentNs);
      !r)
    return with_context(r.error(), "updating segment " + std::to_string(id));
  if (writer_->changes() > 0) return {};
  // Say why nothing changed: unknown, no longer open, or a bad end.
  auto state = sql::query_one(
      *writer_, "SELECT state, start_ns FROM segments WHERE id = ?1",
      [](const sql::Stmt& st) { return st.text("state"); }, id);
  if (!state) return state.error();
  if (!*state) return make_error(ErrorKind::not_found, "no segment " + std::to_string(id));
  if (**state != "open") {
    return make_error(ErrorKind::failed_precondition,
                      "segment " + std::to_string(id) + " is " + **state + ", not open");
  }
  return make_error(
      ErrorKind::invalid_argument,
      "segment " + std::to_string(id) + " must end after it starts and last at most 6 h");
}

Result<Segment> SqliteCatalog::find_segment(std::int64_t id) {
  return find_one("SELECT * FROM segments WHERE id = ?1", read_segment,
                  "no segment " + std::to_string(id), id);
}

Result<std::vector<Segment>> SqliteCatalog::list_segments(const std::string& camera_id,
                                                          std::int64_t from_ns, std::int64_t to_ns,
                                                          int limit) {
  if (auto v = validate_range(from_ns, to_ns); !v) return v.error();
  return list_page(kOverlapSql, read_segment, camera_id, from_ns, to_ns, sql::Limit{limit},
                   overlap_back(from_ns));
}

Result<Timeline> SqliteCatalog::timeline(const std::string& camera_id, std::int64_t from_ns,
                                         std::int64_t to_ns, std::int64_t tolerance_ns) {
  if (auto v = validate_range(from_ns, to_ns); !v) return v.error();
  if (tolerance_ns < 0 || tolerance_ns > kMaxSegmentNs) {
    return make_error(ErrorKind::invalid_argument, "tolerance must be 0 to 6 h");
  }
  auto r = readers_.borrow();
  if (!r) return r.error();
  auto st = (*r)->prepare(kOverlapTimesSql);
  if (!st) return st.error();
  (*st)->bind_all(camera_id, from_ns, to_ns, std::numeric_limits<std::int64_t>::max(),
                  overlap_back(from_ns));
  // Stream the rows: a long range never holds every segment in memory.
  Timeline t;
  std::optional<TimeRange> cur;
  for (;;) {
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) break;
    ++t.segments;
    std::int64_t s = std::max((*st)->int64("start_ns"), from_ns);
    std::int64_t e = std::min((*st)->int64("end_ns"), to_ns);
    // Difference, not sum: both lie in [from, to], whose width fits in int64.
    if (cur && (s <= cur->end_ns || s - cur->end_ns <= tolerance_ns)) {
      cur->end_ns = std::max(cur->end_ns, e);
    } else {
      if (cur) t.ranges.push_back(*cur);
      cur = TimeRange{s, e};
    }
  }
  if (cur) t.ranges.push_back(*cur);
  std::int64_t at = from_ns;
  for (const TimeRange& range : t.ranges) {
    if (range.start_ns > at) t.gaps.push_back({at, range.start_ns});
    at = std::max(at, range.end_ns);
  }
  if (at < to_ns) t.gaps.push_back({at, to_ns});
  return t;
}

Result<std::vector<std::int64_t>> SqliteCatalog::mark_segments_deleting(
    const std::vector<std::int64_t>& ids) {
  if (ids.size() > static_cast<std::size_t>(kMaxBatch)) return too_many("segments").error();
  std::vector<std::int64_t> marked;
  std::lock_guard lock(write_mu_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  for (std::int64_t id : ids) {
    // The hold check sits in the same statement: a hold added after the
    // retention query still wins.
    if (auto r = sql::execute(*writer_,
                              "UPDATE segments AS s SET state = 'deleting' WHERE s.id = ?1 "
                              "AND s.state = 'closed' AND" ZAULEK_NOT_HELD,
                              id);
        !r)
      return r.error();
    if (writer_->changes() > 0) marked.push_back(id);
  }
  if (auto c = tx->commit(); !c) return c.error();
  return marked;
}

Result<std::vector<Segment>> SqliteCatalog::list_all_segments(std::int64_t after_id, int limit) {
  return list_page("SELECT * FROM segments WHERE id > ?1 ORDER BY id LIMIT ?2", read_segment,
                   after_id, sql::Limit{limit});
}

Result<std::vector<Segment>> SqliteCatalog::list_deleting_segments(int limit) {
  return list_page("SELECT * FROM segments WHERE state = 'deleting' ORDER BY id LIMIT ?1",
                   read_segment, sql::Limit{limit});
}

Status SqliteCatalog::delete_segments(const std::vector<std::int64_t>& ids) {
  if (ids.size() > static_cast<std::size_t>(kMaxBatch)) return too_many("segments");
  std::lock_guard lock(write_mu_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  for (std::int64_t id : ids) {
    if (auto r = sql::execute(*writer_, "DELETE FROM segments WHERE id = ?1", id); !r) return r;
  }
  return tx->commit();
}

Result<std::vector<Segment>> SqliteCatalog::oldest_unheld_segments(int limit) {
  return retention_candidates(std::nullopt, limit);
}

Result<std::vector<Segment>> SqliteCatalog::expired_segments(int max_age_days, int limit) {
  if (max_age_days < 1 || max_age_days > 3650) {
    return make_error(ErrorKind::invalid_argument, "max_age_days must be 1 to 3650");
  }
  return retention_candidates(max_age_days, limit);
}

// Per camera (found by skip-scanning the index, not by reading every row),
// its oldest closed unheld segments before its cutoff; then the oldest of all.
Result<std::vector<Segment>> SqliteCatalog::retention_candidates(std::optional<int> max_age_days,
                                                                 int limit) {
  if (auto v = validate_limit(limit); !v) return v.error();
  auto r = readers_.borrow();
  if (!r) return r.error();
  auto cameras =
      sql::query_all(**r,
                     "WITH RECURSIVE cams(id) AS ("
                     " SELECT (SELECT min(camera_id) FROM segments)"
                     " UNION ALL"
                     " SELECT (SELECT min(camera_id) FROM segments WHERE camera_id > cams.id)"
                     " FROM cams WHERE cams.id IS NOT NULL)"
                     " SELECT id FROM cams WHERE id IS NOT NULL",
                     [](const sql::Stmt& row) { return row.text("id"); });
  if (!cameras) return cameras.error();
  const std::int64_t now = to_unix_ns(clock_.realtime());
  constexpr std::int64_t kDayNs = 86400LL * 1'000'000'000;
  std::vector<std::vector<Segment>> lists;
  for (const std::string& camera : *cameras) {
    std::int64_t cutoff = std::numeric_limits<std::int64_t>::max();
    if (max_age_days) {
      auto own = sql::query_one(
          **r, "SELECT retention_days FROM cameras WHERE id = ?1",
          [](const sql::Stmt& row) { return static_cast<int>(row.int64("retention_days")); },
          camera);
      if (!own) return own.error();
      int days = std::min(*max_age_days, own->value_or(*max_age_days));
      cutoff = now - days * kDayNs;
    }
    auto l = sql::query_all(**r,
                            "SELECT * FROM segments AS s WHERE s.camera_id = ?1 AND s.state = "
                            "'closed' AND s.end_ns <= ?2 AND" ZAULEK_NOT_HELD
                            "ORDER BY s.start_ns LIMIT ?3",
                            read_segment, camera, cutoff, sql::Limit{limit});
    if (!l) return l.error();
    lists.push_back(std::move(*l));
  }
  return merge_oldest(std::move(lists), limit);
}

}  // namespace zaulek::storage
