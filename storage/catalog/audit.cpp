// The audit trail: appending to the hash chain, reading it back.
#include <nlohmann/json.hpp>

#include "storage/audit_chain.h"
#include "storage/catalog/sqlite_catalog.h"

namespace zaulek::storage {
namespace {

const std::string kEmptyDetail = "{}";

// The last audit entry. A NULL hash (only after tampering) reads as the
// genesis hash so that appending still works; verify_audit reports it.
Result<AuditHead> read_audit_head(sql::Connection& c) {
  auto head = sql::query_one(
      c, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", [](const sql::Stmt& st) {
        return AuditHead{st.int64("id"), st.opt_text("hash").value_or(std::string(kAuditGenesis))};
      });
  if (!head) return head.error();
  return head->value_or(AuditHead{});
}

AuditEntry read_entry(const sql::Stmt& st) {
  AuditEntry e;
  e.id = st.int64("id");
  e.time = from_ns(st.int64("time_ns"));
  e.actor = st.text("actor");
  e.action = st.text("action");
  e.target = st.text("target");
  e.detail = st.text("detail");
  e.remote = st.text("remote");
  e.prev_hash = st.opt_text("prev_hash").value_or("");
  e.hash = st.opt_text("hash").value_or("");
  return e;
}

}  // namespace

std::string audit_camera(const std::string& target, const std::string& detail_json) {
  if (target.rfind("camera:", 0) == 0) return target.substr(7);
  auto detail = nlohmann::json::parse(detail_json, nullptr, false);
  if (detail.is_object())
    if (auto it = detail.find("camera_id"); it != detail.end() && it->is_string())
      return it->get<std::string>();
  return "";
}

Status SqliteCatalog::audit(const AuditEntry& e) {
  if (e.action.empty())
    return make_error(ErrorKind::invalid_argument, "audit entry without action");
  // Bounded before SQLite parses the detail as JSON.
  if (e.actor.size() > 256 || e.action.size() > 128 || e.target.size() > 1024 ||
      e.remote.size() > 256 || e.detail.size() > kMaxAuditDetail) {
    return make_error(ErrorKind::invalid_argument,
                      "audit entry '" + e.action.substr(0, 128) + "' has an oversized field");
  }
  const std::int64_t time_ns = to_unix_ns(e.time == WallTime{} ? clock_.realtime() : e.time);
  const std::string& detail = e.detail.empty() ? kEmptyDetail : e.detail;
  std::lock_guard lock(write_mu_);
  // The audit trail is evidence: its commits wait for the disk (see sqlite.cpp).
  sql::DurableScope durable(*writer_);
  // The head is read inside the write transaction: BEGIN IMMEDIATE holds
  // the file's write lock, so no other connection (a second process such
  // as `zaulekd user add`) can append between the read and the insert and
  // fork the chain; write_mu_ does the same within this process.
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return with_context(tx.error(), "appending audit entry '" + e.action + "'");
  auto head = read_audit_head(*writer_);
  if (!head) return with_context(head.error(), "appending audit entry '" + e.action + "'");
  const std::int64_t id = head->id + 1;
  auto st = writer_->prepare(
      "INSERT INTO audit (id, time_ns, actor, action, target, detail, remote, prev_hash, hash) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!st) return st.error();
  (*st)->bind_all(
      id, time_ns, e.actor, e.action, e.target, detail, e.remote, head->hash,
      audit_hash(id, time_ns, e.actor, e.action, e.target, detail, e.remote, head->hash));
  if (auto s = (*st)->run(); !s) {
    if (s.error().kind == ErrorKind::invalid_argument) {
      return make_error(ErrorKind::invalid_argument,
                        "audit entry '" + e.action + "': detail is not valid JSON");
    }
    return with_context(s.error(), "appending audit entry '" + e.action + "'");
  }
  if (auto s = tx->commit(); !s)
    return with_context(s.error(), "appending audit entry '" + e.action + "'");
  return {};
}

Result<AuditHead> SqliteCatalog::audit_head() {
  auto r = readers_.borrow();
  if (!r) return r.error();
  return read_audit_head(**r);
}

Result<AuditVerification> SqliteCatalog::verify_audit(const std::optional<AuditHead>& expected) {
  auto r = readers_.borrow();
  if (!r) return r.error();
  return verify_audit_chain(**r, expected);
}

Result<std::vector<AuditEntry>> SqliteCatalog::list_audit(std::int64_t after_id, int limit) {
  return list_audit(after_id, limit, std::nullopt);
}

Result<std::vector<AuditEntry>> SqliteCatalog::list_audit(
    std::int64_t after_id, int limit, const std::optional<std::vector<std::string>>& cameras) {
  // The camera of an entry as audit_camera() finds it.
  return list_page(
      "SELECT * FROM (SELECT *, coalesce(CASE "
      "WHEN target LIKE 'camera:%' THEN substr(target, 8) "
      "WHEN json_type(detail, '$.camera_id') = 'text' THEN json_extract(detail, '$.camera_id') "
      "END, '') AS camera FROM audit WHERE id > ?1) "
      "WHERE ?3 IS NULL OR camera = '' OR camera IN (SELECT value FROM json_each(?3)) "
      "ORDER BY id LIMIT ?2",
      read_entry, after_id, sql::Limit{limit}, camera_set_json(cameras));
}

}  // namespace zaulek::storage
