#include "server/security/users.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "core/crypto.h"

namespace zaulek::server {

Status validate_user_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxUserNameLength)
    return make_error(ErrorKind::invalid_argument, "user name must be 1 to 64 characters");
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front()))
    return make_error(ErrorKind::invalid_argument, "user name must start with a letter or digit");
  for (char c : name)
    if (!alnum(c) && c != '.' && c != '_' && c != '-')
      return make_error(ErrorKind::invalid_argument,
                        "user name may contain only letters, digits, '.', '_' and '-'");
  return {};
}

Status validate_password(std::string_view password) {
  if (password.empty()) return make_error(ErrorKind::invalid_argument, "password is empty");
  if (password.size() < kMinPasswordLength)
    return make_error(ErrorKind::invalid_argument, "password must be at least 8 characters");
  if (password.size() > kMaxPasswordLength)
    return make_error(ErrorKind::invalid_argument, "password must be at most 1024 characters");
  return {};
}

Result<storage::User> create_user(storage::Catalog& catalog, AuditLog& audit,
                                  const std::string& name, Role role, const std::string& password,
                                  crypto::HashCost cost, const std::string& actor,
                                  const std::string& remote) {
  if (auto st = validate_user_name(name); !st) return st.error();
  if (auto st = validate_password(password); !st) return st.error();
  auto hash = crypto::hash_password(password, cost);
  if (!hash) return hash.error();
  auto user = catalog.add_user(name, role, *hash);
  if (!user) {
    if (user.error().kind == ErrorKind::already_exists)
      return make_error(ErrorKind::already_exists, "user '" + name + "' already exists");
    return user.error();
  }
  spdlog::info("users: '{}' created user '{}' with role {}", actor, name, to_string(role));
  audit.record(actor, "user.create", "user:" + name,
               nlohmann::json{{"role", to_string(role)}}.dump(), remote);
  return user;
}

Result<std::vector<std::int64_t>> change_password(
    storage::Catalog& catalog, AuditLog& audit, const storage::User& user,
    const std::string& password, crypto::HashCost cost, std::int64_t keep_session,
    const std::string& action, const std::string& actor, const std::string& remote) {
  if (auto st = validate_password(password); !st) return st.error();
  auto hash = crypto::hash_password(password, cost);
  if (!hash) return hash.error();
  if (auto st = catalog.set_user_password(user.id, *hash); !st) return st.error();
  // Whoever knew the old password may hold a session: they all end.
  auto ended = catalog.delete_user_sessions(user.id, keep_session);
  if (!ended) return ended.error();
  spdlog::info("users: '{}' changed the password of '{}' ({} other sessions ended)", actor,
               user.name, ended->size());
  audit.record(actor, action, "user:" + user.name,
               nlohmann::json{{"sessions_ended", ended->size()}}.dump(), remote);
  return ended;
}

Result<std::vector<std::int64_t>> set_disabled(storage::Catalog& catalog, AuditLog& audit,
                                               const storage::User& user, bool disabled,
                                               const std::string& actor,
                                               const std::string& remote) {
  if (auto st = catalog.set_user_disabled(user.id, disabled); !st) return st.error();
  std::vector<std::int64_t> ended;
  if (disabled) {
    auto r = catalog.delete_user_sessions(user.id, 0);
    if (!r) return r.error();
    ended = std::move(*r);
  }
  spdlog::info("users: '{}' {} user '{}'", actor, disabled ? "disabled" : "enabled", user.name);
  nlohmann::json detail = nlohmann::json::object();
  if (disabled) detail["sessions_ended"] = ended.size();
  audit.record(actor, disabled ? "user.disable" : "user.enable", "user:" + user.name, detail.dump(),
               remote);
  return ended;
}

nlohmann::json session_json(const storage::Session& session, const std::string& user_name,
                            std::int64_t current_session) {
  return {{"id", std::to_string(session.id)},
          {"user", user_name},
          {"created", format_rfc3339(session.created)},
          {"expires", format_rfc3339(session.expires)},
          {"remote", session.remote},
          {"current", session.id == current_session}};
}

nlohmann::json user_json(const storage::User& user) {
  return {
      {"id", std::to_string(user.id)},
      {"name", user.name},
      {"role", to_string(user.role)},
      {"created", format_rfc3339(user.created)},
      {"disabled", user.disabled},
      // null: every camera (administrators always); else the only ones the user sees.
      {"cameras", user.cameras && user.role != Role::administrator ? nlohmann::json(*user.cameras)
                                                                   : nlohmann::json(nullptr)}};
}

}  // namespace zaulek::server
