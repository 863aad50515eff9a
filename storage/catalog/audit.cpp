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

std::vector<std::string> audit_cameras(const std::string& target, const std::string& detail_json) {
  std::vector<std::string> out;
  if (target.rfind("camera:", 0) == 0) out.push_back(target.substr(7));
  auto detail = nlohmann::json::parse(detail_json, nullptr, false);
  if (!detail.is_object()) return out;
  if (auto it = detail.find("camera_id"); it != detail.end() && it->is_string())
    out.push_back(it->get<std::string>());
  for (const char* key : {"cameras", "from", "to"})
    if (auto it = detail.find(key); it != detail.end() && it->is_array())
      for (const auto& c : *it)
        if (c.is_string()) out.push_back(c.get<std::string>());
  return out;
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
  // The cameras of an entry as audit_cameras() finds them; an entry is
  // listed when none of them lies outside the set. A detail that is not
  // JSON (only after tampering) names no camera here, as there.
  static const std::string kQuery = [] {
    std::string q =
        "SELECT * FROM (SELECT *, CASE WHEN json_valid(detail) THEN detail ELSE '{}' END AS d "
        "FROM audit WHERE id > ?1) WHERE ?3 IS NULL OR ("
        "(substr(target, 1, 7) <> 'camera:' OR substr(target, 8) IN (SELECT value FROM "
        "json_each(?3))) AND (json_type(d, '$.camera_id') IS NOT 'text' OR "
        "json_extract(d, '$.camera_id') IN (SELECT value FROM json_each(?3)))";
    for (const char* key : {"cameras", "from", "to"})
      q += std::string(" AND NOT EXISTS (SELECT 1 FROM json_each(d, '$.") + key +
           "') WHERE json_type(d, '$." + key +
           "') = 'array' AND type = 'text' AND value NOT IN (SELECT value FROM json_each(?3)))";
    return q + ") ORDER BY id LIMIT ?2";
  }();
  return list_page(kQuery.c_str(), read_entry, after_id, sql::Limit{limit},
                   camera_set_json(cameras));
}

}  // namespace zaulek::storage
