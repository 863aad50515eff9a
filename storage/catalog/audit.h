// The audit trail: append-only entries in a SHA-256 hash chain. Part of
// Catalog (storage/catalog.h); the chain's verifier is storage/audit_chain.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace zaulek::storage {

// The cameras an audit entry names (none, one or several, in no particular
// order, duplicates possible): the id in a target "camera:<id>", a string
// "camera_id" in the detail JSON, and the strings of the arrays "cameras" (a
// rule's cameras) and "from"/"to" (a user's visible cameras before and after)
// in it. Writers of audit entries name cameras only in these places, so that
// a user who may not see one of them is never shown the entry
// (list_audit with `cameras`, and the hub's audit messages).
std::vector<std::string> audit_cameras(const std::string& target, const std::string& detail_json);

struct AuditEntry {
  std::int64_t id = 0;
  WallTime time;
  std::string actor;   // user name, or "system"
  std::string action;  // e.g. "user.create", "auth.login", "camera.add"
  std::string target;  // what it was done to, e.g. "user:alice"
  std::string detail;  // JSON text with details, at most 64 KiB; never secrets
  std::string remote;  // client address, if any
  // The hash chain (set by the catalogue; see audit_hash()). The default
  // initializers let callers brace-initialize only the fields above.
  std::string prev_hash = {};  // hash of the entry before, kAuditGenesis for the first
  std::string hash = {};       // SHA-256 (hex) of this entry's canonical encoding
};

// The audit trail is a hash chain: each entry's hash is the SHA-256 (hex) of
// its canonical encoding, which ends with the previous entry's hash. The
// encoding is netstrings ("<byte length>:<bytes>,") of, in this order:
// "zaulek-audit-v1", id, time_ns, actor, action, target, detail, remote and
// prev_hash, numbers in decimal; length prefixes make it unambiguous, so a
// byte moved from one field to the next changes the hash.
inline constexpr std::string_view kAuditGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";
std::string audit_canonical(std::int64_t id, std::int64_t time_ns, std::string_view actor,
                            std::string_view action, std::string_view target,
                            std::string_view detail, std::string_view remote,
                            std::string_view prev_hash);
std::string audit_hash(std::int64_t id, std::int64_t time_ns, std::string_view actor,
                       std::string_view action, std::string_view target, std::string_view detail,
                       std::string_view remote, std::string_view prev_hash);

// The last entry of the chain; id 0 and kAuditGenesis when the trail is empty.
struct AuditHead {
  std::int64_t id = 0;
  std::string hash = std::string(kAuditGenesis);
  bool operator==(const AuditHead&) const = default;
};

// The outcome of walking the whole chain (Catalog::verify_audit).
struct AuditVerification {
  std::int64_t checked = 0;  // entries read, up to the first break
  AuditHead head;            // the last entry read
  bool intact = true;
  std::int64_t bad_id = 0;  // the first entry changed, out of order or missing
  std::string problem;      // one line naming bad_id and what is wrong with it
};

class AuditCatalog {
 public:
  // Audit trail (append only).
  virtual Status audit(const AuditEntry& entry) = 0;
  // Entries with id > after_id, oldest first; 1 <= limit <= kMaxListLimit.
  virtual Result<std::vector<AuditEntry>> list_audit(std::int64_t after_id, int limit) = 0;
  // The same, only entries every camera of which (audit_cameras()) is one of
  // `cameras` (nullopt: every entry); an entry that names no camera is listed.
  virtual Result<std::vector<AuditEntry>> list_audit(
      std::int64_t after_id, int limit, const std::optional<std::vector<std::string>>& cameras) = 0;
  virtual Result<AuditHead> audit_head() = 0;
  // Walks the chain in id order in one pass (streamed, bounded memory) and
  // stops at the first entry whose content no longer matches its hash, whose
  // link does not name the entry before, or whose id leaves a gap. A deleted
  // last entry leaves an intact, shorter chain: compare the head with one
  // written earlier (the log), or pass it as `expected`: then the chain must
  // still hold that entry with that hash.
  virtual Result<AuditVerification> verify_audit(
      const std::optional<AuditHead>& expected = std::nullopt) = 0;

  static constexpr std::size_t kMaxAuditDetail = 64 * 1024;  // bytes of JSON

 protected:
  ~AuditCatalog() = default;
};

}  // namespace zaulek::storage
