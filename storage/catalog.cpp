#include "storage/catalog.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <string>
#include <utility>

#include "storage/migrations.h"
#include "storage/sqlite.h"

namespace zaulek::storage {
namespace {

using sql::Connection;
using sql::StmtUse;

std::int64_t to_ns(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

WallTime from_ns(std::int64_t ns) {
  return WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds{ns})};
}

Error with_context(const Error& e, const std::string& context) {
  return make_error(e.kind, context + ": " + e.message);
}

// Reader connections, borrowed one per call: a slow reader never holds the
// writer, and readers never share a connection (SQLite's rule in NOMUTEX mode).
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

   private:
    ReaderPool* pool_;
    std::unique_ptr<Connection> c_;
  };

  explicit ReaderPool(std::filesystem::path path) : path_(std::move(path)) {}

  Result<Lease> borrow() {
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

 private:
  void give_back(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(c));
  }

  static constexpr std::size_t kMaxIdle = 8;
  std::filesystem::path path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

Result<User> read_user(const sql::Stmt& st) {
  User u;
  u.id = st.int64("id");
  u.name = st.text("name");
  auto role = parse_role(st.text("role"));
  if (!role) return make_error(ErrorKind::data_loss, "user " + u.name + " has an unknown role");
  u.role = *role;
  u.password_hash = st.text("password_hash");
  u.created = from_ns(st.int64("created_ns"));
  u.disabled = st.int64("disabled") != 0;
  return u;
}

class SqliteCatalog final : public Catalog {
 public:
  SqliteCatalog(std::unique_ptr<Connection> writer, Clock& clock, int version)
      : clock_(clock), writer_(std::move(writer)), readers_(writer_->path()), version_(version) {}

  int schema_version() const override { return version_; }

  // ---- users ----

  Result<User> add_user(const std::string& name, Role role,
                        const std::string& password_hash) override {
    if (name.empty() || name.size() > 64) {
      return make_error(ErrorKind::invalid_argument, "user name must be 1 to 64 characters");
    }
    User u{0, name, role, password_hash, clock_.realtime(), false};
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare(
        "INSERT INTO users (name, role, password_hash, created_ns) VALUES (?1, ?2, ?3, ?4)");
    if (!st) return st.error();
    (*st)->bind(1, name).bind(2, to_string(role)).bind(3, password_hash).bind(4, to_ns(u.created));
    if (auto s = (*st)->run(); !s) {
      if (s.error().kind == ErrorKind::already_exists) {
        return make_error(ErrorKind::already_exists, "user '" + name + "' already exists");
      }
      return with_context(s.error(), "adding user '" + name + "'");
    }
    u.id = writer_->last_insert_rowid();
    return u;
  }

  Result<User> find_user(const std::string& name) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM users WHERE name = ?1");
    if (!st) return st.error();
    (*st)->bind(1, name);
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no user '" + name + "'");
    return read_user(**st);
  }

  Result<User> find_user(std::int64_t id) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM users WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no user with id " + std::to_string(id));
    return read_user(**st);
  }

  Result<std::vector<User>> list_users() override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM users ORDER BY name");
    if (!st) return st.error();
    std::vector<User> out;
    for (;;) {
      auto row = (*st)->step();
      if (!row) return row.error();
      if (!*row) break;
      auto u = read_user(**st);
      if (!u) return u.error();
      out.push_back(std::move(*u));
    }
    return out;
  }

  Status set_user_disabled(std::int64_t id, bool disabled) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("UPDATE users SET disabled = ?2 WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id).bind(2, disabled ? 1 : 0);
    return changed_one((*st)->run(), "user", id);
  }

  Status set_user_password(std::int64_t id, const std::string& password_hash) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("UPDATE users SET password_hash = ?2 WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id).bind(2, password_hash);
    return changed_one((*st)->run(), "user", id);
  }

  Status set_user_role(std::int64_t id, Role role) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("UPDATE users SET role = ?2 WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id).bind(2, to_string(role));
    return changed_one((*st)->run(), "user", id);
  }

  // ---- sessions ----

  Status add_session(const Session& s) override {
    if (s.token_hash.empty()) return make_error(ErrorKind::invalid_argument, "empty token hash");
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_ns, expires_ns) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st) return st.error();
    (*st)->bind(1, s.token_hash).bind(2, s.user_id).bind(3, s.csrf_token);
    (*st)->bind(4, to_ns(s.created)).bind(5, to_ns(s.expires));
    if (auto r = (*st)->run(); !r) {
      // Never put the token hash in a message: it is as good as the token here.
      if (r.error().kind == ErrorKind::not_found) {
        return make_error(ErrorKind::not_found,
                          "adding session: no user with id " + std::to_string(s.user_id));
      }
      return make_error(r.error().kind, "adding session failed");
    }
    return {};
  }

  Result<Session> find_session(const std::string& token_hash) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM sessions WHERE token_hash = ?1 AND expires_ns > ?2");
    if (!st) return st.error();
    (*st)->bind(1, token_hash).bind(2, to_ns(clock_.realtime()));
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no such session, or it has expired");
    Session s;
    s.token_hash = (*st)->text("token_hash");
    s.user_id = (*st)->int64("user_id");
    s.csrf_token = (*st)->text("csrf_token");
    s.created = from_ns((*st)->int64("created_ns"));
    s.expires = from_ns((*st)->int64("expires_ns"));
    return s;
  }

  Status delete_session(const std::string& token_hash) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("DELETE FROM sessions WHERE token_hash = ?1");
    if (!st) return st.error();
    (*st)->bind(1, token_hash);
    return (*st)->run();  // logging out twice is not an error
  }

  Status delete_expired_sessions() override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("DELETE FROM sessions WHERE expires_ns <= ?1");
    if (!st) return st.error();
    (*st)->bind(1, to_ns(clock_.realtime()));
    return (*st)->run();
  }

  Status delete_user_sessions(std::int64_t user_id) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("DELETE FROM sessions WHERE user_id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, user_id);
    return (*st)->run();
  }

  // ---- audit ----

  Status audit(const AuditEntry& e) override {
    if (e.action.empty())
      return make_error(ErrorKind::invalid_argument, "audit entry without action");
    WallTime t = e.time == WallTime{} ? clock_.realtime() : e.time;
    std::lock_guard lock(write_mu_);
    // The audit trail is evidence: its commits wait for the disk (see sqlite.cpp).
    DurableScope durable(*writer_);
    auto st = writer_->prepare(
        "INSERT INTO audit (time_ns, actor, action, target, detail, remote) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st) return st.error();
    (*st)->bind(1, to_ns(t)).bind(2, e.actor).bind(3, e.action).bind(4, e.target);
    (*st)->bind(5, e.detail.empty() ? std::string("{}") : e.detail).bind(6, e.remote);
    if (auto s = (*st)->run(); !s) {
      if (s.error().kind == ErrorKind::invalid_argument) {
        return make_error(ErrorKind::invalid_argument,
                          "audit entry '" + e.action + "': detail is not valid JSON");
      }
      return with_context(s.error(), "appending audit entry '" + e.action + "'");
    }
    return {};
  }

  Result<std::vector<AuditEntry>> list_audit(std::int64_t after_id, int limit) override {
    if (limit < 1 || limit > kMaxListLimit) {
      return make_error(ErrorKind::invalid_argument,
                        "limit must be 1 to " + std::to_string(kMaxListLimit));
    }
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2");
    if (!st) return st.error();
    (*st)->bind(1, after_id).bind(2, limit);
    std::vector<AuditEntry> out;
    for (;;) {
      auto row = (*st)->step();
      if (!row) return row.error();
      if (!*row) break;
      AuditEntry e;
      e.id = (*st)->int64("id");
      e.time = from_ns((*st)->int64("time_ns"));
      e.actor = (*st)->text("actor");
      e.action = (*st)->text("action");
      e.target = (*st)->text("target");
      e.detail = (*st)->text("detail");
      e.remote = (*st)->text("remote");
      out.push_back(std::move(e));
    }
    return out;
  }

  Status integrity_check() override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("PRAGMA quick_check");
    if (!st) return with_context(st.error(), "checking catalogue " + writer_->path().string());
    std::string findings;
    for (;;) {
      auto row = (*st)->step();
      if (!row) return with_context(row.error(), "checking catalogue " + writer_->path().string());
      if (!*row) break;
      std::string line = (*st)->text("quick_check");
      if (line == "ok") continue;
      if (!findings.empty()) findings += "; ";
      findings += line;
    }
    if (findings.empty()) return {};
    return make_error(ErrorKind::data_loss,
                      "catalogue " + writer_->path().string() + " is damaged: " + findings);
  }

 private:
  // Switches the writer to synchronous=FULL for one commit: the WAL is
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

  Status changed_one(Status s, const char* what, std::int64_t id) {
    if (!s) return s;
    if (writer_->changes() == 0) {
      return make_error(ErrorKind::not_found,
                        std::string("no ") + what + " with id " + std::to_string(id));
    }
    return {};
  }

  Clock& clock_;
  std::mutex write_mu_;  // guards writer_; held only for one statement or transaction
  std::unique_ptr<Connection> writer_;
  ReaderPool readers_;
  int version_;
};

}  // namespace

int Catalog::latest_schema_version() {
  return static_cast<int>(migrations().size());
}

Result<std::unique_ptr<Catalog>> Catalog::open(const std::filesystem::path& db_path, Clock& clock) {
  std::error_code ec;
  if (std::filesystem::exists(db_path, ec) && !std::filesystem::is_regular_file(db_path, ec)) {
    return make_error(ErrorKind::failed_precondition,
                      "catalogue " + db_path.string() + " exists but is not a regular file");
  }
  auto writer = Connection::open(db_path, true);
  if (!writer) {
    const Error& e = writer.error();
    if (e.kind == ErrorKind::data_loss) {
      return make_error(ErrorKind::data_loss, "catalogue " + db_path.string() +
                                                  " is not an SQLite database or is corrupt (" +
                                                  e.message + ")");
    }
    return e;
  }
  const int latest = latest_schema_version();
  if (auto s = migrate(**writer, latest); !s) {
    if (s.error().kind == ErrorKind::data_loss) {
      return make_error(ErrorKind::data_loss,
                        "catalogue " + db_path.string() + " is corrupt: " + s.error().message);
    }
    return s.error();
  }
  spdlog::info("storage: catalogue {} at schema version {}", db_path.string(), latest);
  return std::unique_ptr<Catalog>(new SqliteCatalog(std::move(*writer), clock, latest));
}

}  // namespace zaulek::storage
