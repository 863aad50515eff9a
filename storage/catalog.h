// The catalogue: one SQLite file (WAL, foreign keys, busy timeout) holding
// users, sessions, the audit trail and later cameras, segments, events.
// Schema changes only through numbered migrations in storage/migrations/.
//
// Threading: one Catalog per process. Writes go through one writer connection
// (serialized inside); reads use their own connections, so a slow reader never
// blocks the writer (WAL). All calls are short and synchronous.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/role.h"

namespace zaulek::storage {

struct User {
  std::int64_t id = 0;
  std::string name;
  Role role = Role::operator_;
  std::string password_hash;  // Argon2id encoded string; never leaves the server
  WallTime created;
  bool disabled = false;
};

struct Session {
  std::string token_hash;  // SHA-256 of the bearer token; the token itself is never stored
  std::int64_t user_id = 0;
  std::string csrf_token;
  WallTime created;
  WallTime expires;
};

struct AuditEntry {
  std::int64_t id = 0;
  WallTime time;
  std::string actor;   // user name, or "system"
  std::string action;  // e.g. "user.create", "auth.login", "camera.add"
  std::string target;  // what it was done to, e.g. "user:alice"
  std::string detail;  // JSON text with details; never secrets
  std::string remote;  // client address, if any
};

class Catalog {
 public:
  // Opens or creates `db_path`, applies pending migrations in one transaction.
  // A database whose schema version is newer than this binary knows is
  // refused with failed_precondition and a message naming both versions.
  static Result<std::unique_ptr<Catalog>> open(const std::filesystem::path& db_path,
                                               Clock& clock = system_clock());
  virtual ~Catalog() = default;

  virtual int schema_version() const = 0;
  static int latest_schema_version();

  // Users.
  virtual Result<User> add_user(const std::string& name, Role role,
                                const std::string& password_hash) = 0;  // already_exists
  virtual Result<User> find_user(const std::string& name) = 0;          // not_found
  virtual Result<User> find_user(std::int64_t id) = 0;
  virtual Result<std::vector<User>> list_users() = 0;
  virtual Status set_user_disabled(std::int64_t id, bool disabled) = 0;  // not_found
  virtual Status set_user_password(std::int64_t id, const std::string& password_hash) = 0;
  virtual Status set_user_role(std::int64_t id, Role role) = 0;

  // Sessions.
  virtual Status add_session(const Session& session) = 0;
  virtual Result<Session> find_session(const std::string& token_hash) = 0;  // not_found if expired
  virtual Status delete_session(const std::string& token_hash) = 0;
  virtual Status delete_expired_sessions() = 0;
  virtual Status delete_user_sessions(std::int64_t user_id) = 0;  // e.g. after a password change

  // Audit trail (append only).
  virtual Status audit(const AuditEntry& entry) = 0;
  // Entries with id > after_id, oldest first; 1 <= limit <= kMaxListLimit.
  virtual Result<std::vector<AuditEntry>> list_audit(std::int64_t after_id, int limit) = 0;

  // PRAGMA quick_check over the whole file (slow on big catalogues: for
  // `zaulekd check`, not for start-up). data_loss with SQLite's findings.
  virtual Status integrity_check() = 0;

  static constexpr int kMaxListLimit = 10000;
};

}  // namespace zaulek::storage
