// Bookmarks: moments of footage marked by a user or a rule.
#include "core/ids.h"
#include "storage/catalog/sqlite_catalog.h"

namespace zaulek::storage {
namespace {

Bookmark read_bookmark(const sql::Stmt& st) {
  Bookmark b;
  b.id = st.int64("id");
  b.camera_id = st.text("camera_id");
  b.time_ns = st.int64("time_ns");
  if (!st.is_null("until_ns")) b.until_ns = st.int64("until_ns");
  if (!st.is_null("alarm_id")) b.alarm_id = st.int64("alarm_id");
  b.rule_id = st.opt_text("rule_id");
  b.note = st.text("note");
  b.created_by = st.text("created_by");
  b.created = from_ns(st.int64("created_ns"));
  return b;
}

}  // namespace

Result<Bookmark> SqliteCatalog::add_bookmark(const Bookmark& bookmark) {
  auto bad = [](const std::string& what) {
    return make_error(ErrorKind::invalid_argument, "bookmark " + what);
  };
  if (!valid_camera_id(bookmark.camera_id)) return bad("camera_id is not a camera id");
  if (bookmark.until_ns && *bookmark.until_ns <= bookmark.time_ns)
    return bad("until must be after time");
  if (bookmark.note.size() > 4096) return bad("note is longer than 4096 bytes");
  if (bookmark.rule_id && !valid_camera_id(*bookmark.rule_id))  // same alphabet as camera ids
    return bad("rule_id must be [A-Za-z0-9._-]{1,64}");
  if (bookmark.created_by.empty() || bookmark.created_by.size() > 64)
    return bad("created_by must be 1 to 64 characters");
  Bookmark b = bookmark;
  b.created = clock_.realtime();
  std::lock_guard lock(write_mu_);
  if (auto r = sql::execute(*writer_,
                            "INSERT INTO bookmarks (camera_id, time_ns, until_ns, alarm_id, "
                            "rule_id, note, created_by, created_ns) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            b.camera_id, b.time_ns, b.until_ns, b.alarm_id, b.rule_id, b.note,
                            b.created_by, to_unix_ns(b.created));
      !r)
    return with_context(r.error(), "adding bookmark on " + b.camera_id);
  b.id = writer_->last_insert_rowid();
  return b;
}

Result<Bookmark> SqliteCatalog::find_bookmark(std::int64_t id) {
  return find_one("SELECT * FROM bookmarks WHERE id = ?1", read_bookmark,
                  "no bookmark " + std::to_string(id), id);
}

Result<std::vector<Bookmark>> SqliteCatalog::list_bookmarks(const BookmarkQuery& q) {
  return list_by_time(
      "SELECT * FROM bookmarks WHERE time_ns >= ?2 AND time_ns < ?3 AND id > ?4 AND ?1 = '' "
      "AND (?6 IS NULL OR camera_id IN (SELECT value FROM json_each(?6))) "
      "ORDER BY time_ns, id LIMIT ?5",
      "SELECT * FROM bookmarks WHERE camera_id = ?1 AND time_ns >= ?2 AND time_ns < ?3 "
      "AND id > ?4 AND (?6 IS NULL OR camera_id IN (SELECT value FROM json_each(?6))) "
      "ORDER BY time_ns, id LIMIT ?5",
      q.camera_id, q.from_ns, q.to_ns, q.after_id, q.limit, q.cameras, read_bookmark);
}

Status SqliteCatalog::delete_bookmark(std::int64_t id) {
  std::lock_guard lock(write_mu_);
  return changed_one(sql::execute(*writer_, "DELETE FROM bookmarks WHERE id = ?1", id), "bookmark",
                     id);
}

}  // namespace zaulek::storage
