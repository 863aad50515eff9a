// Logins, sessions and login throttling. Tokens are 256 random bits given
// to the client once; the catalogue stores only their SHA-256. Unknown users
// cost the same Argon2id verification as known ones (a dummy hash).
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/error.h"
#include "server/http/http_types.h"
#include "server/security/audit.h"
#include "server/security/rate_limiter.h"
#include "storage/catalog.h"

namespace zaulek::server {

struct LoginResult {
  std::string token;  // give to the client, never log
  std::string csrf_token;
  Role role = Role::operator_;
  std::string user_name;
  WallTime expires;
  std::int64_t session_id = 0;
};

struct LoginRefusal {
  Error error;                                      // unauthenticated or resource_exhausted
  std::optional<std::chrono::seconds> retry_after;  // set when rate limited
};

class Auth {
 public:
  static constexpr int kAddressFailuresFactor = 4;

  // `hash_cost`: of the dummy hash that unknown users are checked against,
  // the cost new hashes are made with (password_hash_cost()).
  Auth(storage::Catalog& catalog, AuditLog& audit, Clock& clock, std::chrono::seconds session_ttl,
       int login_max_failures, std::chrono::seconds login_window, crypto::HashCost hash_cost);

  // Audits the outcome (never the password). `remote` is the client address.
  Result<LoginResult> login(const std::string& user, const std::string& password,
                            const std::string& remote, std::optional<LoginRefusal>* refusal);
  // not_found/unauthenticated for an unknown, expired or disabled session.
  Result<Principal> authenticate(const std::string& token);
  Status logout(const Principal& principal, const std::string& remote);
  // The caller's current password, before a change: throttled and audited
  // like a login (a stolen session must not become a password oracle).
  // permission_denied when wrong (not 401: the session itself is fine).
  Status check_password(const Principal& principal, const std::string& password,
                        const std::string& remote, std::optional<LoginRefusal>* refusal);

  std::uint64_t login_failures() const { return login_failures_; }
  crypto::HashCost password_hash_cost() const { return hash_cost_; }

 private:
  storage::Catalog& catalog_;
  AuditLog& audit_;
  Clock& clock_;
  std::chrono::seconds ttl_;
  // Failures count per (user, address) with growing delays, and per address
  // (one that tries many names) with a ceiling kAddressFailuresFactor times
  // higher. There is deliberately no lock per user alone: failures from one
  // address never refuse that user at another (docs/design/threats.md).
  // Refusal if (user, remote) or remote is throttled now.
  std::optional<std::chrono::seconds> throttled(const std::string& pair_key,
                                                const std::string& addr_key);
  static std::string pair_key(const std::string& user, const std::string& remote);
  BackoffLimiter by_pair_;
  RateLimiter by_address_;
  crypto::HashCost hash_cost_;
  std::string dummy_hash_;
  std::atomic<std::uint64_t> login_failures_{0};
};

}  // namespace zaulek::server
