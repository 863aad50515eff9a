#include "server/security/audit.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "server/hub/hub.h"

namespace zaulek::server {

void AuditLog::record(std::string actor, std::string action, std::string target,
                      std::string detail_json, std::string remote) {
  storage::AuditEntry e;
  e.time = clock_.realtime();
  e.actor = std::move(actor);
  e.action = std::move(action);
  e.target = std::move(target);
  e.detail = std::move(detail_json);
  e.remote = std::move(remote);
  if (auto st = catalog_.audit(e); !st)
    spdlog::error("audit: could not record {} on {}: {}", e.action, e.target, st.error().message);
  if (!hub_) return;
  auto detail = nlohmann::json::parse(e.detail, nullptr, false);
  if (detail.is_discarded()) detail = nlohmann::json::object();
  hub_->publish_about("audit",
                      {{"time", format_rfc3339(e.time)},
                       {"actor", e.actor},
                       {"action", e.action},
                       {"target", e.target},
                       {"detail", detail},
                       {"remote", e.remote}},
                      RoleSet{Role::administrator, Role::investigator},
                      storage::audit_cameras(e.target, e.detail));
}

void AuditHeadLogger::log() {
  auto head = catalog_.audit_head();
  if (!head) {
    spdlog::error("audit: could not read the chain head: {}", head.error().message);
    return;
  }
  if (last_ && *last_ == *head) return;
  if (last_ && last_->id > 0) {
    // The head logged before must still be in the chain; if not, entries
    // were removed or rewritten behind zaulekd's back (one indexed read).
    auto still = catalog_.list_audit(last_->id - 1, 1);
    if (still &&
        (still->empty() || still->front().id != last_->id || still->front().hash != last_->hash))
      spdlog::error(
          "audit: the chain head logged before ({}:{}) is no longer in the trail: "
          "entries were removed or rewritten",
          last_->id, last_->hash);
  }
  last_ = *head;
  // ID:HASH is what `zaulekd audit verify --head` takes.
  spdlog::info("audit: chain head {}:{}", head->id, head->hash);
}

}  // namespace zaulek::server
