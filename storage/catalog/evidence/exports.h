// Evidence export jobs. Part of Catalog (storage/catalog.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace zaulek::storage {

enum class ExportState { queued, running, done, failed };
std::string_view to_string(ExportState state);

// An evidence export job. While queued or running, its footage is protected
// from retention as if held.
struct Export {
  std::string id;  // "exp-<n>", assigned by add_export
  std::string camera_id;
  std::int64_t from_ns = 0;
  std::int64_t to_ns = 0;
  ExportState state = ExportState::queued;
  std::string path;  // relative to the storage root, once done
  std::int64_t bytes = 0;
  std::string sha256;
  std::string error;  // why it failed
  std::string created_by;
  WallTime created;                  // set by the catalogue
  std::optional<WallTime> finished;  // set when done or failed
  // The evidence hold the export placed on its range (add_export_with_hold);
  // nullopt when it has none (deleted by hand, or never placed).
  std::optional<std::int64_t> hold_id;
};

class ExportCatalog {
 public:
  // Exports.
  virtual Result<Export> add_export(const Export& job) = 0;  // id, state, created assigned
  // The same, and in the same durable transaction the evidence hold that
  // keeps the export's footage [from, to) until the export is deleted: its
  // reason is "export <id>: " + hold_reason (cut to the hold's 1024 bytes on
  // a character boundary), created_by the job's; hold_id names it. Either
  // both are written or neither.
  virtual Result<Export> add_export_with_hold(const Export& job,
                                              const std::string& hold_reason) = 0;
  // Moves a job on: queued -> running -> done | failed (failed_precondition
  // otherwise); done/failed set `finished`. path/bytes/sha256/error as given.
  virtual Result<Export> update_export(const Export& job) = 0;
  virtual Result<Export> find_export(const std::string& id) = 0;  // not_found
  // Newest first; camera_id "" = all cameras. before_n > 0: only exports
  // older than "exp-<before_n>" (the next page after that one). cameras: only
  // exports of these (a user's visible set; nullopt = no restriction), chosen
  // in the query so that a page is full whenever more rows exist.
  virtual Result<std::vector<Export>> list_exports(
      const std::string& camera_id, int limit, std::int64_t before_n = 0,
      const std::optional<std::vector<std::string>>& cameras = std::nullopt) = 0;
  // Finished (done or failed) before `before`, oldest first, except those
  // whose whole range a hold covers that is no export's own (expiry: the
  // package of footage held for a case is kept with it).
  virtual Result<std::vector<Export>> finished_exports(WallTime before, int limit) = 0;
  // Removes the row (its file and hold are the caller's); not_found.
  virtual Status delete_export(const std::string& id) = 0;
  // After a restart: every queued or running job failed with `reason`; returns how many.
  virtual Result<std::int64_t> fail_unfinished_exports(const std::string& reason) = 0;

 protected:
  ~ExportCatalog() = default;
};

}  // namespace zaulek::storage
