#include "storage/sqlite.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "core/text/text.h"

namespace zaulek::storage::sql {

Error to_error(int code, std::string_view what, sqlite3* db) {
  std::string message(what);
  message += ": ";
  message += db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  switch (code) {
    // A unique or primary key: the name or id is taken.
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return make_error(ErrorKind::already_exists, message);
    // A CHECK or NOT NULL constraint: the caller passed a value the schema forbids.
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return make_error(ErrorKind::invalid_argument, message);
    // A row refers to something that does not exist (e.g. session of a deleted user).
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return make_error(ErrorKind::not_found, message);
    // Append-only triggers (RAISE(ABORT)) and other constraints: the state forbids it.
    case SQLITE_CONSTRAINT_TRIGGER:
      return make_error(ErrorKind::failed_precondition, message);
    default:
      break;
  }
  switch (code & 0xff) {
    // Another process holds the lock past busy_timeout: retrying may help.
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return make_error(ErrorKind::unavailable, message);
    // The disk is full (or the database hit its size limit).
    case SQLITE_FULL:
    case SQLITE_TOOBIG:
      return make_error(ErrorKind::resource_exhausted, message);
    // The file is not a database, or its pages are damaged.
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return make_error(ErrorKind::data_loss, message);
    // Could not open, read or write the file: permissions, missing directory, I/O error.
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return make_error(ErrorKind::unavailable, message);
    case SQLITE_CONSTRAINT:
      return make_error(ErrorKind::failed_precondition, message);
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return make_error(ErrorKind::invalid_argument, message);
    default:
      return make_error(ErrorKind::internal, message);
  }
}

Stmt::Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {
  int n = sqlite3_column_count(stmt_);
  for (int i = 0; i < n; ++i) columns_.emplace(sqlite3_column_name(stmt_, i), i);
}

Stmt::~Stmt() {
  sqlite3_finalize(stmt_);
}

Stmt& Stmt::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && !bind_failed_) bind_failed_ = true, bind_error_ = rc;
  return *this;
}

Stmt& Stmt::bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && !bind_failed_) bind_failed_ = true, bind_error_ = rc;
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && !bind_failed_) bind_failed_ = true, bind_error_ = rc;
  return *this;
}

Stmt& Stmt::bind_blob(int index, const std::vector<std::uint8_t>& value) {
  // A zero-length blob (not NULL) for an empty vector.
  int rc = value.empty()
               ? sqlite3_bind_zeroblob(stmt_, index, 0)
               : sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && !bind_failed_) bind_failed_ = true, bind_error_ = rc;
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && !bind_failed_) bind_failed_ = true, bind_error_ = rc;
  return *this;
}

Result<bool> Stmt::step() {
  if (bind_failed_) return to_error(bind_error_, "binding a parameter", nullptr);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // The extended code tells a unique from a check constraint.
  return to_error(sqlite3_extended_errcode(db_), "executing statement", db_);
}

Status Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return r.error();
    if (!*r) return {};
  }
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_failed_ = false;
  bind_error_ = SQLITE_OK;
}

int Stmt::column(const char* name) const {
  auto it = columns_.find(name);
  if (it == columns_.end()) {
    // A column named in code that the query does not return: a bug, not input.
    spdlog::critical("storage: query has no column '{}': {}", name, sqlite3_sql(stmt_));
    std::abort();
  }
  return it->second;
}

bool Stmt::is_null(const char* name) const {
  return sqlite3_column_type(stmt_, column(name)) == SQLITE_NULL;
}

std::int64_t Stmt::int64(const char* name) const {
  return sqlite3_column_int64(stmt_, column(name));
}

double Stmt::real(const char* name) const {
  return sqlite3_column_double(stmt_, column(name));
}

std::optional<double> Stmt::opt_real(const char* name) const {
  if (is_null(name)) return std::nullopt;
  return real(name);
}

std::string Stmt::text(const char* name) const {
  int i = column(name);
  const unsigned char* p = sqlite3_column_text(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string();
}

std::optional<std::string> Stmt::opt_text(const char* name) const {
  if (is_null(name)) return std::nullopt;
  return text(name);
}

std::vector<std::uint8_t> Stmt::blob(const char* name) const {
  int i = column(name);
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, i));
  int n = sqlite3_column_bytes(stmt_, i);
  return p ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
}

namespace {
// zaulek_fold(text): core/text/text.h search_fold, for searches in SQL
// (alarms' ?q=); NULL stays NULL.
void sql_search_fold(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  std::string folded = search_fold(std::string_view(p ? p : "", sqlite3_value_bytes(argv[0])));
  sqlite3_result_text(ctx, folded.data(), static_cast<int>(folded.size()), SQLITE_TRANSIENT);
}
}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const std::filesystem::path& path,
                                                     bool create) {
  sqlite3* db = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (our own rule),
  // so SQLite's per-connection mutex would be pure cost.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = to_error(rc, "opening catalogue " + path.string(), db);
    sqlite3_close(db);
    return e;
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<Connection> c(new Connection(db, path));
  // busy_timeout: a second process (e.g. `zaulekd user add` while the daemon
  // runs) waits for the lock instead of failing at once.
  // foreign_keys: off by default in SQLite, per connection.
  // synchronous=NORMAL: in WAL mode a commit is atomic and the database never
  // corrupts; a power cut may lose the last commits. That is acceptable for
  // sessions and segment rows (segment files are fsynced before their row, so
  // start-up reconciliation re-indexes them); holds and audit entries commit
  // with FULL (see Catalog) because losing them is not.
  // journal_mode=WAL is persistent in the file; a reader never blocks the writer.
  // journal_size_limit: after a checkpoint the WAL is truncated back to 64 MiB
  // instead of keeping the size of its largest burst.
  for (const char* pragma :
       {"PRAGMA busy_timeout = 5000", "PRAGMA foreign_keys = ON", "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL", "PRAGMA journal_size_limit = 67108864"}) {
    if (auto s = c->exec(pragma); !s) {
      // The first read of the file happens here: "file is not a database".
      return make_error(s.error().kind,
                        "catalogue " + path.string() + ": " + sqlite3_errmsg(c->handle()));
    }
  }
  rc = sqlite3_create_function_v2(db, "zaulek_fold", 1,
                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                                  sql_search_fold, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return to_error(rc, "registering zaulek_fold", db);
  return c;
}

Connection::~Connection() {
  cache_.clear();  // finalize statements before closing
  sqlite3_close(db_);
}

Result<StmtUse> Connection::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return StmtUse(it->second.get());
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return to_error(sqlite3_extended_errcode(db_), "preparing statement", db_);
  auto [pos, inserted] = cache_.emplace(sql, std::make_unique<Stmt>(db_, stmt));
  return StmtUse(pos->second.get());
}

Status Connection::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return to_error(sqlite3_extended_errcode(db_), "executing SQL", db_);
  return {};
}

Result<ReaderPool::Lease> ReaderPool::borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
  }
  // Opening happens outside the lock; a burst of readers opens a few more.
  auto c = Connection::open(path_, false);
  if (!c) return c.error();
  if (auto s = (*c)->exec("PRAGMA query_only = ON"); !s) return s.error();
  return Lease(this, std::move(*c));
}

void ReaderPool::give_back(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(c));
}

Result<Transaction> Transaction::begin(Connection& c) {
  if (auto s = c.exec("BEGIN IMMEDIATE"); !s) return s.error();
  return Transaction(c);
}

Transaction::~Transaction() {
  if (c_ && !sqlite3_get_autocommit(c_->handle()))
    sqlite3_exec(c_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Transaction::commit() {
  Status s = c_->exec("COMMIT");
  if (s) c_ = nullptr;
  return s;
}

}  // namespace zaulek::storage::sql
