// The catalogue: one SQLite file (WAL, foreign keys, busy timeout) holding
// users, sessions, the audit trail, cameras and their streams, the segment
// index, evidence holds and exports, events, alarms, rules, bookmarks and sites.
// Schema changes only through numbered migrations in storage/migrations/.
//
// Each kind of data has its part of the interface, with its types, in
// storage/catalog/<kind>.h; Catalog is all of them over one database, and the
// implementation of each part is in storage/catalog/<kind>.cpp.
//
// Threading: one Catalog per process. Every method is thread-safe. Writes go
// through one writer connection (serialized inside by a mutex held for one
// statement or one short transaction); reads borrow their own connection, so
// a slow reader never blocks the writer (WAL). All calls are short and
// synchronous. The Catalog must outlive every call in flight.
#pragma once

#include <filesystem>
#include <memory>

#include "core/clock.h"
#include "core/error.h"
#include "storage/catalog/alarms.h"
#include "storage/catalog/audit.h"
#include "storage/catalog/cameras.h"
#include "storage/catalog/events.h"
#include "storage/catalog/evidence/bookmarks.h"
#include "storage/catalog/evidence/exports.h"
#include "storage/catalog/evidence/holds.h"
#include "storage/catalog/segments.h"
#include "storage/catalog/sites.h"
#include "storage/catalog/users.h"

namespace zaulek::storage {

class Catalog : public UserCatalog,
                public AuditCatalog,
                public CameraCatalog,
                public SegmentCatalog,
                public HoldCatalog,
                public ExportCatalog,
                public EventCatalog,
                public AlarmCatalog,
                public BookmarkCatalog,
                public SiteCatalog {
 public:
  // Opens or creates `db_path`, applies pending migrations in one transaction.
  // A database whose schema version is newer than this binary knows is
  // refused with failed_precondition and a message naming both versions.
  static Result<std::unique_ptr<Catalog>> open(const std::filesystem::path& db_path,
                                               Clock& clock = system_clock());
  virtual ~Catalog() = default;

  virtual int schema_version() const = 0;
  static int latest_schema_version();

  // PRAGMA quick_check over the whole file (slow on big catalogues: for
  // `zaulekd check`, not for start-up). data_loss with SQLite's findings.
  virtual Status integrity_check() = 0;

  static constexpr int kMaxListLimit = 10000;
  static constexpr int kMaxBatch = 10000;
};

}  // namespace zaulek::storage
