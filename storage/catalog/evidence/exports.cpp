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
  return x;
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

Result<Export> SqliteCatalog::add_export(const Export& job) {
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
  std::lock_guard lock(write_mu_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
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

Result<std::vector<Export>> SqliteCatalog::list_exports(const std::string& camera_id, int limit,
                                                        std::int64_t before_n) {
  // The number in "exp-<n>" orders by creation (one counter) and is the cursor.
  return list_page(
      "SELECT * FROM exports WHERE (?1 = '' OR camera_id = ?1) "
      "AND (?3 <= 0 OR CAST(substr(id, 5) AS INTEGER) < ?3) "
      "ORDER BY CAST(substr(id, 5) AS INTEGER) DESC LIMIT ?2",
      read_export, camera_id, sql::Limit{limit}, before_n);
}

Result<std::vector<Export>> SqliteCatalog::finished_exports(WallTime before, int limit) {
  return list_page(
      "SELECT * FROM exports WHERE state IN ('done', 'failed') AND finished_ns < ?1 "
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
