// Evidence holds: what keeps footage from retention and disk pressure.
#include "core/ids.h"
#include "storage/catalog/sqlite_catalog.h"

namespace zaulek::storage {
namespace {

Hold read_hold(const sql::Stmt& st) {
  Hold h;
  h.id = st.int64("id");
  h.camera_id = st.text("camera_id");
  h.from_ns = st.int64("from_ns");
  h.to_ns = st.int64("to_ns");
  h.reason = st.text("reason");
  h.created_by = st.text("created_by");
  h.created = from_ns(st.int64("created_ns"));
  return h;
}

}  // namespace

Result<Hold> SqliteCatalog::add_hold(const Hold& hold) {
  if (!valid_camera_id(hold.camera_id))
    return make_error(ErrorKind::invalid_argument, "hold has an invalid camera id");
  if (auto v = validate_range(hold.from_ns, hold.to_ns); !v) return v.error();
  if (hold.reason.empty() || hold.reason.size() > 1024) {
    return make_error(ErrorKind::invalid_argument, "hold reason must be 1 to 1024 characters");
  }
  Hold h = hold;
  h.created = clock_.realtime();
  std::lock_guard lock(write_mu_);
  // A hold is what keeps evidence from retention: it must survive a power cut.
  sql::DurableScope durable(*writer_);
  if (auto r = sql::execute(*writer_,
                            "INSERT INTO holds (camera_id, from_ns, to_ns, reason, created_by, "
                            "created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            h.camera_id, h.from_ns, h.to_ns, h.reason, h.created_by,
                            to_unix_ns(h.created));
      !r)
    return with_context(r.error(), "adding hold on " + h.camera_id);
  h.id = writer_->last_insert_rowid();
  return h;
}

Result<std::vector<Hold>> SqliteCatalog::list_holds(const std::string& camera_id) {
  return list_page(
      "SELECT * FROM holds WHERE ?1 = '' OR camera_id = ?1 ORDER BY camera_id, from_ns, id",
      read_hold, camera_id);
}

Status SqliteCatalog::delete_hold(std::int64_t id) {
  std::lock_guard lock(write_mu_);
  sql::DurableScope durable(*writer_);
  return changed_one(sql::execute(*writer_, "DELETE FROM holds WHERE id = ?1", id), "hold", id);
}

}  // namespace zaulek::storage
