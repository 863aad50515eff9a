// Internal: the audit hash chain's SQL function (for migration 0010) and its
// verifier. The encoding itself is public (catalog.h: audit_canonical).
#pragma once

#include <optional>

#include "core/error.h"
#include "storage/catalog.h"

namespace zaulek::storage {

namespace sql {
class Connection;
}

// Registers zaulek_audit_hash(id, time_ns, actor, action, target, detail,
// remote, prev_hash) -> audit_hash(...) on `c`.
Status register_audit_functions(sql::Connection& c);

// Catalog::verify_audit on a connection of its own (one read transaction).
Result<AuditVerification> verify_audit_chain(sql::Connection& c,
                                             const std::optional<AuditHead>& expected);

}  // namespace zaulek::storage
