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
                                  const std::string& actor, const std::string& remote) {
  if (auto st = validate_user_name(name); !st) return st.error();
  if (auto st = validate_password(password); !st) return st.error();
  auto hash = crypto::hash_password(password);
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
