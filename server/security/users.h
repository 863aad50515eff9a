// User accounts, shared by the command line and the API: one set of rules
// for creating users, changing passwords and disabling them.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/crypto.h"
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

// Validates, hashes (Argon2id at `cost`), stores and audits as `actor`.
Result<storage::User> create_user(storage::Catalog& catalog, AuditLog& audit,
                                  const std::string& name, Role role, const std::string& password,
                                  crypto::HashCost cost, const std::string& actor,
                                  const std::string& remote);

// Validates and stores a new password for `user`, ends every session of the
// user but `keep_session` (0: all) and audits `action` ("user.password" for a
// user's own change, "user.password_reset" for someone else's) as `actor`.
// The ids of the sessions ended (their WebSockets are the caller's to close).
Result<std::vector<std::int64_t>> change_password(
    storage::Catalog& catalog, AuditLog& audit, const storage::User& user,
    const std::string& password, crypto::HashCost cost, std::int64_t keep_session,
    const std::string& action, const std::string& actor, const std::string& remote);

// Disables (ending every session of the user) or enables `user`, audited as
// "user.disable" / "user.enable". failed_precondition for the last enabled
// administrator. The ids of the sessions ended.
Result<std::vector<std::int64_t>> set_disabled(storage::Catalog& catalog, AuditLog& audit,
                                               const storage::User& user, bool disabled,
                                               const std::string& actor, const std::string& remote);

// {"id","user","created","expires","remote","current"}; never the token or its hash.
nlohmann::json session_json(const storage::Session& session, const std::string& user_name,
                            std::int64_t current_session);

// {"id","name","role","created","disabled","cameras"}; never the hash.
nlohmann::json user_json(const storage::User& user);

}  // namespace zaulek::server
