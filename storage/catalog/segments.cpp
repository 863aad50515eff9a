// The segment index, its timeline, and the retention queries over it.
#include <algorithm>
#include <array>
#include <filesystem>
#include <iterator>
#include <limits>
#include <tuple>

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
// segment_ranges (migration 0012): the range that may reach past `at` is the
// last one starting at or before it (ranges are disjoint); later ones start after.
#define ZAULEK_RANGES_FROM(at)                                                          \
  " camera_id = ?1 AND start_ns >= coalesce((SELECT start_ns FROM segment_ranges WHERE" \
  " camera_id = ?1 AND start_ns <= " at " ORDER BY start_ns DESC LIMIT 1), " at ") "
// The fold that makes ranges (the same as migration 0012's), over one
// camera's live segments starting in [?2, ?3].
constexpr const char* kRefoldSql =
    "INSERT INTO segment_ranges (camera_id, start_ns, end_ns, segments) "
    "SELECT ?1, min(start_ns), max(end_ns), count(*) FROM ("
    " SELECT start_ns, end_ns, sum(brk) OVER (ORDER BY start_ns, id) AS grp FROM ("
    "  SELECT start_ns, end_ns, id, coalesce(start_ns > max(end_ns) OVER (ORDER BY start_ns, id"
    "   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 1) AS brk"
    "  FROM segments WHERE camera_id = ?1 AND start_ns >= ?2 AND start_ns <= ?3"
    "  AND state != 'deleting')) GROUP BY grp";

using Where = SegmentWhere;
Where read_where(const sql::Stmt& st) {
  return {st.text("camera_id"), st.int64("start_ns"), st.int64("end_ns"), st.text("state")};
}
constexpr const char* kWhereSql =
    "SELECT camera_id, start_ns, end_ns, state FROM segments WHERE id = ?1";

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
  // The batch's own runs first (a reconciliation batch is mostly one run per
  // camera), then one join per run instead of one per segment.
  struct Run {
    const std::string* camera;
    std::int64_t start, end, count;
  };
  std::vector<Run> runs;
  for (const Segment& s : segments) runs.push_back({&s.camera_id, s.start_ns, s.end_ns, 1});
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) {
    return std::tie(*a.camera, a.start) < std::tie(*b.camera, b.start);
  });
  std::size_t kept = 0;
  for (std::size_t i = 1; i < runs.size(); ++i) {
    Run& cur = runs[kept];
    if (*runs[i].camera == *cur.camera && runs[i].start <= cur.end) {
      cur.end = std::max(cur.end, runs[i].end);
      cur.count += runs[i].count;
    } else {
      runs[++kept] = runs[i];
    }
  }
  runs.resize(kept + 1);
  for (const Run& r : runs) {
    if (auto j = join_range(*r.camera, r.start, r.end, r.count); !j) return j.error();
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
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  auto was = sql::query_one(*writer_, kWhereSql, read_where, id);
  if (!was) return was.error();
  if (auto r = sql::execute(
          *writer_,
          "UPDATE segments SET end_ns = ?2, bytes = ?3, keyframes = ?4, "
          "checksum = coalesce(?5, checksum), state = CASE WHEN ?6 THEN 'closed' ELSE state END "
          "WHERE id = ?1 AND state = 'open' AND ?2 >= start_ns AND ?2 - start_ns <= ?7",
          id, end_ns, bytes, keyframes, checksum, close ? 1 : 0, kMaxSegmentNs);
      !r)
    return with_context(r.error(), "updating segment " + std::to_string(id));
  if (writer_->changes() > 0) {
    // A growing end joins what it now touches; a shrinking one may split its range.
    const Where& w = **was;
    auto upkeep = end_ns >= w.end_ns ? join_range(w.camera_id, w.start_ns, end_ns, 0)
                                     : refold_range(w.camera_id, w.start_ns);
    if (!upkeep) return upkeep;
    return tx->commit();
  }
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
  // The kept ranges, not the segments: ~100 rows for 90 days instead of ~130,000.
  struct Stored {
    TimeRange range;
    std::int64_t segments;
  };
  auto stored = sql::query_all(
      **r,
      "SELECT start_ns, end_ns, segments FROM segment_ranges WHERE" ZAULEK_RANGES_FROM(
          "?2") "AND start_ns < ?3 AND end_ns > ?2 ORDER BY start_ns",
      [](const sql::Stmt& st) {
        return Stored{{st.int64("start_ns"), st.int64("end_ns")}, st.int64("segments")};
      },
      camera_id, from_ns, to_ns);
  if (!stored) return stored.error();
  Timeline t;
  std::optional<TimeRange> cur;
  for (const Stored& k : *stored) {
    // A range inside the window counts all its segments; one cut by an edge
    // counts those that overlap the window.
    if (k.range.start_ns > from_ns && k.range.end_ns < to_ns) {
      t.segments += k.segments;
    } else {
      auto n = count_in_window(**r, camera_id, k.range, k.segments, from_ns, to_ns);
      if (!n) return n.error();
      t.segments += *n;
    }
    std::int64_t s = std::max(k.range.start_ns, from_ns);
    std::int64_t e = std::min(k.range.end_ns, to_ns);
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

Result<std::int64_t> SqliteCatalog::count_in_window(sql::Connection& reader,
                                                    const std::string& camera_id,
                                                    const TimeRange& range, std::int64_t segments,
                                                    std::int64_t from_ns, std::int64_t to_ns) {
  auto count = [&](const char* sql, std::int64_t lo, std::int64_t hi) {
    return sql::query_one(
        reader, sql, [](const sql::Stmt& st) { return st.int64("n"); }, camera_id, lo, hi, from_ns,
        to_ns);
  };
  // Count whichever part of the range is shorter in time: the segments inside
  // the window, or those outside it (subtracted from the range's count).
  const double whole = static_cast<double>(range.end_ns) - static_cast<double>(range.start_ns);
  const double inside = static_cast<double>(std::min(range.end_ns, to_ns)) -
                        static_cast<double>(std::max(range.start_ns, from_ns));
  if (inside * 2 <= whole) {
    auto n = count(
        "SELECT count(*) AS n FROM segments WHERE camera_id = ?1 AND start_ns >= ?2 AND "
        "start_ns <= ?3 AND start_ns < ?5 AND end_ns > ?4 AND state != 'deleting'",
        std::max(range.start_ns, from_ns - overlap_back(from_ns)), range.end_ns);
    if (!n) return n.error();
    return n->value_or(0);
  }
  auto n = count(
      "SELECT count(*) AS n FROM segments WHERE camera_id = ?1 AND start_ns >= ?2 AND "
      "start_ns <= ?3 AND (end_ns <= ?4 OR start_ns >= ?5) AND state != 'deleting'",
      range.start_ns, range.end_ns);
  if (!n) return n.error();
  return segments - n->value_or(0);
}

Status SqliteCatalog::join_range(const std::string& camera_id, std::int64_t start_ns,
                                 std::int64_t end_ns, std::int64_t count) {
  // Ranges the closed interval touches merge with it (and so with each other).
  auto touched = sql::query_one(
      *writer_,
      "SELECT min(start_ns) AS lo, max(end_ns) AS hi, coalesce(sum(segments), 0) AS n, "
      "count(*) AS k FROM segment_ranges WHERE" ZAULEK_RANGES_FROM("?2") "AND start_ns <= ?3 "
      "AND end_ns >= ?2",
      [](const sql::Stmt& st) {
        return std::array<std::int64_t, 4>{st.is_null("lo") ? 0 : st.int64("lo"),
                                           st.is_null("hi") ? 0 : st.int64("hi"), st.int64("n"),
                                           st.int64("k")};
      },
      camera_id, start_ns, end_ns);
  if (!touched) return touched.error();
  auto [lo, hi, n, k] = touched->value_or(std::array<std::int64_t, 4>{});
  if (k > 0) {
    if (auto d = sql::execute(*writer_,
                              "DELETE FROM segment_ranges WHERE" ZAULEK_RANGES_FROM(
                                  "?2") "AND start_ns <= ?3 AND end_ns >= ?2",
                              camera_id, start_ns, end_ns);
        !d)
      return d;
    start_ns = std::min(start_ns, lo);
    end_ns = std::max(end_ns, hi);
  }
  if (n + count <= 0) return {};  // nothing to keep (an update of an unindexed row)
  return sql::execute(*writer_,
                      "INSERT INTO segment_ranges (camera_id, start_ns, end_ns, segments) "
                      "VALUES (?1, ?2, ?3, ?4)",
                      camera_id, start_ns, end_ns, n + count);
}

// Segment x = [s, e] (id x) has just left the live set. Its range R = [A, B]
// of n segments changes only near x: in the (start, id) order of the fold a
// break can appear only before a segment starting in [s, e] (x bridged it);
// what comes before x stays one group ending at M, the max end of its
// segments (all reached from [s - 6 h, s], since it reached s); what starts
// after e never breaks and ends the range at B. So: fold the segments
// starting in [s, e] onto that prefix, and give the last group what is left
// of n. Cost: the segments of [s - 6 h, e], not the range's length (a
// camera that recorded 90 days without a break: one range of 130,000).
Status SqliteCatalog::leave_range(const SegmentWhere& x, std::int64_t id) {
  auto range = sql::query_one(
      *writer_,
      "SELECT start_ns, end_ns, segments FROM segment_ranges WHERE camera_id = ?1 AND "
      "start_ns <= ?2 AND end_ns >= ?2 ORDER BY start_ns DESC LIMIT 1",
      [](const sql::Stmt& st) {
        return std::array<std::int64_t, 3>{st.int64("start_ns"), st.int64("end_ns"),
                                           st.int64("segments")};
      },
      x.camera_id, x.start_ns);
  if (!range) return range.error();
  if (!*range) return {};  // not in any range: nothing to take away
  const auto [a, b, n] = **range;
  if (auto d = sql::execute(*writer_,
                            "DELETE FROM segment_ranges WHERE camera_id = ?1 AND start_ns = ?2",
                            x.camera_id, a);
      !d)
    return d;
    // Live segments before x in fold order (literals: the statement cache
    // keys on the SQL's address).
#define ZAULEK_BEFORE_X                                                        \
  " FROM segments WHERE camera_id = ?1 AND start_ns >= ?2 AND start_ns <= ?3 " \
  "AND state != 'deleting' AND (start_ns < ?3 OR id < ?4)"
  auto prefix_end = sql::query_one(
      *writer_, "SELECT max(end_ns) AS m" ZAULEK_BEFORE_X,
      [](const sql::Stmt& st) -> std::optional<std::int64_t> {
        if (st.is_null("m")) return std::nullopt;
        return st.int64("m");
      },
      x.camera_id, std::max(a, x.start_ns - overlap_back(x.start_ns)), x.start_ns, id);
  if (!prefix_end) return prefix_end.error();
  struct Group {
    std::int64_t start, end, count;
  };
  std::vector<Group> groups;
  // The prefix's count is read only if a break follows it (rare: x bridged a gap).
  bool prefix = prefix_end->has_value() && prefix_end->value().has_value();
  if (prefix) groups.push_back({a, ***prefix_end, 0});
  auto window = sql::query_all(
      *writer_,
      "SELECT start_ns, end_ns FROM segments WHERE camera_id = ?1 AND start_ns >= ?2 AND "
      "start_ns <= ?3 AND state != 'deleting' AND (start_ns > ?2 OR id > ?4) "
      "ORDER BY start_ns, id",
      [](const sql::Stmt& st) {
        return Group{st.int64("start_ns"), st.int64("end_ns"), 1};
      },
      x.camera_id, x.start_ns, x.end_ns, id);
  if (!window) return window.error();
  for (const Group& g : *window) {
    if (!groups.empty() && g.start <= groups.back().end) {
      groups.back().end = std::max(groups.back().end, g.end);
      ++groups.back().count;
    } else {
      groups.push_back(g);
    }
  }
  if (groups.empty()) return {};  // x was the range's only segment
  if (prefix && groups.size() > 1) {
    auto cp = sql::query_one(
        *writer_, "SELECT count(*) AS n" ZAULEK_BEFORE_X,
        [](const sql::Stmt& st) { return st.int64("n"); }, x.camera_id, a, x.start_ns, id);
    if (!cp) return cp.error();
    groups.front().count += cp->value_or(0);
  }
  auto suffix = sql::query_one(
      *writer_,
      "SELECT 1 AS y FROM segments WHERE camera_id = ?1 AND start_ns > ?2 AND start_ns <= ?3 "
      "AND state != 'deleting' LIMIT 1",
      [](const sql::Stmt& st) { return st.int64("y"); }, x.camera_id, x.end_ns, b);
  if (!suffix) return suffix.error();
  std::int64_t before_last = 0;
  for (std::size_t i = 0; i + 1 < groups.size(); ++i) before_last += groups[i].count;
  groups.back().count = n - 1 - before_last;
  if (*suffix) groups.back().end = b;
  bool consistent = true;
  for (const Group& g : groups) consistent = consistent && g.count > 0;
  if (!consistent) {
    // The kept counts disagree with the rows (never expected): fold the
    // whole range again from its segments rather than store a wrong count.
    return sql::execute(*writer_, kRefoldSql, x.camera_id, a, b);
  }
  for (const Group& g : groups) {
    if (auto i = sql::execute(*writer_,
                              "INSERT INTO segment_ranges (camera_id, start_ns, end_ns, segments) "
                              "VALUES (?1, ?2, ?3, ?4)",
                              x.camera_id, g.start, g.end, g.count);
        !i)
      return i;
  }
  return {};
}

Status SqliteCatalog::refold_range(const std::string& camera_id, std::int64_t at_ns) {
  auto range = sql::query_one(
      *writer_,
      "SELECT start_ns, end_ns FROM segment_ranges WHERE camera_id = ?1 AND start_ns <= ?2 "
      "AND end_ns >= ?2 ORDER BY start_ns DESC LIMIT 1",
      [](const sql::Stmt& st) {
        return TimeRange{st.int64("start_ns"), st.int64("end_ns")};
      },
      camera_id, at_ns);
  if (!range) return range.error();
  if (!*range) return {};  // an earlier refold in this transaction took it
  if (auto d = sql::execute(*writer_,
                            "DELETE FROM segment_ranges WHERE camera_id = ?1 AND start_ns = ?2",
                            camera_id, (*range)->start_ns);
      !d)
    return d;
  // Every live segment of the old range starts inside it, and no other does.
  return sql::execute(*writer_, kRefoldSql, camera_id, (*range)->start_ns, (*range)->end_ns);
}

Result<std::vector<std::int64_t>> SqliteCatalog::mark_segments_deleting(
    const std::vector<std::int64_t>& ids) {
  if (ids.size() > static_cast<std::size_t>(kMaxBatch)) return too_many("segments").error();
  std::vector<std::int64_t> marked;
  std::lock_guard lock(write_mu_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  for (std::int64_t id : ids) {
    auto was = sql::query_one(*writer_, kWhereSql, read_where, id);
    if (!was) return was.error();
    // The hold check sits in the same statement: a hold added after the
    // retention query still wins.
    if (auto r = sql::execute(*writer_,
                              "UPDATE segments AS s SET state = 'deleting' WHERE s.id = ?1 "
                              "AND s.state = 'closed' AND" ZAULEK_NOT_HELD,
                              id);
        !r)
      return r.error();
    if (writer_->changes() > 0) {
      marked.push_back(id);
      // A marked segment leaves the timeline.
      if (auto l = leave_range(**was, id); !l) return l.error();
    }
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
    auto was = sql::query_one(*writer_, kWhereSql, read_where, id);
    if (!was) return was.error();
    if (auto r = sql::execute(*writer_, "DELETE FROM segments WHERE id = ?1", id); !r) return r;
    // Rows marked deleting already left their range; others (a row whose
    // file is missing) leave it now.
    if (*was && (*was)->state != "deleting") {
      if (auto l = leave_range(**was, id); !l) return l;
    }
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
