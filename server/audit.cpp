#include "server/audit.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "server/hub.h"

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
  hub_->publish("audit",
                {{"time", format_rfc3339(e.time)},
                 {"actor", e.actor},
                 {"action", e.action},
                 {"target", e.target},
                 {"detail", detail},
                 {"remote", e.remote}},
                RoleSet{Role::administrator, Role::investigator},
                storage::audit_camera(e.target, e.detail));
}

}  // namespace zaulek::server
