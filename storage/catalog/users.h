// The catalogue's users (with the cameras each may see) and their login
// sessions. Part of Catalog (storage/catalog.h).
#pragma once

#include <cstddef>
#include <cstdint>
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
  // The only cameras this user may see (sorted, no duplicates); nullopt: every
  // camera (the default). Administrators see every camera whatever is stored.
  std::optional<std::vector<std::string>> cameras = std::nullopt;
};

struct Session {
  std::string token_hash;  // SHA-256 of the bearer token; the token itself is never stored
  std::int64_t user_id = 0;
  std::string csrf_token;
  WallTime created;
  WallTime expires;
  // Given by the catalogue (add_session's result); shown to the user and to
  // administrators in place of the token, which is never shown again.
  std::int64_t id = 0;
  std::string remote = {};  // the address the login came from ('' if unknown)
};

class UserCatalog {
 public:
  // Users.
  virtual Result<User> add_user(const std::string& name, Role role,
                                const std::string& password_hash) = 0;  // already_exists
  virtual Result<User> find_user(const std::string& name) = 0;          // not_found
  virtual Result<User> find_user(std::int64_t id) = 0;
  virtual Result<std::vector<User>> list_users() = 0;
  // not_found; failed_precondition when disabling would leave no enabled
  // administrator (checked in the same statement: two administrators
  // disabling each other at once cannot both succeed).
  virtual Status set_user_disabled(std::int64_t id, bool disabled) = 0;
  virtual Status set_user_password(std::int64_t id, const std::string& password_hash) = 0;
  // failed_precondition for the last enabled administrator made something else.
  virtual Status set_user_role(std::int64_t id, Role role) = 0;
  // nullopt: every camera; ids are stored sorted without duplicates. not_found.
  virtual Status set_user_cameras(std::int64_t id,
                                  const std::optional<std::vector<std::string>>& cameras) = 0;

  // The user's console preferences: one JSON object of at most
  // kMaxPreferencesBytes (what is in it is the server's to check). "{}" when
  // none were stored. not_found for an unknown user.
  static constexpr std::size_t kMaxPreferencesBytes = 16384;
  virtual Result<std::string> preferences(std::int64_t user_id) = 0;
  // Replaces them (`merge` false) or merges `json_object` into them (RFC 7396
  // merge patch: a null member removes that member), in one transaction.
  // Returns what is stored. invalid_argument for what is not a JSON object or
  // a result over kMaxPreferencesBytes; not_found for an unknown user.
  virtual Result<std::string> set_preferences(std::int64_t user_id, const std::string& json_object,
                                              bool merge) = 0;

  // Sessions.
  // The new session's id (session.id is ignored).
  virtual Result<std::int64_t> add_session(const Session& session) = 0;
  virtual Result<Session> find_session(const std::string& token_hash) = 0;  // not_found if expired
  virtual Result<Session> find_session_by_id(std::int64_t id) = 0;          // not_found if expired
  // The user's unexpired sessions, oldest first (at most kMaxListLimit).
  virtual Result<std::vector<Session>> list_user_sessions(std::int64_t user_id) = 0;
  virtual Status delete_session(const std::string& token_hash) = 0;
  virtual Status delete_session_by_id(std::int64_t id) = 0;  // not_found
  virtual Status delete_expired_sessions() = 0;
  // Every session of the user but `keep` (0: none kept), e.g. after a
  // password change; the ids of those deleted.
  virtual Result<std::vector<std::int64_t>> delete_user_sessions(std::int64_t user_id,
                                                                 std::int64_t keep = 0) = 0;

 protected:
  ~UserCatalog() = default;
};

}  // namespace zaulek::storage
