// Internal: a thin RAII layer over the SQLite C API. Bound parameters only;
// columns are read by name so that a schema change cannot shift values into
// the wrong field. Every SQLite result code is mapped to one ErrorKind here.
// On top, the plumbing every query shares: execute (no rows), query_one (one
// row or none), query_all (every row, or a page with its sql::Limit), the
// reader pool and the synchronous=FULL scope.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"

namespace zaulek::storage::sql {

// Maps an SQLite (extended) result code to our error space, see sqlite.cpp.
Error to_error(int code, std::string_view what, sqlite3* db);

// A LIMIT bound as a parameter; a type of its own so that a page query can
// find (and check) it among the other parameters.
struct Limit {
  int value;
};

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Binders: 1-based like SQLite; text and blobs are copied (SQLITE_TRANSIENT).
  Stmt& bind(int index, std::int64_t value);
  Stmt& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Stmt& bind(int index, double value);
  Stmt& bind(int index, std::string_view value);
  Stmt& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Stmt& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Stmt& bind_blob(int index, const std::vector<std::uint8_t>& value);
  Stmt& bind_null(int index);
  Stmt& bind(int index, const std::optional<std::string>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }
  Stmt& bind(int index, const std::optional<std::int64_t>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }
  Stmt& bind(int index, const std::optional<double>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }
  Stmt& bind(int index, const std::vector<std::uint8_t>& value) { return bind_blob(index, value); }
  Stmt& bind(int index, Limit limit) { return bind(index, limit.value); }
  // Binds `values` to ?1, ?2, ... in order.
  template <class... Args>
  Stmt& bind_all(const Args&... values) {
    int index = 0;
    (bind(++index, values), ...);
    return *this;
  }

  // Runs one step: true when a row is ready, false when done; error otherwise.
  Result<bool> step();
  // Runs to completion (for statements without rows).
  Status run();
  // Resets and clears bindings so that the cached statement can be reused.
  void reset();

  bool is_null(const char* column) const;
  std::int64_t int64(const char* column) const;
  double real(const char* column) const;
  std::optional<double> opt_real(const char* column) const;
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

// What a row reader (const Stmt& -> T or Result<T>) makes: T.
template <class T>
struct ResultValue {
  using type = T;
};
template <class T>
struct ResultValue<Result<T>> {
  using type = T;
};
template <class Read>
using RowOf = typename ResultValue<std::decay_t<std::invoke_result_t<Read&, const Stmt&>>>::type;

// Runs `sql` (a string literal: the statement cache key) with `args` bound to
// ?1, ?2, ... to completion: for statements without rows.
template <class... Args>
Status execute(Connection& c, const char* sql, const Args&... args) {
  auto st = c.prepare(sql);
  if (!st) return st.error();
  (*st)->bind_all(args...);
  return (*st)->run();
}

// Find one: the first row of `sql` with `args` bound to ?1, ?2, ..., read by
// `read`; nullopt when the query returns no row.
template <class Read, class... Args>
Result<std::optional<RowOf<Read>>> query_one(Connection& c, const char* sql, Read read,
                                             const Args&... args) {
  using T = RowOf<Read>;
  auto st = c.prepare(sql);
  if (!st) return st.error();
  (*st)->bind_all(args...);
  auto row = (*st)->step();
  if (!row) return row.error();
  if (!*row) return std::optional<T>();
  Result<T> value = read(**st);
  if (!value) return value.error();
  return std::optional<T>(std::move(*value));
}

// Every row that `st` (bound) still returns, read by `read`.
template <class Read>
Result<std::vector<RowOf<Read>>> collect(Stmt& st, Read read) {
  std::vector<RowOf<Read>> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.error();
    if (!*row) return out;
    Result<RowOf<Read>> value = read(static_cast<const Stmt&>(st));
    if (!value) return value.error();
    out.push_back(std::move(*value));
  }
}

// List: every row of `sql` with `args` bound to ?1, ?2, ..., read by `read`;
// a page when the SQL carries its LIMIT (and keyset bound) among `args`.
template <class Read, class... Args>
Result<std::vector<RowOf<Read>>> query_all(Connection& c, const char* sql, Read read,
                                           const Args&... args) {
  auto st = c.prepare(sql);
  if (!st) return st.error();
  (*st)->bind_all(args...);
  return collect(**st, read);
}

// Reader connections, borrowed one per call: a slow reader never holds the
// writer, and readers never share a connection (SQLite's rule in NOMUTEX
// mode). They are opened query_only.
class ReaderPool {
 public:
  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<Connection> c) : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (c_) pool_->give_back(std::move(c_));
    }
    Connection* operator->() const { return c_.get(); }
    Connection& operator*() const { return *c_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<Connection> c_;
  };

  explicit ReaderPool(std::filesystem::path path) : path_(std::move(path)) {}
  Result<Lease> borrow();

 private:
  void give_back(std::unique_ptr<Connection> c);

  static constexpr std::size_t kMaxIdle = 8;
  std::filesystem::path path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

// Switches a connection to synchronous=FULL for one commit: the WAL is
// fsynced before COMMIT returns, so a power cut cannot lose it.
class DurableScope {
 public:
  explicit DurableScope(Connection& c) : c_(c) { (void)c_.exec("PRAGMA synchronous = FULL"); }
  ~DurableScope() { (void)c_.exec("PRAGMA synchronous = NORMAL"); }
  DurableScope(const DurableScope&) = delete;
  DurableScope& operator=(const DurableScope&) = delete;

 private:
  Connection& c_;
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
