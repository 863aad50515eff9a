#include "server/recording/recording.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <unistd.h>
#include <cstring>
#include <future>
#include <set>

#include "core/ids.h"
#include "server/http/metrics.h"
#include "server/run_contained.h"
#include "storage/footage.h"

namespace zaulek::server {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

constexpr auto kStopBound = std::chrono::seconds{6};
constexpr auto kStatusBound = std::chrono::milliseconds{1000};

// A segment of the engine as a catalogue row (path relative to the root).
storage::Segment to_row(const media::SegmentInfo& s, const std::filesystem::path& root) {
  storage::Segment row;
  row.camera_id = s.camera_id;
  row.start_ns = to_unix_ns(s.start);
  row.end_ns = std::max(to_unix_ns(s.end), row.start_ns);
  row.bytes = static_cast<std::int64_t>(s.bytes);
  row.path = s.path.lexically_relative(root).generic_string();
  row.codec = std::string(media::to_string(s.codec));
  row.keyframes = s.keyframes;
  row.state = storage::SegmentState::closed;
  return row;
}

}  // namespace

// Sub streams pulled for live view (RecordingService::live): a live-only
// recorder (mode off: the same ingest, time line and feed, no segments) per
// camera, while anyone holds it and `linger` after. Its own mutex: holds
// are taken on HTTP threads and dropped on feed strands; nothing under it
// waits (a recorder's start and stop only post).
struct RecordingService::SubPulls : std::enable_shared_from_this<SubPulls> {
  struct Pull {
    std::string fingerprint;  // sub URI, user, sealed password, basic
    std::shared_ptr<media::Recorder> recorder;
    std::uint64_t serial = 0;  // tells a lease or timer of this pull from a predecessor's
    int holds = 0;
    std::uint64_t epoch = 0;  // bumped by each hold: an older linger timer does nothing
    bool started = false;
    std::shared_ptr<asio::steady_timer> linger;
  };

  SubPulls(asio::io_context& io, milliseconds l) : ioc(io), linger(l) {}

  // A pull whose predecessor still closes its RTSP session starts after it:
  // never two sessions for one stream.
  void start_locked(const std::string& id) {
    auto it = pulls.find(id);
    if (closed || it == pulls.end() || it->second.started || stopping.count(id)) return;
    it->second.started = true;
    it->second.recorder->start();
  }

  void stop_locked(const std::string& id, Pull& p) {
    if (p.linger) p.linger->cancel();
    if (!p.started) return;
    ++stopping[id];
    p.recorder->stop([weak = weak_from_this(), id] {
      auto self = weak.lock();
      if (!self) return;
      std::lock_guard lock(self->mu);
      if (--self->stopping[id] > 0) return;
      self->stopping.erase(id);
      self->start_locked(id);
    });
  }

  void release(const std::string& id, std::uint64_t serial) {
    std::lock_guard lock(mu);
    auto it = pulls.find(id);
    if (closed || it == pulls.end() || it->second.serial != serial || --it->second.holds > 0)
      return;
    Pull& p = it->second;
    p.linger = std::make_shared<asio::steady_timer>(ioc, linger);
    p.linger->async_wait(
        [weak = weak_from_this(), id, serial, epoch = p.epoch](boost::system::error_code ec) {
          auto self = weak.lock();
          if (ec || !self) return;
          Pull gone;  // released after the lock (its feed's viewers hold leases)
          std::lock_guard lock(self->mu);
          auto it = self->pulls.find(id);
          if (it == self->pulls.end() || it->second.serial != serial || it->second.holds > 0 ||
              it->second.epoch != epoch)
            return;
          spdlog::info("live {}: sub stream unwatched for {} ms; its pull stops", id,
                       self->linger.count());
          self->stop_locked(id, it->second);
          gone = std::move(it->second);
          self->pulls.erase(it);
        });
  }

  asio::io_context& ioc;
  const milliseconds linger;
  std::mutex mu;
  bool closed = false;  // the service stops: no new pulls
  std::map<std::string, Pull> pulls;
  std::map<std::string, int> stopping;  // camera -> old pulls still stopping
  std::uint64_t serials = 0;
  std::atomic<std::uint64_t> started_total{0};
};

// RTP packets lost per camera and stream, for /metrics. Recorders' callbacks
// add on their strands; metrics_text reads.
struct RecordingService::Losses {
  std::mutex mu;
  std::map<std::pair<std::string, std::string>, std::uint64_t> packets;  // (camera, stream)

  static media::CameraConfig::LossCallback counter(std::shared_ptr<Losses> self, std::string id,
                                                   std::string stream) {
    return [self = std::move(self),
            key = std::pair(std::move(id), std::move(stream))](std::uint64_t n) {
      std::lock_guard lock(self->mu);
      self->packets[key] += n;
    };
  }
};

RecordingOptions recording_options(const config::Config& config) {
  RecordingOptions o;
  o.root = config.storage.path;
  o.segment_duration = std::chrono::duration_cast<milliseconds>(config.recording.segment_duration);
  o.pre_event = std::chrono::duration_cast<milliseconds>(config.recording.pre_event);
  o.post_event = std::chrono::duration_cast<milliseconds>(config.recording.post_event);
  o.max_age_days = config.retention.max_age_days;
  o.min_free_percent = config.retention.min_free_percent;
  o.catalog_reserve_bytes = static_cast<std::uint64_t>(config.storage.catalog_reserve_mb) << 20;
  o.ingest =
      config.recording.ingest == "gstreamer" ? media::Ingest::gstreamer : media::Ingest::native;
  o.sub_linger = std::chrono::duration_cast<milliseconds>(config.recording.sub_linger);
  return o;
}

bool is_storage_fault(const std::string& state, const std::string& detail) {
  return state == "backoff" &&
         (detail.rfind("write: ", 0) == 0 || detail.rfind("segment: ", 0) == 0);
}

RecordingService::RecordingService(storage::Catalog& catalog, SecretBox box, Clock& clock,
                                   RecordingOptions options)
    : catalog_(catalog),
      box_(std::move(box)),
      clock_(clock),
      options_(std::move(options)),
      reserve_(options_.root / ".catalog-reserve", options_.catalog_reserve_bytes),
      ioc_(std::max(1, options_.threads)),
      strand_(ioc_.get_executor()),
      resync_timer_(strand_),
      subs_(std::make_shared<SubPulls>(ioc_, options_.sub_linger)),
      losses_(std::make_shared<Losses>()) {}

RecordingService::~RecordingService() {
  stop();
}

void RecordingService::start() {
  if (started_.exchange(true)) return;
  // GStreamer is initialized by the first recorder (media::make_recorder).
  work_.emplace(ioc_.get_executor());
  for (int i = 0; i < std::max(1, options_.threads); ++i)
    threads_.emplace_back([this] { run_contained(ioc_, "recording"); });
  maintenance_ = std::thread([this] { maintenance(); });
}

void RecordingService::stop() {
  if (!started_ || stopped_.exchange(true)) return;
  {
    std::lock_guard lock(stop_mu_);
    stop_requested_ = true;
  }
  stop_cv_.notify_all();
  // Reconciliation or a retention pass in progress finishes its step first.
  if (maintenance_.joinable()) maintenance_.join();
  auto all_done = std::make_shared<std::promise<void>>();
  auto future = all_done->get_future();
  asio::post(strand_, [this, all_done] {
    stopping_ = true;
    resync_timer_.cancel();
    for (auto& [id, e] : recorders_)
      if (e.started) stop_recorder(id, e.recorder);
    recorders_.clear();
    standing_subs_.clear();  // their leases find the pulls closed
    n_standing_subs_ = 0;
    std::map<std::string, SubPulls::Pull> subs;
    {
      std::lock_guard lock(subs_->mu);
      subs_->closed = true;
      subs.swap(subs_->pulls);
    }
    for (auto& [id, p] : subs) {
      if (p.linger) p.linger->cancel();
      if (p.started) stop_recorder(id + "/sub", p.recorder);  // no camera id holds a '/'
    }
    if (in_flight_stops_ == 0)
      all_done->set_value();
    else
      stop_done_ = all_done;
  });
  if (future.wait_for(kStopBound) != std::future_status::ready)
    spdlog::warn(
        "recording: recorders did not stop within {} s; open segments are left for "
        "reconciliation",
        kStopBound.count());
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  spdlog::info("recording: stopped");
}

// ------------------------------------------------------------ maintenance

void RecordingService::maintenance() {
  reconcile();
  {
    std::lock_guard lock(stop_mu_);
    if (stop_requested_) return;
  }
  ensure_reserve();
  ready_ = true;
  asio::post(strand_, [this] {
    if (!stopping_) sync();
  });
  for (;;) {
    retention_pass();
    ensure_reserve();
    std::unique_lock lock(stop_mu_);
    if (stop_cv_.wait_for(lock, options_.retention_interval,
                          [this] { return stop_requested_ || retake_reserve_; }) &&
        stop_requested_)
      return;
    retake_reserve_ = false;
  }
}

void RecordingService::reconcile() {
  const auto& root = options_.root;
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec || ::access(root.c_str(), W_OK | X_OK) != 0) {
    spdlog::error("recording: storage directory {} is not writable ({}); cameras cannot record",
                  root.string(), ec ? ec.message() : std::strerror(errno));
  }
  const auto t0 = clock_.monotonic();
  // 1. Unfinished segments (*.ts.part) in every camera directory, also those
  // of cameras deleted since: trimmed, finished and indexed.
  std::set<std::string> dirs;
  for (std::filesystem::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (it->is_directory(e2) && valid_camera_id(it->path().filename().string()))
      dirs.insert(it->path().filename().string());
  }
  std::int64_t recovered = 0;
  for (const std::string& id : dirs) {
    auto found = media::reconcile_camera_dir(root / id, id);
    if (!found) {
      spdlog::error("recording: camera {}: cannot reconcile {}: {}", id, (root / id).string(),
                    found.error().message);
      ++reconcile_findings_;
      continue;
    }
    std::vector<storage::Segment> rows;
    for (const auto& s : *found) rows.push_back(to_row(s, root));
    for (std::size_t i = 0; i < rows.size(); i += storage::Catalog::kMaxBatch) {
      std::vector<storage::Segment> batch(
          rows.begin() + static_cast<std::ptrdiff_t>(i),
          rows.begin() +
              static_cast<std::ptrdiff_t>(std::min(rows.size(), i + storage::Catalog::kMaxBatch)));
      if (auto ids = catalog_.add_segments(batch); !ids) {
        spdlog::error("recording: camera {}: cannot index {} recovered segments: {}", id,
                      batch.size(), ids.error().message);
        index_failures_ += batch.size();
      } else {
        recovered += static_cast<std::int64_t>(batch.size());
      }
    }
  }
  recovered_ += static_cast<std::uint64_t>(recovered);
  // 2. Rows against files: deletions finished, missing files dropped, files
  // without a row indexed from the file itself.
  storage::FileProbe probe = [](const std::filesystem::path& file,
                                const std::string& camera_id) -> Result<storage::Segment> {
    auto info = media::probe_segment(file, camera_id);
    if (!info) return info.error();
    storage::Segment s;
    s.camera_id = camera_id;
    s.start_ns = to_unix_ns(info->start);
    s.end_ns = std::max(to_unix_ns(info->end), s.start_ns);
    s.bytes = static_cast<std::int64_t>(info->bytes);
    s.codec = std::string(media::to_string(info->codec));
    s.keyframes = info->keyframes;
    s.state = storage::SegmentState::closed;
    return s;
  };
  auto report = storage::reconcile(catalog_, root, true, probe);
  const double secs = std::chrono::duration<double>(clock_.monotonic() - t0).count();
  if (!report) {
    spdlog::error("recording: reconciliation failed: {}", report.error().message);
    ++reconcile_findings_;
    return;
  }
  reconcile_findings_ += report->findings.size();
  spdlog::info(
      "recording: reconciliation done in {:.3f} s: {} camera directories, {} unfinished segments "
      "recovered, {} deletions finished, {} rows without a file dropped, {} open rows closed, {} "
      "files indexed, {} size mismatches{}",
      secs, dirs.size(), recovered, report->deletions_finished, report->rows_dropped,
      report->open_closed, report->files_indexed, report->size_mismatches,
      report->clean() && recovered == 0 ? " (clean)" : "");
}

void RecordingService::retention_pass() {
  storage::RetentionPolicy policy;
  policy.max_age_days = options_.max_age_days;
  policy.min_free_percent = options_.min_free_percent;
  const auto root = options_.root;
  const auto t0 = clock_.monotonic();
  auto r = storage::enforce_retention(catalog_, root, policy,
                                      [&root] { return storage::free_percent(root); });
  ++retention_passes_;
  if (!r) {
    ++retention_failures_;
    spdlog::error("retention: pass failed: {}", r.error().message);
    return;
  }
  // The events and bookmarks of expired footage go with it (at most 500,000
  // rows of each per pass, so that one pass after a long stop stays short).
  storage::Catalog::ExpiredMetadata metadata;
  for (int i = 0; i < 50; ++i) {
    auto m = catalog_.delete_expired_metadata(options_.max_age_days, 10'000);
    if (!m) {
      ++retention_failures_;
      spdlog::error("retention: events and bookmarks: {}", m.error().message);
      break;
    }
    metadata.events += m->events;
    metadata.bookmarks += m->bookmarks;
    if (m->events < 10'000 && m->bookmarks < 10'000) break;
  }
  if (metadata.events || metadata.bookmarks)
    spdlog::info("retention: {} events and {} bookmarks past their camera's retention deleted",
                 metadata.events, metadata.bookmarks);
  const double secs = std::chrono::duration<double>(clock_.monotonic() - t0).count();
  retention_deleted_ += static_cast<std::uint64_t>(r->expired_deleted + r->pressure_deleted);
  retention_bytes_ += static_cast<std::uint64_t>(r->bytes_freed);
  retention_failures_ += static_cast<std::uint64_t>(r->failed);
  below_min_free_ = r->below_min_free;
  const bool did = r->expired_deleted || r->pressure_deleted || r->failed || r->below_min_free;
  spdlog::log(did ? spdlog::level::info : spdlog::level::debug,
              "retention: pass in {:.3f} s: {} expired and {} for free space deleted, {} bytes "
              "freed, {} failed{}",
              secs, r->expired_deleted, r->pressure_deleted, r->bytes_freed, r->failed,
              r->below_min_free ? "; still under retention.min_free_percent (the rest is held "
                                  "or being written)"
                                : "");
}

void RecordingService::ensure_reserve() {
  if (reserve_.bytes() == 0) return;
  auto held = reserve_.ensure();
  segment_min_free_ = (held && *held ? 1 : 2) * reserve_.bytes();
  if (!held)
    spdlog::warn("recording: {}", held.error().message);
  else if (!*held)
    spdlog::debug("recording: no room yet for the catalogue reserve {} ({} MiB)",
                  reserve_.file().string(), reserve_.bytes() >> 20);
}

// ------------------------------------------------------------- recorders

void RecordingService::camera_changed(const std::string& camera_id) {
  if (stopped_) return;
  asio::post(strand_, [this, camera_id] {
    // Before the first full sync (reconciliation still running) nothing
    // runs yet, and that sync reads this camera's row anyway.
    if (stopping_ || !synced_) return;
    sync_camera(camera_id);
  });
}

void RecordingService::sync() {
  synced_ = true;
  auto rows = catalog_.list_cameras();
  if (!rows) {
    spdlog::warn("recording: cannot list cameras: {}", rows.error().message);
    return resync_later();
  }
  std::set<std::string> listed;
  for (const auto& c : *rows) listed.insert(c.id);
  std::vector<std::string> gone;
  for (const auto& [id, e] : recorders_)
    if (!listed.count(id)) gone.push_back(id);
  for (const auto& [id, s] : standing_subs_)
    if (!listed.count(id) && !recorders_.count(id)) gone.push_back(id);
  bool all_read = true;
  for (const auto& id : gone) apply(id, nullptr);
  for (const auto& c : *rows) all_read = apply(c.id, &c) && all_read;
  count_states();
  if (!all_read) resync_later();
}

void RecordingService::sync_camera(const std::string& id) {
  auto row = catalog_.find_camera(id);
  if (!row && row.error().kind != ErrorKind::not_found) {
    spdlog::warn("recording {}: cannot read the camera: {}", id, row.error().message);
    return resync_later();
  }
  const bool read = apply(id, row ? &*row : nullptr);
  count_states();
  if (!read) resync_later();
}

// No notification comes again for a change whose read failed (database
// busy, I/O error): every camera is read again after resync_retry, until a
// read succeeds. While reads succeed, nothing re-reads the catalogue.
void RecordingService::resync_later() {
  if (stopping_ || resync_armed_) return;
  resync_armed_ = true;
  resync_timer_.expires_after(options_.resync_retry);
  resync_timer_.async_wait([this](boost::system::error_code ec) {
    resync_armed_ = false;
    if (!ec && !stopping_) sync();
  });
}

void RecordingService::cannot(const std::string& id, const std::string& why) {
  auto& last = warned_[id];
  if (last != why) spdlog::warn("recording {}: cannot record: {}", id, why);
  last = why;
}

namespace {

std::string pull_fingerprint(const storage::Camera& c, const std::string& uri) {
  return uri + '\n' + c.username + '\n' +
         std::string(c.password_enc.begin(), c.password_enc.end()) + '\n' +
         (c.allow_basic_auth ? "basic" : "") + '\n' +
         std::string(storage::to_string(c.rtsp_transport));
}

media::Transport media_transport(storage::RtspTransport t) {
  return t == storage::RtspTransport::udp ? media::Transport::udp : media::Transport::tcp;
}

std::string stream_uri(const std::vector<storage::Stream>& streams, storage::StreamKind kind) {
  for (const auto& s : streams)
    if (s.kind == kind) return s.rtsp_uri;
  return {};
}

}  // namespace

// A camera's sub pull stops (its viewers are closed and reconnect) when the
// camera is gone or its sub stream or credentials changed (fingerprint "":
// gone).
void RecordingService::drop_sub(const std::string& id, const std::string& fingerprint) {
  SubPulls::Pull gone;  // released after the lock (its feed's viewers hold leases)
  std::lock_guard lock(subs_->mu);
  auto it = subs_->pulls.find(id);
  if (it == subs_->pulls.end() || (!fingerprint.empty() && it->second.fingerprint == fingerprint))
    return;
  spdlog::info("live {}: camera removed or its sub stream changed; its pull stops", id);
  subs_->stop_locked(id, it->second);
  gone = std::move(it->second);
  subs_->pulls.erase(it);
}

void RecordingService::check_sub(const std::string& id, const storage::Camera* camera) {
  {
    std::lock_guard lock(subs_->mu);
    if (!subs_->pulls.count(id)) return;
  }
  std::string fingerprint;  // "": gone, or no sub stream any more
  if (camera) {
    auto streams = catalog_.list_streams(id);
    if (!streams) return;  // kept on a read error
    const std::string uri = stream_uri(*streams, storage::StreamKind::sub);
    if (!uri.empty()) fingerprint = pull_fingerprint(*camera, uri);
  }
  drop_sub(id, fingerprint);
}

RecordingService::LiveHold RecordingService::live(const std::string& id, storage::StreamKind kind) {
  LiveHold main{live_feed(id), "main", nullptr};
  if (kind == storage::StreamKind::main || !started_ || stopped_) return main;
  auto camera = catalog_.find_camera(id);
  if (!camera) return main;
  auto streams = catalog_.list_streams(id);
  if (!streams) return main;
  return hold_sub(id, *camera, *streams);
}

// A hold on camera `id`'s sub pull, started for it when none runs (main's
// feed when the camera has no sub stream or its credentials cannot be
// opened).
RecordingService::LiveHold RecordingService::hold_sub(const std::string& id,
                                                      const storage::Camera& camera,
                                                      const std::vector<storage::Stream>& streams) {
  LiveHold main{live_feed(id), "main", nullptr};
  const std::string uri = stream_uri(streams, storage::StreamKind::sub);
  if (uri.empty()) return main;  // no sub profile: main stands in (if pulled)
  media::CameraConfig cfg;
  cfg.id = id + "/sub";  // logs only: nothing is written
  cfg.url = uri;
  cfg.username = camera.username;
  cfg.allow_basic_auth = camera.allow_basic_auth;
  cfg.transport = media_transport(camera.rtsp_transport);
  cfg.on_packets_lost = Losses::counter(losses_, id, "sub");
  if (!camera.password_enc.empty()) {
    auto password = box_.open(camera.password_enc);
    if (!password) {
      spdlog::warn("live {}: the stored credentials cannot be opened: {}", id,
                   password.error().message);
      return main;
    }
    cfg.password = std::move(*password);
  }
  cfg.dir = options_.root / id;
  cfg.mode = storage::RecordingMode::off;  // the gate drops every frame: no segment opens
  cfg.ingest = options_.ingest;
  const std::string fingerprint = pull_fingerprint(camera, uri);

  SubPulls::Pull gone;  // released after the lock (its feed's viewers hold leases)
  std::lock_guard lock(subs_->mu);
  if (subs_->closed) return {};
  auto it = subs_->pulls.find(id);
  if (it != subs_->pulls.end() && it->second.fingerprint != fingerprint) {
    subs_->stop_locked(id, it->second);
    gone = std::move(it->second);
    subs_->pulls.erase(it);
    it = subs_->pulls.end();
  }
  if (it == subs_->pulls.end()) {
    SubPulls::Pull p;
    p.fingerprint = fingerprint;
    p.serial = ++subs_->serials;
    p.recorder = media::make_recorder(ioc_, clock_, std::move(cfg), {}, {});
    it = subs_->pulls.emplace(id, std::move(p)).first;
    ++subs_->started_total;
    spdlog::info("live {}: pulling the sub stream for live view", id);
    subs_->start_locked(id);
  }
  SubPulls::Pull& p = it->second;
  ++p.holds;
  ++p.epoch;
  if (p.linger) {
    p.linger->cancel();
    p.linger.reset();
  }
  LiveHold hold;
  hold.feed = p.recorder->live_feed();
  hold.stream = "sub";
  hold.lease = std::shared_ptr<void>(
      nullptr, [weak = std::weak_ptr<SubPulls>(subs_), id, serial = p.serial](void*) {
        if (auto s = weak.lock()) s->release(id, serial);
      });
  return hold;
}

// A camera with sub_pull = always has its sub stream pulled with no viewer:
// the service holds the pull as a viewer would, and lets go (the linger
// follows) when the setting goes back to watched, the camera goes, or its
// sub stream or credentials change (a new hold for the new pull).
void RecordingService::keep_sub(const std::string& id, const storage::Camera* camera) {
  std::string fingerprint;  // "": no standing pull wanted
  std::vector<storage::Stream> streams;
  if (camera && camera->sub_pull == storage::SubPull::always) {
    auto listed = catalog_.list_streams(id);
    if (!listed) return;  // kept on a read error
    streams = std::move(*listed);
    const std::string uri = stream_uri(streams, storage::StreamKind::sub);
    if (uri.empty())
      spdlog::warn("live {}: sub_pull is always but the camera has no sub stream", id);
    else
      fingerprint = pull_fingerprint(*camera, uri);
  }
  auto it = standing_subs_.find(id);
  if (it != standing_subs_.end() && it->second.fingerprint == fingerprint) return;
  if (it != standing_subs_.end()) {
    spdlog::info("live {}: the sub stream is no longer pulled always", id);
    standing_subs_.erase(it);  // the lease goes: the linger, then the pull stops
  }
  if (!fingerprint.empty()) {
    LiveHold hold = hold_sub(id, *camera, streams);
    if (hold.stream == "sub") {  // (a lease holds no pointer: test what is served)
      spdlog::info("live {}: the sub stream is pulled always (sub_pull)", id);
      standing_subs_[id] = StandingSub{fingerprint, std::move(hold.lease)};
    }
  }
  n_standing_subs_ = static_cast<int>(standing_subs_.size());
}

// Camera `id`'s recorder made to match its row (`camera`; nullptr: the
// camera is gone). False when its streams could not be read: what runs is
// kept rather than stopped on a read error.
bool RecordingService::apply(const std::string& id, const storage::Camera* camera) {
  std::string uri, fingerprint;  // fingerprint "": no recorder wanted
  if (!camera || camera->recording_mode == storage::RecordingMode::off) {
    warned_.erase(id);
  } else {
    auto streams = catalog_.list_streams(id);
    if (!streams) {
      spdlog::warn("recording {}: cannot read its streams: {}", id, streams.error().message);
      return false;
    }
    uri = stream_uri(*streams, storage::StreamKind::main);
    if (uri.empty())
      cannot(id, "the camera has no main stream");
    else
      fingerprint = pull_fingerprint(*camera, uri) + '\n' +
                    std::string(storage::to_string(camera->recording_mode));
  }
  check_sub(id, camera);
  keep_sub(id, camera);
  if (auto it = recorders_.find(id); it != recorders_.end()) {
    if (!fingerprint.empty() && it->second.fingerprint == fingerprint) return true;
    spdlog::info("recording {}: {}; stopping its recorder", id,
                 fingerprint.empty() ? "camera removed or recording off" : "camera changed");
    if (it->second.started) stop_recorder(id, it->second.recorder);
    states_.erase(id);
    recorders_.erase(it);
  }
  if (fingerprint.empty()) return true;
  const storage::Camera& c = *camera;
  media::CameraConfig cfg;
  cfg.id = id;
  cfg.url = uri;
  cfg.username = c.username;
  cfg.allow_basic_auth = c.allow_basic_auth;
  if (!c.password_enc.empty()) {
    auto password = box_.open(c.password_enc);
    if (!password) {
      cannot(id, "the stored credentials cannot be opened: " + password.error().message);
      return true;
    }
    cfg.password = std::move(*password);
  }
  warned_.erase(id);
  cfg.dir = options_.root / id;
  cfg.segment_duration = options_.segment_duration;
  cfg.pre_event = options_.pre_event;
  cfg.post_event = options_.post_event;
  cfg.mode = c.recording_mode;
  cfg.min_free_bytes = [this] { return segment_min_free_.load(); };
  cfg.ingest = options_.ingest;
  cfg.transport = media_transport(c.rtsp_transport);
  cfg.on_packets_lost = Losses::counter(losses_, id, "main");
  auto recorder = media::make_recorder(
      ioc_, clock_, std::move(cfg), [this](const media::SegmentInfo& s) { on_segment(s); },
      [this, serial = ++next_serial_](const std::string& cam, const std::string& state,
                                      const std::string& detail) {
        on_state(cam, serial, state, detail);
      });
  spdlog::info("recording {}: starting ({} mode, {} s segments)", id,
               storage::to_string(c.recording_mode),
               std::chrono::duration_cast<std::chrono::seconds>(options_.segment_duration).count());
  recorders_[id] = Entry{fingerprint, recorder, next_serial_, false};
  states_[id] = State{"connecting", "", clock_.realtime()};
  start_entry(id, recorder);
  return true;
}

// A recorder of a camera whose previous recorder is still stopping starts
// once that one has closed its segment (so that the two never interleave).
void RecordingService::start_entry(const std::string& id,
                                   const std::shared_ptr<media::Recorder>& recorder) {
  auto it = recorders_.find(id);
  if (it == recorders_.end() || it->second.recorder != recorder || it->second.started ||
      stopping_ || stopping_ids_.count(id))
    return;
  it->second.started = true;
  recorder->start();
}

void RecordingService::stop_recorder(const std::string& id,
                                     std::shared_ptr<media::Recorder> recorder) {
  ++stopping_ids_[id];
  ++in_flight_stops_;
  recorder->stop([this, id, recorder] {
    asio::post(strand_, [this, id] {
      if (--stopping_ids_[id] == 0) {
        stopping_ids_.erase(id);
        auto it = recorders_.find(id);
        if (it != recorders_.end()) start_entry(id, it->second.recorder);
      }
      if (--in_flight_stops_ == 0 && stop_done_) {
        stop_done_->set_value();
        stop_done_.reset();
      }
    });
  });
}

void RecordingService::on_segment(const media::SegmentInfo& s) {
  // On the recorder's strand: the file is complete and durable (step 3 of
  // the crash invariants); the row follows (step 4).
  storage::Segment row = to_row(s, options_.root);
  auto id = catalog_.add_segment(row);
  if (!id) {
    ++index_failures_;
    spdlog::error(
        "recording {}: cannot index segment {}: {}; reconciliation at the next start "
        "indexes it",
        s.camera_id, row.path, id.error().message);
    return;
  }
  ++segments_indexed_;
  spdlog::debug("recording {}: segment {} indexed ({:.3f} s, {} bytes, {} frames)", s.camera_id,
                row.path, static_cast<double>(row.end_ns - row.start_ns) / 1e9, row.bytes,
                s.frames);
}

void RecordingService::on_state(const std::string& id, std::uint64_t serial,
                                const std::string& state, const std::string& detail) {
  WallTime now = clock_.realtime();
  asio::post(strand_, [this, id, serial, state, detail, now] {
    if (detail.empty())
      spdlog::info("recording {}: {}", id, state);
    else
      spdlog::warn("recording {}: {}: {}", id, state, detail);
    auto it = recorders_.find(id);
    if (it == recorders_.end() || it->second.serial != serial) return;  // one being replaced
    auto& st = states_[id];
    if (st.state != state) st.since = now;
    st.state = state;
    st.detail = detail;
    count_states();
    // Before anyone tries to write down that the disk is full.
    if (is_storage_fault(state, detail) && reserve_.bytes() > 0 && reserve_.release()) {
      spdlog::warn("recording: storage full or failing; catalogue reserve of {} MiB released",
                   reserve_.bytes() >> 20);
      segment_min_free_ = 2 * reserve_.bytes();
    } else if (state == "recording" && reserve_.bytes() > 0 &&
               segment_min_free_.load() != reserve_.bytes()) {
      // Writing again while the reserve is not held: the maintenance thread
      // takes it back as soon as there is room.
      std::lock_guard lock(stop_mu_);
      retake_reserve_ = true;
      stop_cv_.notify_all();
    }
    if (state_listener_) state_listener_(id, state, detail);
  });
}

std::shared_ptr<media::live::Feed> RecordingService::live_feed(const std::string& camera_id) const {
  std::lock_guard lock(recorder_ids_mu_);
  auto it = live_feeds_.find(camera_id);
  return it == live_feeds_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<media::live::Feed>> RecordingService::live_feeds() const {
  std::lock_guard lock(recorder_ids_mu_);
  std::vector<std::shared_ptr<media::live::Feed>> out;
  for (const auto& [id, f] : live_feeds_) out.push_back(f);
  std::lock_guard sub_lock(subs_->mu);
  for (const auto& [id, p] : subs_->pulls) out.push_back(p.recorder->live_feed());
  return out;
}

void RecordingService::count_states() {
  int recording = 0, backoff = 0;
  for (const auto& [id, st] : states_) {
    if (st.state == "recording") ++recording;
    if (st.state == "backoff") ++backoff;
  }
  n_recorders_ = static_cast<int>(recorders_.size());
  {
    std::lock_guard lock(recorder_ids_mu_);
    recorder_ids_.clear();
    live_feeds_.clear();
    for (const auto& [id, e] : recorders_) {
      recorder_ids_.insert(id);
      if (e.recorder) live_feeds_[id] = e.recorder->live_feed();
    }
  }
  n_recording_ = recording;
  n_backoff_ = backoff;
}

std::optional<RecorderStatus> RecordingService::status(const std::string& camera_id) {
  if (!started_ || stopped_) return std::nullopt;
  auto promise = std::make_shared<std::promise<std::optional<RecorderStatus>>>();
  auto future = promise->get_future();
  asio::post(strand_, [this, camera_id, promise] {
    auto it = recorders_.find(camera_id);
    if (it == recorders_.end() || !it->second.started) {
      promise->set_value(std::nullopt);
      return;
    }
    RecorderStatus base;
    if (auto st = states_.find(camera_id); st != states_.end()) {
      base.state = st->second.state;
      base.detail = st->second.detail;
      base.since = st->second.since;
    }
    it->second.recorder->stats([promise, base](const media::CameraStats& s) {
      RecorderStatus out = base;
      if (out.state.empty()) out.state = s.state;
      out.segments = s.segments;
      out.restarts = s.restarts;
      out.frames = s.frames;
      out.packets_lost = s.packets_lost;
      out.open_start_ns = s.open_start_ns;
      out.open_end_ns = s.open_end_ns;
      promise->set_value(out);
    });
  });
  if (future.wait_for(kStatusBound) != std::future_status::ready) return std::nullopt;
  return future.get();
}

void RecordingService::event(const std::string& camera_id, bool active) {
  if (!started_ || stopped_) return;
  {
    std::lock_guard lock(recorder_ids_mu_);
    if (!recorder_ids_.count(camera_id)) return;
  }
  asio::post(strand_, [this, camera_id, active] {
    auto it = recorders_.find(camera_id);
    if (it != recorders_.end() && it->second.started) it->second.recorder->event(active);
  });
}

void RecordingService::on_events(const std::vector<storage::Event>& events) {
  for (const auto& e : events) {
    if (e.kind != "motion" && e.kind != "line_crossing" && e.kind != "intrusion" &&
        e.kind != "tamper" && e.kind != "io_input")
      continue;
    if (e.state == "start") {
      event(e.camera_id, true);
    } else if (e.state == "stop") {
      event(e.camera_id, false);
    } else if (e.state == "pulse") {
      event(e.camera_id, true);
      event(e.camera_id, false);
    }
  }
}

std::string RecordingService::metrics_text() const {
  std::string out;
  auto line = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    append_metric(out, name, type, help, value);
  };
  line("zaulek_recording_cameras", "gauge", "Cameras with a recorder.", n_recorders_.load());
  line("zaulek_recording_cameras_recording", "gauge", "Recorders receiving and writing.",
       n_recording_.load());
  line("zaulek_recording_cameras_backoff", "gauge",
       "Recorders waiting to reconnect after a failure (camera away, disk full, ...).",
       n_backoff_.load());
  {
    std::lock_guard lock(subs_->mu);
    line("zaulek_live_sub_pulls", "gauge",
         "Sub streams pulled for live view (while watched, and a linger after).",
         subs_->pulls.size());
  }
  line("zaulek_live_sub_pulls_always", "gauge",
       "Sub streams pulled with no viewer (cameras with sub_pull = always).",
       static_cast<std::uint64_t>(n_standing_subs_.load()));
  line("zaulek_live_sub_pulls_started_total", "counter",
       "Sub stream pulls started for live view (each one RTSP session).",
       subs_->started_total.load());
  line("zaulek_recording_segments_total", "counter", "Closed segments indexed in the catalogue.",
       segments_indexed_.load());
  line("zaulek_recording_index_failures_total", "counter",
       "Closed segments whose catalogue row could not be written.", index_failures_.load());
  line("zaulek_recording_recovered_total", "counter",
       "Unfinished segments recovered by start-up reconciliation.", recovered_.load());
  line("zaulek_recording_reconcile_findings_total", "counter",
       "Findings of start-up reconciliation (each logged).", reconcile_findings_.load());
  {
    std::lock_guard lock(losses_->mu);
    if (!losses_->packets.empty()) {
      out +=
          "# HELP zaulek_recording_rtp_packets_lost_total RTP packets a camera sent that never "
          "arrived (sequence gaps: UDP loss, late packets), per camera and stream pulled.\n"
          "# TYPE zaulek_recording_rtp_packets_lost_total counter\n";
      for (const auto& [key, n] : losses_->packets)
        out += "zaulek_recording_rtp_packets_lost_total{camera=\"" + key.first + "\",stream=\"" +
               key.second + "\"} " + std::to_string(n) + "\n";
    }
  }
  line("zaulek_retention_passes_total", "counter", "Retention passes run.",
       retention_passes_.load());
  line("zaulek_retention_deleted_total", "counter", "Segments deleted by retention.",
       retention_deleted_.load());
  line("zaulek_retention_freed_bytes_total", "counter", "Bytes freed by retention.",
       retention_bytes_.load());
  line("zaulek_retention_failures_total", "counter", "Retention deletions or passes that failed.",
       retention_failures_.load());
  line("zaulek_retention_below_min_free", "gauge",
       "1 when the last pass left free space under retention.min_free_percent.",
       below_min_free_.load() ? 1 : 0);
  return out;
}

}  // namespace zaulek::server
