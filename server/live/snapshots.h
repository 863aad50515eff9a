// Camera snapshots for the console's grid (GET /api/v1/cameras/{id}/snapshot.jpg):
// the JPEG at the camera's ONVIF snapshot URI (Media GetSnapshotUri of the
// recorded, main, profile), fetched with the camera's credentials (HTTP
// Digest; Basic only where the camera's allow_basic_auth says so), bounded in
// size (onvif::kMaxSnapshotBytes) and in time (cameras.onvif_timeout_ms for
// all of it, a URI lookup included). onvif/client/snapshot.h does the HTTP.
//
// One second of cache per camera: a request within a second of the last
// fetch's end gets the same bytes (or the same failure), and requests while a
// fetch is in flight wait for it, so a camera is fetched at most once at a
// time whatever the number of consoles. At most kMaxFetches cameras are
// fetched at once (beyond: `busy`). A JPEG not asked for again is dropped
// after its second; per camera only its URI and Digest challenge stay.
//
// The URI is asked of the camera (GetSnapshotUri) before its first fetch and
// again after a failed one (a reboot may change it); what was learnt is
// forgotten when the camera's address or credentials change (the row given
// with the request differs). The registry's URI, learnt when the camera was
// added, is not used: it is gone after a restart and may be stale.
//
// Threading: every state change on one strand of the executor given (zaulekd:
// the camera io_context, where the event subscriptions run: a camera's traffic
// never holds the threads that serve consoles). get() is called from any
// thread and never blocks; `done` runs on the strand and must not block. No
// SQLite here: the caller reads the camera's row.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/clock.h"
#include "onvif/client/snapshot.h"
#include "server/security/secretbox.h"
#include "storage/catalog/cameras.h"

namespace zaulek::server {

// What the caller read of the camera in the catalogue.
struct SnapshotCamera {
  storage::Camera row;        // address, user, sealed password, allow_basic_auth
  std::string profile_token;  // the main stream's (the recorded profile)
};

struct SnapshotResult {
  enum class Kind {
    ok,       // jpeg
    failed,   // the camera did not give one; error says why (no credentials in it)
    busy,     // kMaxFetches other cameras are being fetched
    stopped,  // the service stops
  };
  Kind kind = Kind::failed;
  std::shared_ptr<const std::string> jpeg;
  std::string error;
  // For `failed`: unauthenticated (credentials refused), unavailable (no
  // connection), deadline_exceeded (no answer in time), or another kind
  // (a bad answer: not a JPEG, too large, an HTTP error, a URI refused).
  ErrorKind error_kind = ErrorKind::unavailable;
};

struct SnapshotsOptions {
  std::chrono::milliseconds timeout{5000};  // cameras.onvif_timeout_ms
  std::chrono::milliseconds keep{1000};     // how long a result is served again
};

class Snapshots {
 public:
  static constexpr std::size_t kMaxFetches = 32;

  Snapshots(boost::asio::any_io_executor executor, SecretBox box, Clock& clock,
            SnapshotsOptions options);
  ~Snapshots();
  Snapshots(const Snapshots&) = delete;
  Snapshots& operator=(const Snapshots&) = delete;

  using Done = std::function<void(SnapshotResult)>;
  void get(SnapshotCamera camera, Done done);
  // Fetches in flight end; their waiters, and every later get(), get `stopped`.
  void stop();

  // zaulek_snapshot_fetches_total{result}, zaulek_snapshot_cache_hits_total,
  // zaulek_snapshot_busy_total (Prometheus text).
  std::string metrics_text() const;

 private:
  struct Flight;
  struct Entry;
  void start_fetch(const std::string& id, Entry& e, const SnapshotCamera& camera);
  void fetch_uri(const std::string& id, std::shared_ptr<Flight> flight);
  void fetch_jpeg(const std::string& id, const std::shared_ptr<Flight>& flight,
                  const std::string& uri);
  void finish(const std::string& id, const std::shared_ptr<Flight>& flight, Result<std::string> r);
  static SnapshotResult result_of(const Entry& e);
  void schedule_sweep();
  void sweep();

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  SecretBox box_;
  Clock& clock_;
  SnapshotsOptions options_;
  boost::asio::steady_timer sweep_;
  // On strand_ only.
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  std::size_t in_flight_ = 0;
  bool stopped_ = false;
  bool sweep_armed_ = false;
  // Any thread.
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> fetched_ok_{0}, fetched_failed_{0}, hits_{0}, busy_{0};
};

}  // namespace zaulek::server
