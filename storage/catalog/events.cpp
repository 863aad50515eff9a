// Camera events, and the retention of what describes footage (events and
// bookmarks).
#include <algorithm>

#include "core/ids.h"
#include "storage/catalog/sqlite_catalog.h"

namespace zaulek::storage {
namespace {

Event read_event(const sql::Stmt& st) {
  Event e;
  e.id = st.int64("id");
  e.camera_id = st.text("camera_id");
  e.time_ns = st.int64("time_ns");
  e.kind = st.text("kind");
  e.state = st.text("state");
  e.topic = st.text("topic");
  e.source = st.text("source");
  e.data = st.text("data");
  return e;
}

}  // namespace

Result<std::vector<std::int64_t>> SqliteCatalog::add_events(const std::vector<Event>& events) {
  if (events.empty() || events.size() > static_cast<std::size_t>(kMaxBatch)) {
    return make_error(ErrorKind::invalid_argument,
                      "add 1 to " + std::to_string(kMaxBatch) + " events at a time");
  }
  for (const Event& e : events) {
    if (!valid_camera_id(e.camera_id)) {
      return make_error(ErrorKind::invalid_argument, "event has an invalid camera id");
    }
    // Bounded before SQLite parses source and data as JSON.
    if (e.topic.size() > 1024 || e.source.size() > 8192 || e.data.size() > 8192) {
      return make_error(
          ErrorKind::invalid_argument,
          "event of " + e.camera_id + ": topic over 1024 or source/data over 8192 bytes");
    }
  }
  std::vector<std::int64_t> ids;
  ids.reserve(events.size());
  std::int64_t fresh = 0;  // ids for the events that come without one
  if (auto without =
          std::count_if(events.begin(), events.end(), [](const Event& e) { return e.id == 0; })) {
    auto first = reserve_event_ids(static_cast<int>(without));
    if (!first) return first.error();
    fresh = *first;
  }
  const std::string empty_json = "{}";
  std::lock_guard lock(write_mu_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  for (const Event& e : events) {
    std::int64_t id = e.id != 0 ? e.id : fresh++;
    if (auto r = sql::execute(*writer_,
                              "INSERT INTO events (id, camera_id, time_ns, kind, state, topic, "
                              "source, data) VALUES (?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                              e.camera_id, e.time_ns, e.kind, e.state, e.topic,
                              e.source.empty() ? empty_json : e.source,
                              e.data.empty() ? empty_json : e.data, id);
        !r) {
      if (r.error().kind == ErrorKind::invalid_argument) {
        return make_error(ErrorKind::invalid_argument,
                          "event of " + e.camera_id +
                              ": unknown kind or state, topic over 1024 characters, or "
                              "source/data not a JSON text of at most 8192 characters");
      }
      return with_context(r.error(), "adding event of " + e.camera_id);
    }
    ids.push_back(id);
  }
  if (auto c = tx->commit(); !c) return c.error();
  return ids;
}

Result<std::int64_t> SqliteCatalog::reserve_event_ids(int n) {
  if (n < 1 || n > kMaxBatch)
    return make_error(ErrorKind::invalid_argument,
                      "reserve 1 to " + std::to_string(kMaxBatch) + " event ids at a time");
  std::lock_guard lock(event_ids_mu_);
  if (next_event_id_ == 0) {  // first use: after the highest id on disk
    auto last = find_one(
        "SELECT coalesce(max(id), 0) AS last FROM events",
        [](const sql::Stmt& st) { return st.int64("last"); }, "no last event id");
    if (!last) return with_context(last.error(), "reading the last event id");
    next_event_id_ = *last + 1;
  }
  std::int64_t first = next_event_id_;
  next_event_id_ += n;
  return first;
}

Result<std::vector<Event>> SqliteCatalog::list_events(const EventQuery& q) {
  return list_by_time(
      "SELECT * FROM events WHERE time_ns >= ?2 AND time_ns < ?3 AND id > ?4 AND ?1 = '' "
      "AND (?6 IS NULL OR camera_id IN (SELECT value FROM json_each(?6))) "
      "ORDER BY time_ns, id LIMIT ?5",
      "SELECT * FROM events WHERE camera_id = ?1 AND time_ns >= ?2 AND time_ns < ?3 "
      "AND id > ?4 AND (?6 IS NULL OR camera_id IN (SELECT value FROM json_each(?6))) "
      "ORDER BY time_ns, id LIMIT ?5",
      q.camera_id, q.from_ns, q.to_ns, q.after_id, q.limit, q.cameras, read_event);
}

Result<Catalog::ExpiredMetadata> SqliteCatalog::delete_expired_metadata(int max_age_days,
                                                                        int limit) {
  if (max_age_days < 1 || max_age_days > 3650)
    return make_error(ErrorKind::invalid_argument, "max_age_days must be 1 to 3650");
  if (auto v = validate_limit(limit); !v) return v.error();
  constexpr std::int64_t kDayNs = 86400LL * 1'000'000'000;
  const std::int64_t now = to_unix_ns(clock_.realtime());
  std::lock_guard lock(write_mu_);
  // Nothing younger than the shortest retention goes: the time index
  // bounds the scan, the camera's own retention decides.
  auto days = sql::query_one(
      *writer_, "SELECT min(retention_days) AS days FROM cameras", [](const sql::Stmt& st) {
        return st.is_null("days") ? std::optional<std::int64_t>() : st.int64("days");
      });
  if (!days) return days.error();
  std::int64_t shortest = max_age_days;
  if (auto d = days->value_or(std::nullopt)) shortest = std::min(shortest, *d);
  auto sweep = [&](const char* sql) -> Result<std::int64_t> {
    if (auto r = sql::execute(*writer_, sql, now - shortest * kDayNs, now, max_age_days, limit); !r)
      return r.error();
    return static_cast<std::int64_t>(writer_->changes());
  };
  ExpiredMetadata out;
  auto events = sweep(
      "DELETE FROM events WHERE id IN (SELECT x.id FROM events AS x "
      "LEFT JOIN cameras c ON c.id = x.camera_id WHERE x.time_ns < ?1 "
      "AND x.time_ns < ?2 - min(?3, coalesce(c.retention_days, ?3)) * 86400000000000 "
      "AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.camera_id = x.camera_id "
      "AND h.from_ns <= x.time_ns AND h.to_ns > x.time_ns) ORDER BY x.time_ns LIMIT ?4)");
  if (!events) return with_context(events.error(), "deleting expired events");
  out.events = *events;
  auto bookmarks = sweep(
      "DELETE FROM bookmarks WHERE id IN (SELECT x.id FROM bookmarks AS x "
      "LEFT JOIN cameras c ON c.id = x.camera_id WHERE x.time_ns < ?1 "
      "AND coalesce(x.until_ns, x.time_ns) < "
      "?2 - min(?3, coalesce(c.retention_days, ?3)) * 86400000000000 "
      "AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.camera_id = x.camera_id "
      "AND h.from_ns < coalesce(x.until_ns, x.time_ns + 1) AND h.to_ns > x.time_ns) "
      "ORDER BY x.time_ns LIMIT ?4)");
  if (!bookmarks) return with_context(bookmarks.error(), "deleting expired bookmarks");
  out.bookmarks = *bookmarks;
  return out;
}

}  // namespace zaulek::storage
