#include "server/live/snapshots.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <vector>

#include "onvif/client/client.h"
#include "server/http/metrics.h"

namespace zaulek::server {

namespace asio = boost::asio;

// One fetch in flight for a camera: the URI lookup (if needed) and the GET,
// under one deadline.
struct Snapshots::Flight {
  explicit Flight(const asio::any_io_executor& ex) : timer(ex) {}
  SnapshotCamera camera;
  onvif::Credentials credentials;
  std::shared_ptr<onvif::Client> client;  // the URI lookup
  std::shared_ptr<onvif::SnapshotFetch> fetch;
  asio::steady_timer timer;
  bool asking_uri = false;
  bool over = false;
};

struct Snapshots::Entry {
  // The row the learnt state below belongs to.
  std::string onvif_url, username;
  std::vector<std::uint8_t> password_enc;
  std::string uri;  // "" until known
  std::shared_ptr<onvif::DigestState> digest = std::make_shared<onvif::DigestState>();
  // The last result, served again for options_.keep.
  bool have = false;
  MonoTime at;
  std::shared_ptr<const std::string> jpeg;
  std::string error;
  ErrorKind error_kind = ErrorKind::unavailable;
  std::shared_ptr<Flight> flight;
  std::vector<Done> waiters;
  std::string logged;  // the failure last logged ("" while snapshots work)
};

namespace {

void tell(const Snapshots::Done& done, SnapshotResult r) {
  try {
    done(std::move(r));
  } catch (const std::exception& e) {
    spdlog::error("snapshot: a waiter failed: {}", e.what());
  } catch (...) {
    spdlog::error("snapshot: a waiter failed");
  }
}

}  // namespace

SnapshotResult Snapshots::result_of(const Entry& e) {
  SnapshotResult r;
  r.kind = e.jpeg ? SnapshotResult::Kind::ok : SnapshotResult::Kind::failed;
  r.jpeg = e.jpeg;
  r.error = e.error;
  r.error_kind = e.error_kind;
  return r;
}

Snapshots::Snapshots(asio::any_io_executor executor, SecretBox box, Clock& clock,
                     SnapshotsOptions options)
    : strand_(asio::make_strand(executor)),
      box_(std::move(box)),
      clock_(clock),
      options_(options),
      sweep_(strand_) {}

Snapshots::~Snapshots() = default;

void Snapshots::get(SnapshotCamera camera, Done done) {
  // Once stopping, the executor may no longer run what is posted to it.
  if (stopping_) return tell(done, {SnapshotResult::Kind::stopped, nullptr, "shutting down"});
  asio::post(strand_, [this, camera = std::move(camera), done = std::move(done)]() mutable {
    if (stopped_) return tell(done, {SnapshotResult::Kind::stopped, nullptr, "shutting down"});
    const std::string id = camera.row.id;
    auto& slot = entries_[id];
    if (!slot) slot = std::make_unique<Entry>();
    Entry& e = *slot;
    if (e.onvif_url != camera.row.onvif_url || e.username != camera.row.username ||
        e.password_enc != camera.row.password_enc) {
      // Moved, or new credentials: nothing learnt before holds.
      e.onvif_url = camera.row.onvif_url;
      e.username = camera.row.username;
      e.password_enc = camera.row.password_enc;
      e.uri.clear();
      e.digest = std::make_shared<onvif::DigestState>();
      if (!e.flight) e.have = false;
    }
    if (e.have && clock_.monotonic() - e.at < options_.keep) {
      ++hits_;
      return tell(done, result_of(e));
    }
    if (e.flight) {
      ++hits_;
      e.waiters.push_back(std::move(done));
      return;
    }
    if (in_flight_ >= kMaxFetches) {
      ++busy_;
      return tell(done, {SnapshotResult::Kind::busy, nullptr,
                         std::to_string(kMaxFetches) + " cameras are being fetched already"});
    }
    e.waiters.push_back(std::move(done));
    start_fetch(id, e, camera);
  });
}

void Snapshots::start_fetch(const std::string& id, Entry& e, const SnapshotCamera& camera) {
  auto password = box_.open(camera.row.password_enc);
  auto flight = std::make_shared<Flight>(strand_);
  flight->camera = camera;
  e.flight = flight;
  ++in_flight_;
  if (!password)
    return finish(id, flight,
                  make_error(ErrorKind::failed_precondition,
                             "the camera's stored credentials cannot be opened (was "
                             "storage.key_file replaced?)"));
  flight->credentials = {camera.row.username, std::move(*password)};
  flight->timer.expires_after(options_.timeout);
  flight->timer.async_wait([this, id, flight](boost::system::error_code ec) {
    if (ec || flight->over) return;
    finish(id, flight,
           make_error(ErrorKind::deadline_exceeded,
                      "no snapshot from the camera within " +
                          std::to_string(options_.timeout.count()) + " ms" +
                          (flight->asking_uri ? " (asking it for its snapshot URI)" : "")));
  });
  if (e.uri.empty()) return fetch_uri(id, flight);
  fetch_jpeg(id, flight, e.uri);
}

void Snapshots::fetch_uri(const std::string& id, std::shared_ptr<Flight> flight) {
  flight->asking_uri = true;
  flight->client = onvif::Client::create(strand_, flight->camera.row.onvif_url, flight->credentials,
                                         onvif::ClientOptions{options_.timeout}, clock_);
  flight->client->snapshot_uri(
      flight->camera.profile_token, [this, id, flight](Result<std::string> uri) {
        if (flight->over) return;
        flight->asking_uri = false;
        if (!uri)
          return finish(id, flight,
                        make_error(uri.error().kind, "asking the camera for its snapshot URI: " +
                                                         uri.error().message));
        auto it = entries_.find(id);
        if (it != entries_.end()) it->second->uri = *uri;
        fetch_jpeg(id, flight, *uri);
      });
}

void Snapshots::fetch_jpeg(const std::string& id, const std::shared_ptr<Flight>& flight,
                           const std::string& uri) {
  auto target = onvif::snapshot_target(uri, flight->camera.row.onvif_url);
  if (!target) return finish(id, flight, target.error());
  onvif::SnapshotOptions o;
  // The flight's timer holds the whole deadline (a URI lookup included);
  // this one only ends the GET should it outlive the flight.
  o.timeout = options_.timeout;
  o.allow_basic = flight->camera.row.allow_basic_auth;
  auto it = entries_.find(id);
  auto digest = it != entries_.end() ? it->second->digest : nullptr;
  flight->fetch = onvif::SnapshotFetch::start(
      strand_, std::move(*target), flight->credentials, o, std::move(digest),
      [this, id, flight](Result<std::string> r) { finish(id, flight, std::move(r)); });
}

void Snapshots::finish(const std::string& id, const std::shared_ptr<Flight>& flight,
                       Result<std::string> r) {
  if (flight->over) return;
  flight->over = true;
  flight->timer.cancel();
  if (flight->client) flight->client->cancel();
  if (flight->fetch) flight->fetch->cancel();
  --in_flight_;
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->flight != flight) return;
  Entry& e = *it->second;
  e.flight.reset();
  e.have = true;
  e.at = clock_.monotonic();
  if (r) {
    ++fetched_ok_;
    e.jpeg = std::make_shared<const std::string>(std::move(*r));
    e.error.clear();
    if (!e.logged.empty()) {
      spdlog::info("snapshot: camera {}: snapshots work again", id);
      e.logged.clear();
    }
  } else {
    ++fetched_failed_;
    e.jpeg.reset();
    e.error = r.error().message;
    e.error_kind = r.error().kind;
    e.uri.clear();  // asked again next time: it may have changed (a reboot, a move)
    if (e.logged != e.error) {
      // Once per distinct failure, not once per console's request.
      spdlog::warn("snapshot: camera {}: {}", id, e.error);
      e.logged = e.error;
    }
  }
  auto waiters = std::move(e.waiters);
  e.waiters.clear();
  const SnapshotResult result = result_of(e);
  for (auto& w : waiters) tell(w, result);
  schedule_sweep();
}

void Snapshots::schedule_sweep() {
  if (sweep_armed_ || stopped_) return;
  sweep_armed_ = true;
  sweep_.expires_after(options_.keep);
  sweep_.async_wait([this](boost::system::error_code ec) {
    sweep_armed_ = false;
    if (ec || stopped_) return;
    sweep();
  });
}

// A JPEG nobody asked for again within its second is dropped: memory is
// bounded by what consoles look at now, not by every camera ever shown.
void Snapshots::sweep() {
  const MonoTime now = clock_.monotonic();
  bool left = false;
  for (auto& [id, e] : entries_) {
    if (!e->have) continue;
    if (now - e->at >= options_.keep) {
      e->have = false;
      e->jpeg.reset();
      e->error.clear();
    } else {
      left = true;
    }
  }
  if (left) schedule_sweep();
}

void Snapshots::stop() {
  stopping_ = true;
  asio::post(strand_, [this] {
    if (stopped_) return;
    stopped_ = true;
    sweep_.cancel();
    for (auto& [id, e] : entries_) {
      e->jpeg.reset();
      e->have = false;
      if (!e->flight) continue;
      auto flight = std::move(e->flight);
      flight->over = true;
      flight->timer.cancel();
      if (flight->client) flight->client->cancel();
      if (flight->fetch) flight->fetch->cancel();
      --in_flight_;
      auto waiters = std::move(e->waiters);
      e->waiters.clear();
      for (auto& w : waiters) tell(w, {SnapshotResult::Kind::stopped, nullptr, "shutting down"});
    }
  });
}

std::string Snapshots::metrics_text() const {
  std::string out =
      "# HELP zaulek_snapshot_fetches_total Camera snapshot fetches (GET "
      "/api/v1/cameras/{id}/snapshot.jpg), by outcome.\n"
      "# TYPE zaulek_snapshot_fetches_total counter\n";
  out +=
      "zaulek_snapshot_fetches_total{result=\"ok\"} " + std::to_string(fetched_ok_.load()) + "\n";
  out += "zaulek_snapshot_fetches_total{result=\"failed\"} " +
         std::to_string(fetched_failed_.load()) + "\n";
  append_metric(out, "zaulek_snapshot_cache_hits_total", "counter",
                "Snapshot requests answered by the last second's fetch or one in flight.",
                hits_.load());
  append_metric(out, "zaulek_snapshot_busy_total", "counter",
                "Snapshot requests refused because too many cameras were being fetched.",
                busy_.load());
  return out;
}

}  // namespace zaulek::server
