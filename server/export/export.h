// Evidence export jobs (issue #20): a time range of one camera remuxed to
// one MP4 (media/mp4/mp4_file.h) from the recorded TS segments
// (media/ts_reader.h), every source segment and the MP4 hashed, a signed
// manifest and the ZIP (evidence/package.h) written to the export folder.
//
// Jobs run on a few threads of their own (export.max_concurrent), never on
// the request workers: one job reads and writes the footage's size in bytes,
// so more at once only share the same disk; the rest wait in order, at most
// export.max_queued, beyond which submit() says resource_exhausted. The
// catalogue's exports row is the job's record (queued -> running -> done |
// failed); progress is in memory and on the hub ({"type": "job"} to
// administrators and investigators who may see the camera).
//
// Each export places an evidence hold on its range (the row keeps its id;
// its reason starts with "export exp-<n>:" for people), released when the
// export is deleted or expires (export.keep_days after it finished, unless
// another hold covers the range).
// A restart fails the jobs the previous run left queued or running and
// removes their partial files: no job stays running.
//
// Thread-safe; every call may come from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/error.h"
#include "storage/catalog.h"

namespace zaulek::evidence {
class SigningKey;
}

namespace zaulek::server {

class Hub;       // server/hub/hub.h
class AuditLog;  // server/security/audit.h

struct ExportOptions {
  std::filesystem::path storage_root;  // segment paths are relative to it
  std::filesystem::path folder;        // packages (exp-<n>.zip) and work files
  std::chrono::hours keep{24 * 30};
  int max_concurrent = 1;
  int max_queued = 16;
  std::chrono::hours max_range{24};
  // Between expiry passes (also run at start).
  std::chrono::seconds expiry_interval{3600};
};

// The segment a camera's recorder is writing, which has no catalogue row
// until it closes: its first frame's wall time and its path relative to the
// storage root as it will be named once closed ("<camera>/<stem>.ts"; it is
// "<that>.part" while written).
struct OpenSegmentFile {
  std::int64_t start_ns = 0;
  std::string path;
};
using OpenSegmentLookup =
    std::function<std::optional<OpenSegmentFile>(const std::string& camera_id)>;

struct ExportRequest {
  std::string camera_id;
  std::int64_t from_ns = 0;
  std::int64_t to_ns = 0;
  std::string reason;
  std::string user;
  std::string remote;
};

// What the API shows of a job: the row and its progress.
struct ExportStatus {
  storage::Export job;
  double progress = 0;  // 0..1
};

class ExportService {
 public:
  ExportService(storage::Catalog& catalog, Clock& clock, Hub* hub, AuditLog& audit,
                const evidence::SigningKey& key, ExportOptions options);
  ~ExportService();  // stop()
  ExportService(const ExportService&) = delete;
  ExportService& operator=(const ExportService&) = delete;

  // Creates the folder, fails what a previous run left queued or running
  // (and removes its work files), starts the workers and the expiry pass.
  Status start();
  // Cancels the running jobs (they end failed: "zaulekd stopped") and joins.
  void stop();
  // Where the segments being written are (the recorders know): a job reads
  // the one of its camera up to `to` or, waiting a few seconds at most, as
  // far as it is written. Without it, jobs read closed segments only.
  void set_open_segment(OpenSegmentLookup lookup);

  // Adds the row and the hold and queues the job; the request is checked by
  // the caller (server/api/evidence/exports.cpp). resource_exhausted when
  // max_queued jobs already wait.
  Result<storage::Export> submit(const ExportRequest& request);
  Result<ExportStatus> status(const std::string& id);
  ExportStatus status_of(const storage::Export& job);
  // Cancels a queued or running job, removes the package, releases the
  // export's hold, deletes the row; audited by the caller.
  Status remove(const std::string& id);
  // The finished package (not_found unless done and present).
  Result<std::filesystem::path> package(const storage::Export& job) const;

  const ExportOptions& options() const { return options_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  ExportOptions options_;
};

}  // namespace zaulek::server
