// The audit trail: every mutating call and every login attempt writes a row
// (actor, action, target, detail without secrets, remote address). When a hub
// is attached, each row is also published as an `audit` WebSocket message to
// the roles that may read GET /api/v1/audit (administrator, investigator);
// an entry that names cameras (storage::audit_cameras) only to the consoles
// whose user may see every one of them, as GET /api/v1/audit lists it.
#pragma once

#include <optional>
#include <string>

#include "core/clock.h"
#include "storage/catalog.h"

namespace zaulek::server {

class Hub;

class AuditLog {
 public:
  AuditLog(storage::Catalog& catalog, Clock& clock, Hub* hub = nullptr)
      : catalog_(catalog), clock_(clock), hub_(hub) {}

  // A failure to write is logged, never fatal to the call being audited.
  void record(std::string actor, std::string action, std::string target, std::string detail_json,
              std::string remote);

 private:
  storage::Catalog& catalog_;
  Clock& clock_;
  Hub* hub_;
};

// Writes the audit chain's head (last id and hash) to the log, so that a
// removed tail, which leaves an intact shorter chain, shows against the
// journal: `zaulekd audit verify --head ID:HASH` (docs/administrators.md).
// zaulekd calls it at start, every 10 minutes and at shutdown; only the first
// call and a changed head write a line. Not thread-safe: one caller.
class AuditHeadLogger {
 public:
  explicit AuditHeadLogger(storage::Catalog& catalog) : catalog_(catalog) {}
  void log();

 private:
  storage::Catalog& catalog_;
  std::optional<storage::AuditHead> last_;
};

}  // namespace zaulek::server
