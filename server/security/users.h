// User creation shared by the command line and the API: one set of rules.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/error.h"
#include "server/security/audit.h"
#include "storage/catalog.h"

namespace zaulek::server {

inline constexpr std::size_t kMinPasswordLength = 8;
inline constexpr std::size_t kMaxPasswordLength = 1024;
inline constexpr std::size_t kMaxUserNameLength = 64;

// 1..64 of [A-Za-z0-9._-], starting with a letter or digit.
Status validate_user_name(std::string_view name);
Status validate_password(std::string_view password);

// Validates, hashes (Argon2id), stores and audits as `actor`.
Result<storage::User> create_user(storage::Catalog& catalog, AuditLog& audit,
                                  const std::string& name, Role role, const std::string& password,
                                  const std::string& actor, const std::string& remote);

// {"id","name","role","created","disabled","cameras"}; never the hash.
nlohmann::json user_json(const storage::User& user);

}  // namespace zaulek::server
