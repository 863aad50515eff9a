// Evidence export jobs: queued -> running -> done | failed.
#include "core/ids.h"
#include "storage/catalog/sqlite_catalog.h"

namespace zaulek::storage {
namespace {

std::optional<ExportState> parse_export_state(std::string_view text) {
  if (text == "queued") return ExportState::queued;
  if (text == "running") return ExportState::running;
  if (text == "done") return ExportState::done;
  if (text == "failed") return ExportState::failed;
  return std::nullopt;
}

Result<Export> read_export(const sql::Stmt& st) {
  Export x;
  x.id = st.text("id");
  x.camera_id = st.text("camera_id");
  x.from_ns = st.int64("from_ns");
  x.to_ns = st.int64("to_ns");
  auto state = parse_export_state(st.text("state"));
  if (!state) return make_error(ErrorKind::data_loss, "export " + x.id + " has an unknown state");
  x.state = *state;
  x.path = st.text("path");
  x.bytes = st.int64("bytes");
  x.sha256 = st.text("sha256");
  x.error = st.text("error");
  x.created_by = st.text("created_by");
  x.created = from_ns(st.int64("created_ns"));
  if (!st.is_null("finished_ns")) x.finished = from_ns(st.int64("finished_ns"));
  if (!st.is_null("hold_id")) x.hold_id = st.int64("hold_id");
  return x;
}

// The longest prefix of `text` of at most `max` bytes that does not end
// inside a UTF-8 character.
std::string utf8_prefix(const std::string& text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;
  return text.substr(0, n);
}

}  // namespace

std::string_view to_string(ExportState state) {
  switch (state) {
    case ExportState::queued:
      return "queued";
    case ExportState::running:
      return "running";
    case ExportState::done:
      return "done";
    case ExportState::failed:
      return "failed";
  }
  return "failed";
}

Result<Export> SqliteCatalog::insert_export(const Export& job) {
  if (!valid_camera_id(job.camera_id)) {
    return make_error(ErrorKind::invalid_argument, "export has an invalid camera id");
  }
  if (auto v = validate_range(job.from_ns, job.to_ns); !v) return v.error();
  Export x = job;
  x.state = ExportState::queued;
  x.created = clock_.realtime();
  x.finished.reset();
  x.path.clear();
  x.bytes = 0;
  x.sha256.clear();
  x.error.clear();
  x.hold_id.reset();
  auto next = sql::query_one(
      *writer_, "UPDATE counters SET value = value + 1 WHERE name = 'export' RETURNING value",
      [](const sql::Stmt& st) { return st.int64("value"); });
  if (!next) return next.error();
  if (!*next) return make_error(ErrorKind::data_loss, "export id counter is missing");
  x.id = "exp-" + std::to_string(**next);
  if (auto r =
          sql::execute(*writer_,
                       "INSERT INTO exports (id, camera_id, from_ns, to_ns, state, "
                       "created_by, created_ns) VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6)",
                       x.id, x.camera_id, x.from_ns, x.to_ns, x.created_by, to_unix_ns(x.created));
      !r)
    return with_context(r.error(), "adding export " + x.id);
  return x;
}

Result<Export> SqliteCatalog::add_export(const Export& job) {
  std::lock_guard lock(write_mu_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  auto x = insert_export(job);
  if (!x) return x.error();
  if (auto c = tx->commit(); !c) return c.error();
  return x;
}

Result<Export> SqliteCatalog::add_export_with_hold(const Export& job,
                                                   const std::string& hold_reason) {
  if (hold_reason.empty())
    return make_error(ErrorKind::invalid_argument, "an export's hold needs a reason");
  std::lock_guard lock(write_mu_);
  // The hold keeps evidence from retention: it must survive a power cut.
  sql::DurableScope durable(*writer_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  auto x = insert_export(job);
  if (!x) return x.error();
  const std::string reason = utf8_prefix("export " + x->id + ": " + hold_reason, 1024);
  if (auto r = sql::execute(*writer_,
                            "INSERT INTO holds (camera_id, from_ns, to_ns, reason, created_by, "
                            "created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            x->camera_id, x->from_ns, x->to_ns, reason, x->created_by,
                            to_unix_ns(x->created));
      !r)
    return with_context(r.error(), "adding the hold of export " + x->id);
  x->hold_id = writer_->last_insert_rowid();
  if (auto r = sql::execute(*writer_, "UPDATE exports SET hold_id = ?2 WHERE id = ?1", x->id,
                            *x->hold_id);
      !r)
    return with_context(r.error(), "linking export " + x->id + " to its hold");
  if (auto c = tx->commit(); !c) return c.error();
  return x;
}

Result<Export> SqliteCatalog::update_export(const Export& job) {
  if (job.bytes < 0) {
    return make_error(ErrorKind::invalid_argument, "export bytes must not be negative");
  }
  if (job.path.size() > 1024 || job.error.size() > 4096 || job.sha256.size() > 128) {
    return make_error(ErrorKind::invalid_argument, "export path, error or sha256 too long");
  }
  // Allowed moves: queued -> running | failed; running -> done | failed.
  const char* from_states = job.state == ExportState::running  ? "queued"
                            : job.state == ExportState::done   ? "running"
                            : job.state == ExportState::failed ? "queued,running"
                                                               : "";
  const bool finished = job.state == ExportState::done || job.state == ExportState::failed;
  std::lock_guard lock(write_mu_);
  if (auto r = sql::execute(
          *writer_,
          "UPDATE exports SET state = ?2, path = ?3, bytes = ?4, sha256 = ?5, error = ?6, "
          "finished_ns = CASE WHEN ?7 THEN ?8 ELSE NULL END "
          "WHERE id = ?1 AND instr(',' || ?9 || ',', ',' || state || ',') > 0",
          job.id, to_string(job.state), job.path, job.bytes, job.sha256, job.error,
          finished ? 1 : 0, to_unix_ns(clock_.realtime()), from_states);
      !r)
    return with_context(r.error(), "updating export " + job.id);
  const bool changed = writer_->changes() > 0;
  // The row as it is now; when nothing changed, its state says why.
  auto cur = sql::query_one(
      *writer_, "SELECT * FROM exports WHERE id = ?1",
      [](const sql::Stmt& st) { return std::pair(read_export(st), st.text("state")); }, job.id);
  if (!cur) return cur.error();
  if (!*cur) return make_error(ErrorKind::not_found, "no export " + job.id);
  if (!changed) {
    return make_error(ErrorKind::failed_precondition, "export " + job.id + " is " + (*cur)->second +
                                                          ", cannot become " +
                                                          std::string(to_string(job.state)));
  }
  return std::move((*cur)->first);
}

Result<Export> SqliteCatalog::find_export(const std::string& id) {
  return find_one("SELECT * FROM exports WHERE id = ?1", read_export, "no export " + id, id);
}

Result<std::vector<Export>> SqliteCatalog::list_exports(
    const std::string& camera_id, int limit, std::int64_t before_n,
    const std::optional<std::vector<std::string>>& cameras) {
  // The number in "exp-<n>" orders by creation (one counter) and is the cursor.
  return list_page(
      "SELECT * FROM exports WHERE (?1 = '' OR camera_id = ?1) "
      "AND (?3 <= 0 OR CAST(substr(id, 5) AS INTEGER) < ?3) "
      "AND (?4 IS NULL OR camera_id IN (SELECT value FROM json_each(?4))) "
      "ORDER BY CAST(substr(id, 5) AS INTEGER) DESC LIMIT ?2",
      read_export, camera_id, sql::Limit{limit}, before_n, camera_set_json(cameras));
}

Result<std::vector<Export>> SqliteCatalog::finished_exports(WallTime before, int limit) {
  // A hold over the whole range that is no export's own (an investigator's
  // for a case) keeps the package too; chosen in the query, so that exports
  // kept that way never fill the page and stop the others from expiring.
  return list_page(
      "SELECT * FROM exports x WHERE state IN ('done', 'failed') AND finished_ns < ?1 "
      "AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.camera_id = x.camera_id "
      "AND h.from_ns <= x.from_ns AND h.to_ns >= x.to_ns "
      "AND NOT EXISTS (SELECT 1 FROM exports e WHERE e.hold_id = h.id)) "
      "ORDER BY finished_ns LIMIT ?2",
      read_export, to_unix_ns(before), sql::Limit{limit});
}

Status SqliteCatalog::delete_export(const std::string& id) {
  std::lock_guard lock(write_mu_);
  if (auto r = sql::execute(*writer_, "DELETE FROM exports WHERE id = ?1", id); !r)
    return with_context(r.error(), "deleting export " + id);
  if (writer_->changes() == 0) return make_error(ErrorKind::not_found, "no export " + id);
  return {};
}

Result<std::int64_t> SqliteCatalog::fail_unfinished_exports(const std::string& reason) {
  std::lock_guard lock(write_mu_);
  if (auto r = sql::execute(*writer_,
                            "UPDATE exports SET state = 'failed', error = ?1, finished_ns = ?2 "
                            "WHERE state IN ('queued', 'running')",
                            reason, to_unix_ns(clock_.realtime()));
      !r)
    return r.error();
  return static_cast<std::int64_t>(writer_->changes());
}

}  // namespace zaulek::storage
