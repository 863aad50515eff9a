#include "storage/migrations.h"

#include <string>

#include "storage/audit_chain.h"
#include "storage/sqlite.h"

namespace zaulek::storage {

Result<int> read_schema_version(sql::Connection& c) {
  auto st = c.prepare("PRAGMA user_version");
  if (!st) return st.error();
  auto row = (*st)->step();
  if (!row) return row.error();
  if (!*row) return make_error(ErrorKind::internal, "PRAGMA user_version returned no row");
  return static_cast<int>((*st)->int64("user_version"));
}

Status migrate(sql::Connection& c, int target) {
  const auto all = migrations();
  const int latest = static_cast<int>(all.size());
  if (target < 0 || target > latest) {
    return make_error(ErrorKind::invalid_argument, "no schema version " + std::to_string(target));
  }
  // IMMEDIATE: two processes opening an old database at once must not both migrate.
  auto tx = sql::Transaction::begin(c);
  if (!tx) return tx.error();
  // Migration 0010 chains the existing audit entries with the C++ encoding.
  if (auto s = register_audit_functions(c); !s) return s;
  auto current = read_schema_version(c);
  if (!current) return current.error();
  if (*current > latest) {
    return make_error(ErrorKind::failed_precondition,
                      "catalogue " + c.path().string() + " has schema version " +
                          std::to_string(*current) + " but this zaulekd knows only up to " +
                          std::to_string(latest) + "; upgrade zaulekd");
  }
  for (const Migration& m : all) {
    if (m.version <= *current || m.version > target) continue;
    // exec() runs every statement of the file; the text is ours, built into the binary.
    std::string text(m.sql);
    if (auto s = c.exec(text.c_str()); !s) {
      return make_error(s.error().kind,
                        "migration " + std::string(m.name) + ": " + s.error().message);
    }
  }
  if (target > *current) {
    // PRAGMA takes no bound parameters; the value is an int we produced.
    std::string pragma = "PRAGMA user_version = " + std::to_string(target);
    if (auto s = c.exec(pragma.c_str()); !s) return s;
  }
  return tx->commit();
}

Status create_at_version(const std::filesystem::path& path, int version) {
  auto c = sql::Connection::open(path, true);
  if (!c) return c.error();
  return migrate(**c, version);
}

}  // namespace zaulek::storage
