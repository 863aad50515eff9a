// Users (with the cameras each may see) and login sessions.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "storage/catalog/sqlite_catalog.h"

namespace zaulek::storage {
namespace {

// The user ?1 may lose the administrator's powers: not one, already
// disabled, or another enabled administrator remains. In the UPDATE itself,
// so that two changes at once cannot both pass the check.
constexpr const char* kNotLastAdmin =
    "(role != 'administrator' OR disabled = 1 OR EXISTS (SELECT 1 FROM users WHERE role = "
    "'administrator' AND disabled = 0 AND id != ?1))";

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
  if (auto cams = st.opt_text("cameras")) {
    auto j = nlohmann::json::parse(*cams, nullptr, false);
    if (j.is_discarded() || !j.is_array())
      return make_error(ErrorKind::data_loss, "user " + u.name + " has an unreadable camera list");
    std::vector<std::string> ids;
    for (const auto& e : j)
      if (e.is_string()) ids.push_back(e.get<std::string>());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    u.cameras = std::move(ids);
  }
  return u;
}

Session read_session(const sql::Stmt& st) {
  Session s;
  s.token_hash = st.text("token_hash");
  s.user_id = st.int64("user_id");
  s.csrf_token = st.text("csrf_token");
  s.created = from_ns(st.int64("created_ns"));
  s.expires = from_ns(st.int64("expires_ns"));
  s.id = st.int64("id");
  s.remote = st.text("remote");
  return s;
}

}  // namespace

Result<User> SqliteCatalog::add_user(const std::string& name, Role role,
                                     const std::string& password_hash) {
  if (name.empty() || name.size() > 64 || name.find('\0') != std::string::npos) {
    return make_error(ErrorKind::invalid_argument, "user name must be 1 to 64 characters");
  }
  if (password_hash.empty() || password_hash.size() > 1024) {
    return make_error(ErrorKind::invalid_argument, "password hash must be 1 to 1024 characters");
  }
  User u{0, name, role, password_hash, clock_.realtime(), false};
  std::lock_guard lock(write_mu_);
  if (auto s = sql::execute(
          *writer_,
          "INSERT INTO users (name, role, password_hash, created_ns) VALUES (?1, ?2, ?3, ?4)", name,
          to_string(role), password_hash, to_unix_ns(u.created));
      !s) {
    if (s.error().kind == ErrorKind::already_exists) {
      return make_error(ErrorKind::already_exists, "user '" + name + "' already exists");
    }
    return with_context(s.error(), "adding user '" + name + "'");
  }
  u.id = writer_->last_insert_rowid();
  return u;
}

Result<User> SqliteCatalog::find_user(const std::string& name) {
  return find_one("SELECT * FROM users WHERE name = ?1", read_user, "no user '" + name + "'", name);
}

Result<User> SqliteCatalog::find_user(std::int64_t id) {
  return find_one("SELECT * FROM users WHERE id = ?1", read_user,
                  "no user with id " + std::to_string(id), id);
}

Result<std::vector<User>> SqliteCatalog::list_users() {
  return list_page("SELECT * FROM users ORDER BY name", read_user);
}

Status SqliteCatalog::set_user_disabled(std::int64_t id, bool disabled) {
  std::lock_guard lock(write_mu_);
  if (!disabled)
    return changed_one(sql::execute(*writer_, "UPDATE users SET disabled = 0 WHERE id = ?1", id),
                       "user", id);
  const std::string update =
      std::string("UPDATE users SET disabled = 1 WHERE id = ?1 AND ") + kNotLastAdmin;
  auto s = sql::execute(*writer_, update.c_str(), id);
  return last_admin_refused(s, id, "enable or add another first");
}

Status SqliteCatalog::set_user_password(std::int64_t id, const std::string& password_hash) {
  std::lock_guard lock(write_mu_);
  return changed_one(sql::execute(*writer_, "UPDATE users SET password_hash = ?2 WHERE id = ?1", id,
                                  password_hash),
                     "user", id);
}

Status SqliteCatalog::set_user_role(std::int64_t id, Role role) {
  std::lock_guard lock(write_mu_);
  const std::string update =
      std::string("UPDATE users SET role = ?2 WHERE id = ?1 AND (?2 = 'administrator' OR ") +
      kNotLastAdmin + ")";
  auto s = sql::execute(*writer_, update.c_str(), id, to_string(role));
  return last_admin_refused(s, id, "make another one administrator first");
}

Status SqliteCatalog::last_admin_refused(const Status& update, std::int64_t id,
                                         const char* what_then) {
  if (!update) return update;
  if (writer_->changes() == 1) return {};
  auto u = find_user(id);
  if (!u) return u.error();
  return make_error(ErrorKind::failed_precondition,
                    "'" + u->name + "' is the last enabled administrator; " + what_then);
}

Status SqliteCatalog::set_user_cameras(std::int64_t id,
                                       const std::optional<std::vector<std::string>>& cameras) {
  std::optional<std::vector<std::string>> ids = cameras;
  if (ids) {
    std::sort(ids->begin(), ids->end());
    ids->erase(std::unique(ids->begin(), ids->end()), ids->end());
  }
  std::lock_guard lock(write_mu_);
  return changed_one(sql::execute(*writer_, "UPDATE users SET cameras = ?2 WHERE id = ?1", id,
                                  camera_set_json(ids)),
                     "user", id);
}

Result<std::string> SqliteCatalog::preferences(std::int64_t user_id) {
  auto row = find_one(
      "SELECT (SELECT preferences FROM user_preferences WHERE user_id = users.id) AS p FROM users "
      "WHERE id = ?1",
      [](const sql::Stmt& st) -> Result<std::string> { return st.opt_text("p").value_or("{}"); },
      "no user with id " + std::to_string(user_id), user_id);
  return row;
}

Result<std::string> SqliteCatalog::set_preferences(std::int64_t user_id,
                                                   const std::string& json_object, bool merge) {
  auto given = nlohmann::json::parse(json_object, nullptr, false);
  if (given.is_discarded() || !given.is_object())
    return make_error(ErrorKind::invalid_argument, "preferences must be a JSON object");
  std::lock_guard lock(write_mu_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  auto user = sql::query_one(
      *writer_,
      "SELECT (SELECT preferences FROM user_preferences WHERE user_id = users.id) AS p FROM users "
      "WHERE id = ?1",
      [](const sql::Stmt& st) -> Result<std::string> { return st.opt_text("p").value_or("{}"); },
      user_id);
  if (!user) return user.error();
  if (!*user) return make_error(ErrorKind::not_found, "no user with id " + std::to_string(user_id));
  nlohmann::json stored = given;
  if (merge) {
    stored = nlohmann::json::parse(**user, nullptr, false);
    if (stored.is_discarded() || !stored.is_object()) stored = nlohmann::json::object();
    stored.merge_patch(given);
  } else {
    // A replacement holds no nulls (merge_patch would drop them too).
    stored = nlohmann::json::object();
    stored.merge_patch(given);
  }
  std::string text = stored.dump();
  if (text.size() > kMaxPreferencesBytes)
    return make_error(ErrorKind::invalid_argument,
                      "preferences would take " + std::to_string(text.size()) + " bytes; at most " +
                          std::to_string(kMaxPreferencesBytes));
  if (auto st = sql::execute(*writer_,
                             "INSERT INTO user_preferences (user_id, preferences, updated_ns) "
                             "VALUES (?1, ?2, ?3) ON CONFLICT (user_id) DO UPDATE SET "
                             "preferences = excluded.preferences, updated_ns = excluded.updated_ns",
                             user_id, text, to_unix_ns(clock_.realtime()));
      !st)
    return with_context(st.error(), "storing preferences of user " + std::to_string(user_id));
  if (auto st = tx->commit(); !st) return st.error();
  return text;
}

Result<std::int64_t> SqliteCatalog::add_session(const Session& s) {
  if (s.token_hash.empty()) return make_error(ErrorKind::invalid_argument, "empty token hash");
  // An address longer than any IPv6 text is not one: kept out, not cut.
  const std::string remote = s.remote.size() <= 64 ? s.remote : std::string();
  std::lock_guard lock(write_mu_);
  if (auto r = sql::execute(*writer_,
                            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_ns, "
                            "expires_ns, remote) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            s.token_hash, s.user_id, s.csrf_token, to_unix_ns(s.created),
                            to_unix_ns(s.expires), remote);
      !r) {
    // Never put the token hash in a message: it is as good as the token here.
    if (r.error().kind == ErrorKind::not_found) {
      return make_error(ErrorKind::not_found,
                        "adding session: no user with id " + std::to_string(s.user_id));
    }
    return make_error(r.error().kind, "adding session failed");
  }
  return writer_->last_insert_rowid();
}

Result<Session> SqliteCatalog::find_session(const std::string& token_hash) {
  return find_one("SELECT * FROM sessions WHERE token_hash = ?1 AND expires_ns > ?2", read_session,
                  "no such session, or it has expired", token_hash, to_unix_ns(clock_.realtime()));
}

Result<Session> SqliteCatalog::find_session_by_id(std::int64_t id) {
  return find_one("SELECT * FROM sessions WHERE id = ?1 AND expires_ns > ?2", read_session,
                  "no session " + std::to_string(id), id, to_unix_ns(clock_.realtime()));
}

Result<std::vector<Session>> SqliteCatalog::list_user_sessions(std::int64_t user_id) {
  return list_page(
      "SELECT * FROM sessions WHERE user_id = ?1 AND expires_ns > ?2 ORDER BY id LIMIT ?3",
      read_session, user_id, to_unix_ns(clock_.realtime()), sql::Limit{kMaxListLimit});
}

Status SqliteCatalog::delete_session_by_id(std::int64_t id) {
  std::lock_guard lock(write_mu_);
  return changed_one(sql::execute(*writer_, "DELETE FROM sessions WHERE id = ?1", id), "session",
                     id);
}

Status SqliteCatalog::delete_session(const std::string& token_hash) {
  std::lock_guard lock(write_mu_);
  // Logging out twice is not an error.
  return sql::execute(*writer_, "DELETE FROM sessions WHERE token_hash = ?1", token_hash);
}

Status SqliteCatalog::delete_expired_sessions() {
  std::lock_guard lock(write_mu_);
  return sql::execute(*writer_, "DELETE FROM sessions WHERE expires_ns <= ?1",
                      to_unix_ns(clock_.realtime()));
}

Result<std::vector<std::int64_t>> SqliteCatalog::delete_user_sessions(std::int64_t user_id,
                                                                      std::int64_t keep) {
  std::lock_guard lock(write_mu_);
  return sql::query_all(
      *writer_, "DELETE FROM sessions WHERE user_id = ?1 AND id != ?2 RETURNING id",
      [](const sql::Stmt& st) -> Result<std::int64_t> { return st.int64("id"); }, user_id, keep);
}

}  // namespace zaulek::storage
