#include "storage/audit_chain.h"

#include <sqlite3.h>

#include <string>

#include "core/crypto.h"
#include "storage/sqlite.h"

namespace zaulek::storage {

namespace {

void append_field(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ',';
}

std::string_view value_text(sqlite3_value* v) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
  // sqlite3_value_bytes after sqlite3_value_text: the length of that text.
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_value_bytes(v)))
           : std::string_view();
}

void sql_audit_hash(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc != 8) {
    sqlite3_result_error(ctx, "zaulek_audit_hash takes 8 arguments", -1);
    return;
  }
  std::string h = audit_hash(sqlite3_value_int64(argv[0]), sqlite3_value_int64(argv[1]),
                             value_text(argv[2]), value_text(argv[3]), value_text(argv[4]),
                             value_text(argv[5]), value_text(argv[6]), value_text(argv[7]));
  sqlite3_result_text(ctx, h.data(), static_cast<int>(h.size()), SQLITE_TRANSIENT);
}

std::string id_text(std::int64_t id) {
  return "entry " + std::to_string(id);
}

}  // namespace

std::string audit_canonical(std::int64_t id, std::int64_t time_ns, std::string_view actor,
                            std::string_view action, std::string_view target,
                            std::string_view detail, std::string_view remote,
                            std::string_view prev_hash) {
  std::string out;
  out.reserve(96 + actor.size() + action.size() + target.size() + detail.size() + remote.size() +
              prev_hash.size());
  append_field(out, "zaulek-audit-v1");
  append_field(out, std::to_string(id));
  append_field(out, std::to_string(time_ns));
  append_field(out, actor);
  append_field(out, action);
  append_field(out, target);
  append_field(out, detail);
  append_field(out, remote);
  append_field(out, prev_hash);
  return out;
}

std::string audit_hash(std::int64_t id, std::int64_t time_ns, std::string_view actor,
                       std::string_view action, std::string_view target, std::string_view detail,
                       std::string_view remote, std::string_view prev_hash) {
  return crypto::sha256_hex(
      audit_canonical(id, time_ns, actor, action, target, detail, remote, prev_hash));
}

Status register_audit_functions(sql::Connection& c) {
  int rc = sqlite3_create_function_v2(c.handle(), "zaulek_audit_hash", 8,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, sql_audit_hash,
                                      nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sql::to_error(rc, "registering zaulek_audit_hash", c.handle());
  return {};
}

Result<AuditVerification> verify_audit_chain(sql::Connection& c,
                                             const std::optional<AuditHead>& expected) {
  // One statement stepped to the end: one read transaction (a consistent
  // snapshot while zaulekd keeps appending) and one row in memory at a time.
  auto st = c.prepare(
      "SELECT id, time_ns, actor, action, target, detail, remote, prev_hash, hash "
      "FROM audit ORDER BY id");
  if (!st) return st.error();
  AuditVerification v;
  bool expected_seen = false;
  auto broken = [&](std::int64_t id, std::string problem) {
    v.intact = false;
    v.bad_id = id;
    v.problem = std::move(problem);
    return v;
  };
  for (;;) {
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) break;
    const std::int64_t id = (*st)->int64("id");
    const auto prev = (*st)->opt_text("prev_hash");
    const auto hash = (*st)->opt_text("hash");
    // Ids are the rowid, never reused or skipped while nothing is deleted:
    // the chain starts at 1 and a gap is a deleted entry.
    if (v.checked == 0 && id != 1)
      return broken(1, id_text(1) + " is missing (the trail starts at " + id_text(id) + ")");
    if (v.checked > 0 && id != v.head.id + 1)
      return broken(v.head.id + 1, id_text(v.head.id + 1) + " is missing (" + id_text(v.head.id) +
                                       " is followed by " + id_text(id) + ")");
    if (!prev || !hash) return broken(id, id_text(id) + " has no hash");
    if (*hash != audit_hash(id, (*st)->int64("time_ns"), (*st)->text("actor"),
                            (*st)->text("action"), (*st)->text("target"), (*st)->text("detail"),
                            (*st)->text("remote"), *prev))
      return broken(id, id_text(id) + " was changed: its content does not match its hash");
    if (*prev != v.head.hash) {
      return broken(id, v.checked == 0 ? id_text(id) + " is first but links to an earlier entry"
                                       : id_text(id) + " does not follow " + id_text(v.head.id) +
                                             ": the order was changed or " + id_text(v.head.id) +
                                             " was replaced");
    }
    if (expected && id == expected->id) {
      expected_seen = true;
      if (*hash != expected->hash)
        return broken(id, id_text(id) + " differs from the head given (" + expected->hash + ")");
    }
    v.head = AuditHead{id, *hash};
    ++v.checked;
  }
  if (expected && expected->id > 0 && !expected_seen)
    return broken(v.head.id + 1, id_text(expected->id) +
                                     " (the head given) is missing: the trail ends at " +
                                     id_text(v.head.id) + ", its tail was removed");
  return v;
}

}  // namespace zaulek::storage
