// Internal: a thin RAII layer over the SQLite C API. Bound parameters only;
// columns are read by name so that a schema change cannot shift values into
// the wrong field. Every SQLite result code is mapped to one ErrorKind here.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace zaulek::storage::sql {

// Maps an SQLite (extended) result code to our error space, see sqlite.cpp.
Error to_error(int code, std::string_view what, sqlite3* db);

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Binders: 1-based like SQLite; text and blobs are copied (SQLITE_TRANSIENT).
  Stmt& bind(int index, std::int64_t value);
  Stmt& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Stmt& bind(int index, std::string_view value);
  Stmt& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Stmt& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Stmt& bind_blob(int index, const std::vector<std::uint8_t>& value);
  Stmt& bind_null(int index);
  Stmt& bind(int index, const std::optional<std::string>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Runs one step: true when a row is ready, false when done; error otherwise.
  Result<bool> step();
  // Runs to completion (for statements without rows).
  Status run();
  // Resets and clears bindings so that the cached statement can be reused.
  void reset();

  bool is_null(const char* column) const;
  std::int64_t int64(const char* column) const;
  std::string text(const char* column) const;
  std::optional<std::string> opt_text(const char* column) const;
  std::vector<std::uint8_t> blob(const char* column) const;

 private:
  int column(const char* name) const;  // aborts on a typo: a programming error
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::unordered_map<std::string, int> columns_;
  bool bind_failed_ = false;
  int bind_error_ = SQLITE_OK;
};

// A borrowed cached statement: reset on scope exit so that no half-read
// statement keeps a read transaction open (which would stall checkpoints).
class StmtUse {
 public:
  explicit StmtUse(Stmt* s) : s_(s) {}
  StmtUse(StmtUse&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  StmtUse& operator=(StmtUse&&) = delete;
  ~StmtUse() {
    if (s_) s_->reset();
  }
  Stmt* operator->() const { return s_; }
  Stmt& operator*() const { return *s_; }

 private:
  Stmt* s_;
};

// One connection with its cache of prepared statements. Not thread safe: the
// owner serializes use (the writer mutex, or one reader per borrower).
class Connection {
 public:
  // Opens (creating if `create`) and applies our per-connection pragmas.
  static Result<std::unique_ptr<Connection>> open(const std::filesystem::path& path, bool create);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Prepared statement for `sql`, cached for the life of the connection and
  // reset on return. `sql` must be a string literal (the cache key).
  Result<StmtUse> prepare(const char* sql);
  // Runs SQL text without parameters (migrations, BEGIN/COMMIT).
  Status exec(const char* sql);
  sqlite3* handle() const { return db_; }
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  Connection(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::filesystem::path path_;
  std::unordered_map<const char*, std::unique_ptr<Stmt>> cache_;
};

// Owns a BEGIN ... COMMIT; rolls back in the destructor unless committed.
class Transaction {
 public:
  static Result<Transaction> begin(Connection& c);  // BEGIN IMMEDIATE: take the write lock now
  Transaction(Transaction&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Connection& c) : c_(&c) {}
  Connection* c_;
};

}  // namespace zaulek::storage::sql
