// zaulekd records its cameras: one media::Recorder per catalogued camera
// whose recording mode is continuous or events, writing under
// <storage.path>/<camera_id>/; every closed segment becomes a catalogue row.
//
// Which cameras: every camera is read once when recorders may start (after
// reconciliation); after that zaulekd calls camera_changed(id) for each
// change the camera registry commits (server/cameras/cameras.h, on_change),
// and that camera's row is read again. A new camera gets a recorder; one
// whose main stream URI, credentials or mode changed has its recorder
// stopped (the open segment is closed and indexed) and a new one started
// after that; a deleted camera, or one switched to mode off, has its
// recorder stopped. The catalogue is not polled.
//
// Before any recorder starts, start-up reconciliation runs (docs/design/
// storage.md "Crash invariants", step 7): media::reconcile_camera_dir for
// every camera directory (unfinished *.ts.part trimmed and indexed), then
// storage::reconcile with repair and a probe wrapping media::probe_segment.
// Retention (storage::enforce_retention with [retention] max_age_days and
// min_free_percent) runs after reconciliation and then every
// retention_interval.
//
// Threading. Recorders write and fdatasync their files on their strands, so
// they get an io_context of their own (`threads` threads): the HTTP I/O
// threads never wait on the disk. The service's state (which camera has
// which recorder, the recorder states) lives on one strand of it.
// Reconciliation and retention do file-system work in bulk: they run on a
// dedicated maintenance thread, never on an io thread. Catalogue calls are
// short synchronous SQLite statements (storage::Catalog is thread-safe).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "media/recorder.h"
#include "server/security/secretbox.h"
#include "storage/catalog.h"
#include "storage/footage.h"

namespace zaulek::server {

struct RecordingOptions {
  std::filesystem::path root;  // storage.path
  std::chrono::milliseconds segment_duration{60'000};
  std::chrono::milliseconds pre_event{5'000};
  std::chrono::milliseconds post_event{10'000};
  int max_age_days = 90;
  double min_free_percent = 10;
  std::uint64_t catalog_reserve_bytes = 32ull << 20;  // 0: no reserve
  media::Ingest ingest = media::Ingest::native;
  // After a catalogue read failed (a change would stay unapplied), every
  // camera is read again after this, until a read succeeds.
  std::chrono::milliseconds resync_retry{1'000};
  std::chrono::milliseconds retention_interval{60'000};
  // A sub stream pulled for live view is kept this long after its last
  // viewer left (a grid re-layout does not reconnect to the camera).
  std::chrono::milliseconds sub_linger{10'000};
  int threads = 2;
};

// From [storage], [recording] and [retention].
RecordingOptions recording_options(const config::Config& config);

// A recorder state that means the storage failed (disk full, unwritable),
// not the camera: the reserve is released and a storage health alarm raised.
bool is_storage_fault(const std::string& state, const std::string& detail);

// One camera's recorder as the API shows it.
struct RecorderStatus {
  std::string state;   // connecting, recording, backoff, stopped
  std::string detail;  // why, for backoff
  WallTime since;      // when this state began
  std::uint64_t segments = 0;
  std::uint64_t restarts = 0;
  std::uint64_t frames = 0;
  std::uint64_t packets_lost = 0;  // RTP sequence gaps (UDP loss)
  // The segment being written (0 when none): the live edge of the timeline.
  std::int64_t open_start_ns = 0;
  std::int64_t open_end_ns = 0;
};

class RecordingService {
 public:
  RecordingService(storage::Catalog& catalog, SecretBox box, Clock& clock,
                   RecordingOptions options);
  ~RecordingService();  // stop()
  RecordingService(const RecordingService&) = delete;
  RecordingService& operator=(const RecordingService&) = delete;

  // Starts the io threads and the maintenance thread (reconciliation, then
  // recorders, then the retention loop). Does not wait for reconciliation.
  void start();
  // Stops every recorder (each closes and indexes its open segment), waits
  // for them (bounded, a few seconds), then joins the threads. Idempotent.
  void stop();

  // True once start-up reconciliation has finished and recorders run.
  bool ready() const { return ready_; }

  // The camera's recorder (blocking, at most about a second; call from a
  // worker thread, never from this service's io threads). nullopt when the
  // camera has no recorder (mode off, no main stream, not yet started).
  std::optional<RecorderStatus> status(const std::string& camera_id);

  // The camera registry committed a change of camera `camera_id` (added,
  // edited, moved, streams or credentials, removed): its row is read again
  // on the service's strand and its recorder follows. Any thread; does not
  // block (the registry calls it from its own strand).
  void camera_changed(const std::string& camera_id);

  // events mode: an event started (true) or stopped (false) on this camera.
  // Any thread; ignored for a camera without a recorder.
  void event(const std::string& camera_id, bool active);
  // Stored camera events as the event service hands them on: motion,
  // line_crossing, intrusion, tamper and io_input start/stop drive event();
  // a pulse is a start and a stop (footage from pre_event before it to
  // post_event after it). zaulekd calls it from EventsOptions::on_published.
  void on_events(const std::vector<storage::Event>& events);

  // The live feed of the camera's recorder (its main stream, the same pull;
  // media/live/feed.h), or null when it has none. Any thread; does not block.
  std::shared_ptr<media::live::Feed> live_feed(const std::string& camera_id) const;

  // A live viewer's hold on a camera stream (docs/design/live.md "Sub
  // streams"). main: the recorder's feed. sub: the camera's sub stream,
  // pulled live-only (the same ingest, no segments) while anyone holds it
  // and sub_linger after the last hold is dropped, one pull per stream
  // whoever watches (a camera with sub_pull = always: the service itself
  // holds it all the time); a camera without a sub stream is served from
  // its main stream (stream says "main"). feed null: nothing to watch.
  struct LiveHold {
    std::shared_ptr<media::live::Feed> feed;
    std::string stream;           // what is served: "main" or "sub"
    std::shared_ptr<void> lease;  // keeps the sub pull; drop it when the viewer goes
  };
  // Any thread except this service's io threads (reads the catalogue).
  LiveHold live(const std::string& camera_id, storage::StreamKind kind);
  // Every recorder's live feed (for live view's /metrics).
  std::vector<std::shared_ptr<media::live::Feed>> live_feeds() const;

  // Prometheus text lines (zaulek_recording_*, zaulek_retention_*).
  std::string metrics_text() const;

  // Every recorder state change (connecting, recording, backoff with its
  // reason, stopped), on the service's strand; set before start(). zaulekd
  // turns storage failures (disk full, unwritable) into health alarms.
  using StateListener = std::function<void(const std::string& camera_id, const std::string& state,
                                           const std::string& detail)>;
  void set_state_listener(StateListener fn) { state_listener_ = std::move(fn); }

 private:
  StateListener state_listener_;
  struct Entry {
    std::string fingerprint;  // main stream URI, user, sealed password, mode
    std::shared_ptr<media::Recorder> recorder;
    std::uint64_t serial = 0;  // tells its state callbacks from a predecessor's
    bool started = false;
  };
  struct State {
    std::string state, detail;
    WallTime since;
  };
  void maintenance();
  void reconcile();
  void retention_pass();
  void ensure_reserve();
  void sync();                              // every camera
  void sync_camera(const std::string& id);  // one camera
  bool apply(const std::string& id, const storage::Camera* camera);
  void resync_later();
  void cannot(const std::string& id, const std::string& why);
  void start_entry(const std::string& id, const std::shared_ptr<media::Recorder>& recorder);
  void stop_recorder(const std::string& id, std::shared_ptr<media::Recorder> recorder);
  void on_segment(const media::SegmentInfo& s);
  void on_state(const std::string& id, std::uint64_t serial, const std::string& state,
                const std::string& detail);
  void count_states();

  storage::Catalog& catalog_;
  SecretBox box_;
  Clock& clock_;
  RecordingOptions options_;
  storage::SpaceReserve reserve_;
  boost::asio::io_context ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer resync_timer_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::thread maintenance_;
  std::mutex stop_mu_;  // the maintenance thread's sleep between retention passes
  std::condition_variable stop_cv_;
  bool stop_requested_ = false;  // under stop_mu_
  bool retake_reserve_ = false;  // under stop_mu_: wake the maintenance thread for ensure_reserve
  std::atomic<bool> started_{false}, stopped_{false}, ready_{false};
  // On strand_ only.
  bool stopping_ = false;
  bool synced_ = false;        // the first full sync ran: changes apply from now on
  bool resync_armed_ = false;  // resync_timer_ runs
  // What a recorder needs free to open a segment: the reserve's size while
  // it is held, twice that once released (the reserve is the catalogue's).
  // Written by ensure_reserve and on the strand when the reserve is released.
  std::atomic<std::uint64_t> segment_min_free_{0};
  std::map<std::string, Entry> recorders_;
  std::map<std::string, State> states_;
  std::map<std::string, std::string> warned_;  // camera -> last "cannot record" reason logged
  std::map<std::string, int> stopping_ids_;    // cameras whose old recorder is still stopping
  int in_flight_stops_ = 0;
  std::uint64_t next_serial_ = 0;
  std::shared_ptr<std::promise<void>> stop_done_;  // set when in_flight_stops_ reaches 0

  // Metrics.
  std::atomic<std::uint64_t> segments_indexed_{0}, index_failures_{0};
  std::atomic<std::uint64_t> recovered_{0}, reconcile_findings_{0};
  std::atomic<std::uint64_t> retention_passes_{0}, retention_deleted_{0}, retention_bytes_{0},
      retention_failures_{0};
  std::atomic<bool> below_min_free_{false};
  std::atomic<int> n_recorders_{0}, n_recording_{0}, n_backoff_{0};
  // Cameras with a recorder, for event() to skip the others without a hop
  // to strand_ (every camera event passes there). Written on strand_.
  mutable std::mutex recorder_ids_mu_;
  std::set<std::string> recorder_ids_;
  std::map<std::string, std::shared_ptr<media::live::Feed>> live_feeds_;  // of recorders_

  // Sub streams pulled for live view (live()); shared with the leases, which
  // may outlive this service.
  struct SubPulls;
  std::shared_ptr<SubPulls> subs_;
  void drop_sub(const std::string& id, const std::string& fingerprint);
  void check_sub(const std::string& id, const storage::Camera* camera);
  LiveHold hold_sub(const std::string& id, const storage::Camera& camera,
                    const std::vector<storage::Stream>& streams);
  // Cameras whose sub stream is pulled always (sub_pull = always): the
  // service's own hold on the pull, and what it was taken for. On strand_.
  struct StandingSub {
    std::string fingerprint;
    std::shared_ptr<void> lease;
  };
  std::map<std::string, StandingSub> standing_subs_;
  std::atomic<int> n_standing_subs_{0};
  void keep_sub(const std::string& id, const storage::Camera* camera);

  // RTP packets lost per camera and stream (media::CameraConfig::
  // on_packets_lost); shared with the recorders' callbacks.
  struct Losses;
  std::shared_ptr<Losses> losses_;
};

}  // namespace zaulek::server
