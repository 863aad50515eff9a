#include "server/security/auth.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "core/crypto.h"

namespace zaulek::server {

Auth::Auth(storage::Catalog& catalog, AuditLog& audit, Clock& clock,
           std::chrono::seconds session_ttl, int login_max_failures,
           std::chrono::seconds login_window, crypto::HashCost hash_cost)
    : catalog_(catalog),
      audit_(audit),
      clock_(clock),
      ttl_(session_ttl),
      by_pair_(clock, login_max_failures, login_window),
      by_address_(clock, login_max_failures * kAddressFailuresFactor, login_window),
      hash_cost_(hash_cost) {
  // Same cost parameters as new hashes, for a password nobody knows.
  auto h = crypto::hash_password(crypto::random_token(), hash_cost_);
  if (h) dummy_hash_ = *h;
}

Result<LoginResult> Auth::login(const std::string& user, const std::string& password,
                                const std::string& remote, std::optional<LoginRefusal>* refusal) {
  const std::string pair_key = Auth::pair_key(user, remote);
  const std::string addr_key = "addr:" + remote;
  if (auto blocked = throttled(pair_key, addr_key)) {
    spdlog::warn("auth: login for '{}' from {} refused: too many failures (retry in {}s)", user,
                 remote, blocked->count());
    audit_.record(user, "auth.login_limited", "user:" + user,
                  nlohmann::json{{"retry_after_s", blocked->count()}}.dump(), remote);
    Error e = make_error(ErrorKind::resource_exhausted, "too many failed logins; try again later");
    if (refusal) *refusal = LoginRefusal{e, blocked};
    return e;
  }

  auto found = catalog_.find_user(user);
  bool ok = false;
  if (found) {
    ok = crypto::verify_password(found->password_hash, password) && !found->disabled;
  } else {
    // Unknown user: spend the same time so that names cannot be probed.
    (void)crypto::verify_password(dummy_hash_, password);
    if (found.error().kind != ErrorKind::not_found) {
      spdlog::error("auth: user lookup failed: {}", found.error().message);
      return found.error();
    }
  }
  if (!ok) {
    by_pair_.record_failure(pair_key);
    by_address_.record_failure(addr_key);
    ++login_failures_;
    spdlog::warn("auth: failed login for '{}' from {}", user, remote);
    audit_.record(user, "auth.login_failed", "user:" + user, "{}", remote);
    Error e = make_error(ErrorKind::unauthenticated, "wrong user name or password");
    if (refusal) *refusal = LoginRefusal{e, std::nullopt};
    return e;
  }
  by_pair_.reset(pair_key);

  LoginResult r;
  r.token = crypto::random_token();
  r.csrf_token = crypto::random_token();
  r.role = found->role;
  r.user_name = found->name;
  storage::Session s;
  s.token_hash = crypto::sha256_hex(r.token);
  s.user_id = found->id;
  s.csrf_token = r.csrf_token;
  s.created = clock_.realtime();
  s.expires = s.created + ttl_;
  s.remote = remote;
  r.expires = s.expires;
  auto id = catalog_.add_session(s);
  if (!id) {
    spdlog::error("auth: could not store session: {}", id.error().message);
    return id.error();
  }
  r.session_id = *id;
  spdlog::info("auth: '{}' logged in from {}", found->name, remote);
  audit_.record(found->name, "auth.login", "user:" + found->name,
                nlohmann::json{{"session", std::to_string(r.session_id)}}.dump(), remote);
  return r;
}

std::string Auth::pair_key(const std::string& user, const std::string& remote) {
  // Length-prefixed so that no user name can reach into the address part.
  return std::to_string(user.size()) + ":" + user + remote;
}

std::optional<std::chrono::seconds> Auth::throttled(const std::string& pair_key,
                                                    const std::string& addr_key) {
  auto blocked = by_pair_.blocked_for(pair_key);
  if (auto b = by_address_.blocked_for(addr_key); b && (!blocked || *b > *blocked)) blocked = b;
  return blocked;
}

Status Auth::check_password(const Principal& principal, const std::string& password,
                            const std::string& remote, std::optional<LoginRefusal>* refusal) {
  const std::string pair_key = Auth::pair_key(principal.name, remote);
  const std::string addr_key = "addr:" + remote;
  if (auto blocked = throttled(pair_key, addr_key)) {
    spdlog::warn("auth: password check for '{}' from {} refused: too many failures", principal.name,
                 remote);
    audit_.record(principal.name, "auth.login_limited", "user:" + principal.name,
                  nlohmann::json{{"retry_after_s", blocked->count()}}.dump(), remote);
    Error e =
        make_error(ErrorKind::resource_exhausted, "too many wrong passwords; try again later");
    if (refusal) *refusal = LoginRefusal{e, blocked};
    return e;
  }
  auto user = catalog_.find_user(principal.user_id);
  if (!user) return user.error();
  if (!crypto::verify_password(user->password_hash, password)) {
    by_pair_.record_failure(pair_key);
    by_address_.record_failure(addr_key);
    ++login_failures_;
    spdlog::warn("auth: wrong current password for '{}' from {}", principal.name, remote);
    audit_.record(principal.name, "auth.password_check_failed", "user:" + principal.name, "{}",
                  remote);
    Error e = make_error(ErrorKind::permission_denied, "the current password is wrong");
    if (refusal) *refusal = LoginRefusal{e, std::nullopt};
    return e;
  }
  by_pair_.reset(pair_key);
  return {};
}

Result<Principal> Auth::authenticate(const std::string& token) {
  // Tokens are 64 hex characters; anything else cannot be ours.
  if (token.size() != 64) return make_error(ErrorKind::unauthenticated, "invalid token");
  std::string hash = crypto::sha256_hex(token);
  auto s = catalog_.find_session(hash);
  if (!s) {
    if (s.error().kind != ErrorKind::not_found) return s.error();
    return make_error(ErrorKind::unauthenticated, "invalid or expired token");
  }
  if (s->expires <= clock_.realtime())
    return make_error(ErrorKind::unauthenticated, "invalid or expired token");
  auto authenticated = clock_.monotonic();
  auto u = catalog_.find_user(s->user_id);
  if (!u || u->disabled) return make_error(ErrorKind::unauthenticated, "invalid or expired token");
  Principal p;
  p.user_id = u->id;
  p.name = u->name;
  p.role = u->role;
  p.token_hash = hash;
  p.session_id = s->id;
  p.session_expires = s->expires;
  p.csrf_token = s->csrf_token;
  if (u->role != Role::administrator) p.cameras = u->cameras;  // administrators see all
  p.authenticated = authenticated;
  return p;
}

Status Auth::logout(const Principal& principal, const std::string& remote) {
  auto st = catalog_.delete_session(principal.token_hash);
  if (!st) return st;
  spdlog::info("auth: '{}' logged out", principal.name);
  audit_.record(principal.name, "auth.logout", "user:" + principal.name,
                nlohmann::json{{"session", std::to_string(principal.session_id)}}.dump(), remote);
  return {};
}

}  // namespace zaulek::server
