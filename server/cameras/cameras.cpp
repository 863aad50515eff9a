#include "server/cameras/cameras.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "core/network.h"
#include "onvif/client/client.h"
#include "server/hub/hub.h"
#include "server/run_contained.h"

namespace zaulek::server {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::string_view to_string(CameraStatus status) {
  switch (status) {
    case CameraStatus::connecting:
      return "connecting";
    case CameraStatus::online:
      return "online";
    case CameraStatus::unauthorized:
      return "unauthorized";
    case CameraStatus::offline:
      return "offline";
    case CameraStatus::degraded:
      return "degraded";
  }
  return "degraded";
}

std::string_view to_string(CameraChange::Kind kind) {
  switch (kind) {
    case CameraChange::Kind::added:
      return "added";
    case CameraChange::Kind::changed:
      return "changed";
    case CameraChange::Kind::removed:
      return "removed";
  }
  return "changed";
}

namespace {

CameraStatus status_of(const Error& e) {
  switch (e.kind) {
    case ErrorKind::unauthenticated:
      return CameraStatus::unauthorized;
    case ErrorKind::unavailable:
    case ErrorKind::deadline_exceeded:
      return CameraStatus::offline;
    default:
      return CameraStatus::degraded;
  }
}

// Waits for a future with a bound; nullopt when it did not come in time.
template <class T>
std::optional<T> wait_for(std::future<T>& f, std::chrono::milliseconds bound) {
  if (f.wait_for(bound) != std::future_status::ready) return std::nullopt;
  return f.get();
}

// The main and sub stream rows of an onboarded camera.
std::vector<storage::Stream> streams_of(const std::string& camera_id,
                                        const onvif::OnboardInfo& info) {
  std::vector<storage::Stream> streams;
  auto stream = [&](storage::StreamKind kind, const onvif::MediaProfile& p,
                    const std::string& uri) {
    storage::Stream s;
    s.camera_id = camera_id;
    s.kind = kind;
    s.profile_token = p.token;
    s.rtsp_uri = uri;
    s.codec = p.encoding;
    s.width = p.width;
    s.height = p.height;
    streams.push_back(std::move(s));
  };
  stream(storage::StreamKind::main, info.main, info.main_uri);
  stream(storage::StreamKind::sub, info.sub, info.sub_uri);
  return streams;
}

// Devices kept in the discovered list at most (a flood of forged Hellos
// must not grow memory without bound).
constexpr std::size_t kMaxDiscovered = 4096;

}  // namespace

// One camera's health loop, on its own strand. Its state (timer, client,
// failure count) is touched only there.
class Cameras::Supervisor : public std::enable_shared_from_this<Supervisor> {
 public:
  Supervisor(Cameras& owner, std::string id, const std::string& url, onvif::Credentials credentials)
      : owner_(owner),
        id_(std::move(id)),
        strand_(asio::make_strand(owner.ioc_)),
        timer_(strand_),
        client_(onvif::Client::create(strand_, url, std::move(credentials),
                                      onvif::ClientOptions{owner.options_.onvif_timeout},
                                      owner.clock_)),
        rng_(std::random_device{}()) {}

  void start(std::chrono::milliseconds first_delay) {
    asio::post(strand_, [self = shared_from_this(), first_delay] { self->schedule(first_delay); });
  }

  // Probe now instead of at the next retry (the camera said Hello).
  void poke() {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->stopped_ || self->probing_) return;
      self->timer_.cancel();
      self->probe();
    });
  }

  void stop() {
    asio::post(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      self->timer_.cancel();
      self->client_->cancel();
    });
  }

 private:
  void schedule(std::chrono::milliseconds delay) {
    if (stopped_) return;
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped_) return;
      self->probe();
    });
  }

  void probe() {
    probing_ = true;
    client_->health([self = shared_from_this()](Result<onvif::DeviceInfo> r) {
      self->probing_ = false;
      if (self->stopped_) return;
      self->on_probe(r.ok() ? std::optional<Error>() : std::optional<Error>(r.error()));
    });
  }

  void on_probe(std::optional<Error> error) {
    const auto& o = owner_.options_;
    if (!error) {
      failures_ = 0;
      owner_.on_status(id_, CameraStatus::online, "", client_->clock_offset().count());
      return schedule(o.health_interval);
    }
    ++failures_;
    owner_.on_status(id_, status_of(*error), error->message, client_->clock_offset().count());
    // Capped exponential backoff with +-20 % jitter.
    auto base = o.retry_min;
    for (int i = 1; i < failures_ && base < o.retry_max; ++i) base *= 2;
    base = std::min(base, o.retry_max);
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    schedule(std::chrono::milliseconds(
        std::max<std::int64_t>(50, static_cast<std::int64_t>(base.count() * jitter(rng_)))));
  }

  Cameras& owner_;
  std::string id_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  std::shared_ptr<onvif::Client> client_;
  std::mt19937 rng_;
  int failures_ = 0;
  bool probing_ = false;
  bool stopped_ = false;
};

Cameras::Cameras(storage::Catalog& catalog, SecretBox box, Hub* hub, Clock& clock,
                 CamerasOptions options)
    : catalog_(catalog),
      box_(std::move(box)),
      hub_(hub),
      clock_(clock),
      options_(std::move(options)),
      strand_(asio::make_strand(ioc_)) {}

Cameras::~Cameras() {
  stop();
}

template <class F>
auto Cameras::on_registry(F f) -> decltype(f()) {
  using R = decltype(f());
  if (!running_) return R{};
  if (strand_.running_in_this_thread()) return f();  // from a Hello handler
  // `f` may refer to the caller's locals. If the wait gives up, the posted
  // call must not run afterwards: it is abandoned under a mutex that an `f`
  // already running holds, so giving up waits for that one to finish.
  struct Call {
    std::mutex m;
    bool abandoned = false;
  };
  auto call = std::make_shared<Call>();
  auto p = std::make_shared<std::promise<R>>();
  auto fut = p->get_future();
  asio::post(strand_, [call, p, f = std::move(f)]() mutable {
    std::lock_guard lock(call->m);
    if (!call->abandoned) p->set_value(f());
  });
  if (auto r = wait_for(fut, 10s)) return std::move(*r);
  std::lock_guard lock(call->m);
  call->abandoned = true;
  if (fut.wait_for(0s) == std::future_status::ready) return fut.get();
  spdlog::error("cameras: the registry did not answer within 10 s; call abandoned");
  return R{};
}

Status Cameras::start() {
  if (running_) return {};
  work_.emplace(ioc_.get_executor());
  thread_ = std::thread([this] { run_contained(ioc_, "camera registry"); });
  running_ = true;
  auto cams = catalog_.list_cameras();
  if (!cams) return cams.error();
  on_registry([this, &cams] {
    for (const auto& c : *cams) known_[c.id] = c;
    return true;
  });
  for (const auto& c : *cams) {
    CameraState st;
    st.since = clock_.realtime();
    auto password = box_.open(c.password_enc);
    if (!password) {
      spdlog::error("camera {}: {}; not supervised", c.id, password.error().message);
      st.status = CameraStatus::degraded;
      st.reason = password.error().message;
      on_registry([this, id = c.id, st] {
        states_[id] = st;
        return true;
      });
      continue;
    }
    supervise(c.id, c.onvif_url, {c.username, *password}, st);
  }
  spdlog::info("cameras: supervising {} cameras", cams->size());
  if (options_.listen_announcements && !options_.discovery_interfaces.empty()) {
    onvif::ListenOptions lo;
    lo.interfaces = options_.discovery_interfaces;
    lo.port = options_.discovery_port;
    listener_ = onvif::make_announcement_listener(
        strand_, lo, [this](const onvif::Announcement& a) { on_announcement(a); }, clock_);
    std::vector<std::string> warnings;
    auto st = on_registry([&] { return listener_->start(&warnings); });
    for (const auto& w : warnings) spdlog::warn("discovery: {}", w);
    if (!st) {
      spdlog::warn("{}; Hello/Bye announcements are not heard (scans still work)",
                   st.error().message);
      listener_.reset();
    } else {
      spdlog::info("discovery: listening for Hello/Bye on {}:{}", onvif::kDiscoveryMulticast,
                   options_.discovery_port);
    }
  }
  return {};
}

void Cameras::stop() {
  if (!running_) return;
  auto done = std::make_shared<std::promise<void>>();  // outlives a wait that gives up
  asio::post(strand_, [this, done] {
    if (listener_) listener_->stop();
    for (auto& [id, s] : supervisors_) s->stop();
    supervisors_.clear();
    done->set_value();
  });
  done->get_future().wait_for(5s);
  running_ = false;
  work_.reset();
  // Let the stops run (up to 2 s, counted in naps: no clock read, and no
  // endless wait under a FakeClock), then cut whatever is still pending.
  for (int nap = 0; nap < 200 && !ioc_.stopped(); ++nap) std::this_thread::sleep_for(10ms);
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
}

void Cameras::supervise(const std::string& id, const std::string& url,
                        onvif::Credentials credentials, CameraState initial) {
  auto sup = std::make_shared<Supervisor>(*this, id, url, std::move(credentials));
  bool online = initial.status == CameraStatus::online;
  on_registry([this, id, sup, initial] {
    if (auto it = supervisors_.find(id); it != supervisors_.end()) it->second->stop();
    supervisors_[id] = sup;
    states_[id] = initial;
    return true;
  });
  // Just onboarded: the next probe after the usual interval; else at once.
  sup->start(online ? options_.health_interval : 0ms);
}

void Cameras::on_status(const std::string& id, CameraStatus status, std::string reason,
                        std::int64_t offset) {
  asio::post(strand_, [this, id, status, reason = std::move(reason), offset] {
    auto it = states_.find(id);
    if (it == states_.end() || !supervisors_.count(id)) return;  // forgotten meanwhile
    CameraState& st = it->second;
    st.clock_offset_s = offset;
    WallTime now = clock_.realtime();
    if (status == CameraStatus::online) st.last_seen = now;
    if (st.status == status && st.reason == reason) return;
    CameraStatus previous = st.status;
    st.status = status;
    st.reason = reason;
    if (previous != status) st.since = now;
    if (previous == status) return;  // same status, new reason: no message
    if (status == CameraStatus::online)
      spdlog::info("camera {}: {} -> online", id, to_string(previous));
    else
      spdlog::warn("camera {}: {} -> {}: {}", id, to_string(previous), to_string(status), reason);
    if (status_listener_) status_listener_(id, status, st.reason);
    if (hub_)
      hub_->publish("camera",
                    {{"camera_id", id},
                     {"status", to_string(status)},
                     {"previous", to_string(previous)},
                     {"reason", reason},
                     {"since", format_rfc3339(now)}},
                    RoleSet::all(), id);
  });
}

void Cameras::committed(CameraChange::Kind kind, const std::string& id,
                        std::optional<storage::Camera> row) {
  // Posted, never run inline: the writes of HTTP threads and of this strand
  // are told in the order they were committed, and a listener never runs
  // inside a caller's lock or loop.
  asio::post(strand_, [this, kind, id, row = std::move(row)]() mutable {
    if (kind == CameraChange::Kind::removed)
      known_.erase(id);
    else if (row)
      known_[id] = std::move(*row);
    const CameraChange change{id, kind};
    for (const auto& listener : change_listeners_) listener(change);
  });
}

void Cameras::on_change(ChangeListener listener) {
  asio::post(strand_, [this, listener = std::move(listener)]() mutable {
    change_listeners_.push_back(std::move(listener));
  });
}

void Cameras::set_status_listener(StatusListener listener) {
  asio::post(strand_, [this, listener = std::move(listener)]() mutable {
    status_listener_ = std::move(listener);
    // Supervision started before the listener was set: a camera already
    // found offline (or refusing its credentials) is told now, not lost.
    if (status_listener_)
      for (const auto& [id, st] : states_)
        if (st.status != CameraStatus::connecting && st.status != CameraStatus::online)
          status_listener_(id, st.status, st.reason);
  });
}

Result<onvif::ScanResult> Cameras::scan(std::chrono::milliseconds timeout,
                                        std::vector<std::string> targets,
                                        std::vector<Moved>* moved) {
  if (!running_) return make_error(ErrorKind::unavailable, "camera service is not running");
  onvif::ScanOptions o;
  o.interfaces = options_.discovery_interfaces;
  o.targets = std::move(targets);
  o.timeout = timeout;
  o.port = options_.discovery_port;
  auto p = std::make_shared<std::promise<Result<onvif::ScanResult>>>();
  auto fut = p->get_future();
  asio::post(ioc_, [this, o, p] {
    onvif::discover(asio::make_strand(ioc_), o,
                    [p](Result<onvif::ScanResult> r) { p->set_value(std::move(r)); });
  });
  auto r = wait_for(fut, timeout + 2s);
  if (!r) return make_error(ErrorKind::deadline_exceeded, "discovery scan did not finish");
  if (*r) {
    on_registry([this, &r] {
      for (const auto& d : (**r).devices) remember(d, "probe");
      return true;
    });
    follow_moved_cameras(**r, moved);
  }
  return std::move(*r);
}

void Cameras::follow_moved_cameras(const onvif::ScanResult& result, std::vector<Moved>* moved) {
  const auto cams = on_registry([this] { return known_; });
  for (const auto& d : result.devices) {
    if (d.endpoint.empty()) continue;
    for (const auto& [id, c] : cams)
      if (c.endpoint_ref == d.endpoint)
        if (auto m = sighted(c, d, cams, "probe"); m && moved) moved->push_back(*m);
  }
}

std::optional<Cameras::Moved> Cameras::sighted(const storage::Camera& c,
                                               const onvif::DiscoveryTarget& d,
                                               const std::map<std::string, storage::Camera>& all,
                                               const char* via) {
  if (std::find(d.xaddrs.begin(), d.xaddrs.end(), c.onvif_url) != d.xaddrs.end())
    return std::nullopt;  // still where we know it
  std::string to;
  std::string host;
  for (const auto& x : d.xaddrs)
    if (auto u = onvif::parse_http_url(x)) {
      to = x;
      host = u->host;
      break;
    }
  if (to.empty()) return std::nullopt;
  bool taken =
      std::any_of(all.begin(), all.end(), [&](const auto& o) { return o.second.onvif_url == to; });
  if (taken) {
    spdlog::warn("camera {}: endpoint {} answers from {}, which another camera has; not moved",
                 c.id, d.endpoint, to);
    return std::nullopt;
  }
  Moved m{c.id, c.onvif_url, to, d.endpoint, via, false};
  if (in_trusted_network(host, options_.trusted_networks)) {
    if (!follow(c, to)) return std::nullopt;
    spdlog::warn(
        "camera {}: moved from {} to {} (same WS-Discovery endpoint {}, seen by {}, in a "
        "trusted network); following it",
        c.id, c.onvif_url, to, d.endpoint, via);
    m.followed = true;
    return m;
  }
  // Only a proposal: the camera stays where it is and nothing is sent there.
  const WallTime now = clock_.realtime();
  bool tell = on_registry([&]() -> bool {
    auto it = states_.find(c.id);
    if (it == states_.end()) return false;
    auto& s = it->second.sighting;
    const bool fresh = !s || s->onvif_url != to;
    if (fresh) s = Sighting{to, d.endpoint, via, now, now};
    s->last_seen = now;
    if (!fresh) return false;
    // A flood of forged announcements with ever new addresses: the state
    // shows the latest, the log, audit and consoles hear of one per 10 s.
    auto& told = sighting_told_[c.id];
    if (told != WallTime{} && now - told < 10s) return false;
    told = now;
    publish_sighting(c.id, *s);
    return true;
  });
  if (!tell) return std::nullopt;
  spdlog::warn(
      "camera {}: its WS-Discovery endpoint {} was seen at {} (by {}); not moved: an "
      "administrator confirms a move (POST /api/v1/cameras/{}/move)",
      c.id, d.endpoint, to, via, c.id);
  return m;
}

void Cameras::publish_sighting(const std::string& id, const Sighting& s) {
  if (!hub_) return;
  const auto& st = states_.at(id);
  hub_->publish("camera",
                {{"camera_id", id},
                 {"status", to_string(st.status)},
                 {"previous", to_string(st.status)},
                 {"reason", st.reason},
                 {"since", format_rfc3339(st.since)},
                 {"sighting",
                  {{"onvif_url", s.onvif_url},
                   {"endpoint", s.endpoint},
                   {"via", s.via},
                   {"first_seen", format_rfc3339(s.first_seen)},
                   {"last_seen", format_rfc3339(s.last_seen)}}}},
                RoleSet::all(), id);
}

bool Cameras::follow(const storage::Camera& c, const std::string& to) {
  auto password = box_.open(c.password_enc);
  if (!password) return false;
  storage::Camera updated = c;
  updated.onvif_url = to;
  auto u = catalog_.update_camera(updated);
  if (!u) {
    spdlog::error("camera {}: found at {} but could not be updated: {}", c.id, to,
                  u.error().message);
    return false;
  }
  committed(CameraChange::Kind::changed, c.id, std::move(*u));
  CameraState st;
  st.since = clock_.realtime();
  supervise(c.id, to, {c.username, *password}, st);
  refresh_streams(c.id, to, {c.username, *password}, stored_wish(c.id));
  return true;
}

// The stream URIs of a moved camera name its old address: learn them again
// (asynchronously; the stored ones stay until the camera answers).
void Cameras::refresh_streams(const std::string& id, const std::string& url,
                              onvif::Credentials credentials, onvif::ProfileWish wish) {
  auto strand = asio::make_strand(ioc_);
  auto client = onvif::Client::create(strand, url, std::move(credentials),
                                      onvif::ClientOptions{options_.onvif_timeout}, clock_);
  asio::post(strand, [this, client, id, wish] {
    client->onboard(
        [this, client, id](Result<onvif::OnboardInfo> r) {
          if (!r) {
            spdlog::warn("camera {}: stream URIs not refreshed after the move: {}", id,
                         r.error().message);
            return;
          }
          auto streams = streams_of(id, *r);
          if (auto st = catalog_.set_streams(id, streams); !st) {
            spdlog::error("camera {}: stream URIs not stored: {}", id, st.error().message);
          } else {
            spdlog::info("camera {}: stream URIs refreshed at the new address", id);
            committed(CameraChange::Kind::changed, id, std::nullopt);  // the recorder's URI
          }
        },
        wish);
  });
}

void Cameras::remember(const onvif::DiscoveryTarget& d, const char* via) {
  if (d.endpoint.empty()) return;
  WallTime now = clock_.realtime();
  for (auto& known : discovered_)
    if (known.target.endpoint == d.endpoint) {
      known.target.xaddrs = d.xaddrs;
      if (!d.scopes.empty()) known.target.scopes = d.scopes;
      known.via = via;
      known.last_seen = now;
      return;
    }
  if (discovered_.size() >= kMaxDiscovered) return;
  discovered_.push_back({d, via, now, now});
}

void Cameras::on_announcement(const onvif::Announcement& a) {
  const auto& d = a.target;
  if (d.endpoint.empty()) return;  // the parser refuses these; never match "no reference"
  if (a.kind == onvif::Announcement::Kind::bye) {
    auto it = std::find_if(discovered_.begin(), discovered_.end(), [&](const DiscoveredDevice& x) {
      return x.target.endpoint == d.endpoint;
    });
    if (it != discovered_.end()) {
      spdlog::info("discovery: Bye from {}", d.endpoint);
      discovered_.erase(it);
    }
    return;
  }
  spdlog::debug("discovery: Hello from {} at {}", d.endpoint,
                d.xaddrs.empty() ? std::string("?") : d.xaddrs.front());
  remember(d, "hello");
  // The registry's own view, not a catalogue read: a flood of Hellos costs
  // no SQLite (the rows change only through this registry).
  std::vector<storage::Camera> same;
  for (const auto& [id, c] : known_)
    if (c.endpoint_ref == d.endpoint) same.push_back(c);
  for (const auto& c : same) {
    if (auto m = sighted(c, d, known_, "hello")) {
      if (on_moved_) on_moved_(*m);
    } else if (std::find(d.xaddrs.begin(), d.xaddrs.end(), c.onvif_url) == d.xaddrs.end()) {
      continue;  // seen elsewhere: not a sign that it is back where we know it
    } else if (auto it = supervisors_.find(c.id); it != supervisors_.end()) {
      it->second->poke();  // back (a reboot): probe now, not at the next retry
    }
  }
}

std::vector<DiscoveredDevice> Cameras::discovered() {
  return on_registry([this] { return discovered_; });
}

Result<Cameras::Added> Cameras::add(const AddCamera& req) {
  if (!running_) return make_error(ErrorKind::unavailable, "camera service is not running");
  auto existing = catalog_.list_cameras();
  if (!existing) return existing.error();
  for (const auto& c : *existing)
    if (c.onvif_url == req.onvif_url)
      return make_error(ErrorKind::already_exists,
                        "camera " + c.id + " already has this onvif_url");

  auto got = onboard(req.onvif_url, {req.username, req.password});
  if (!got) return got.error();
  const onvif::OnboardInfo& info = *got;

  storage::Camera cam;
  cam.name = req.name;
  if (cam.name.empty()) {
    cam.name = info.device.manufacturer + " " + info.device.model;
    if (!info.device.serial.empty()) cam.name += " " + info.device.serial;
    if (cam.name.size() > 128) cam.name.resize(128);
  }
  cam.onvif_url = req.onvif_url;
  cam.username = req.username;
  cam.password_enc = box_.seal(req.password);
  cam.manufacturer = info.device.manufacturer;
  cam.model = info.device.model;
  cam.serial = info.device.serial;
  cam.hardware_id = info.device.hardware_id;
  cam.endpoint_ref = req.endpoint;
  cam.recording_mode = req.mode;
  cam.retention_days = req.retention_days;
  cam.allow_basic_auth = req.allow_basic_auth;
  cam.site_id = req.site_id;
  cam.plan_position = req.plan_position;
  cam.rtsp_transport = req.rtsp_transport;
  cam.sub_pull = req.sub_pull;
  auto stored = catalog_.add_camera(cam);
  if (!stored) return stored.error();
  auto streams = streams_of(stored->id, info);
  if (auto st = catalog_.set_streams(stored->id, streams); !st) {
    (void)catalog_.delete_camera(stored->id);  // nothing stored on error
    return st.error();
  }
  committed(CameraChange::Kind::added, stored->id, *stored);
  CameraState state;
  state.status = CameraStatus::online;
  state.since = state.last_seen = clock_.realtime();
  state.clock_offset_s = info.clock_offset.count();
  state.snapshot_uri = info.snapshot_uri;
  supervise(stored->id, req.onvif_url, {req.username, req.password}, state);
  if (hub_)
    hub_->publish("camera",
                  {{"camera_id", stored->id},
                   {"status", to_string(state.status)},
                   {"previous", "added"},
                   {"reason", ""},
                   {"since", format_rfc3339(state.since)}},
                  RoleSet::all(), stored->id);
  spdlog::info("camera {}: added ({} {}, clock offset {} s)", stored->id, cam.manufacturer,
               cam.model, state.clock_offset_s);
  return Added{*stored, streams, state};
}

Result<onvif::OnboardInfo> Cameras::onboard(const std::string& url, onvif::Credentials credentials,
                                            onvif::ProfileWish wish) {
  auto strand = asio::make_strand(ioc_);
  auto client = onvif::Client::create(strand, url, std::move(credentials),
                                      onvif::ClientOptions{options_.onvif_timeout}, clock_);
  auto p = std::make_shared<std::promise<Result<onvif::OnboardInfo>>>();
  auto fut = p->get_future();
  asio::post(strand, [client, p, wish] {
    client->onboard([p](Result<onvif::OnboardInfo> r) { p->set_value(std::move(r)); }, wish);
  });
  // Seven calls at most, each within its own deadline.
  auto got = wait_for(fut, options_.onvif_timeout * 7 + 2s);
  if (!got) {
    asio::post(strand, [client] { client->cancel(); });
    return make_error(ErrorKind::deadline_exceeded, "camera did not finish onboarding in time");
  }
  return std::move(*got);
}

Result<Cameras::Added> Cameras::move(const std::string& id, const std::string& onvif_url) {
  if (!running_) return make_error(ErrorKind::unavailable, "camera service is not running");
  auto c = catalog_.find_camera(id);
  if (!c) return c.error();
  if (c->onvif_url == onvif_url)
    return make_error(ErrorKind::invalid_argument, "camera " + id + " is already at this address");
  auto all = catalog_.list_cameras();
  if (!all) return all.error();
  for (const auto& o : *all)
    if (o.id != id && o.onvif_url == onvif_url)
      return make_error(ErrorKind::already_exists,
                        "camera " + o.id + " already has this onvif_url");
  auto password = box_.open(c->password_enc);
  if (!password) return password.error();
  auto got = onboard(onvif_url, {c->username, *password}, stored_wish(id));
  if (!got) return got.error();
  const onvif::OnboardInfo& info = *got;
  // The same device, as far as it can tell: a device that holds the
  // credentials but another serial number is another camera.
  auto differs = [](const std::string& known, const std::string& seen) {
    return !known.empty() && known != seen;
  };
  if (differs(c->serial, info.device.serial) || differs(c->hardware_id, info.device.hardware_id))
    return make_error(ErrorKind::failed_precondition,
                      "the device at the new address is not camera " + id + " (serial number " +
                          info.device.serial + ", expected " + c->serial + "); not moved");
  storage::Camera updated = *c;
  updated.onvif_url = onvif_url;
  auto stored = catalog_.update_camera(updated);
  if (!stored) return stored.error();
  auto streams = streams_of(id, info);
  auto set = catalog_.set_streams(id, streams);
  committed(CameraChange::Kind::changed, id, *stored);  // the row moved, whatever the streams
  if (!set) return set.error();
  CameraState state;
  state.status = CameraStatus::online;
  state.since = state.last_seen = clock_.realtime();
  state.clock_offset_s = info.clock_offset.count();
  state.snapshot_uri = info.snapshot_uri;
  supervise(id, onvif_url, {c->username, *password}, state);  // the sighting ends here
  if (hub_)
    hub_->publish("camera",
                  {{"camera_id", id},
                   {"status", to_string(state.status)},
                   {"previous", "moved"},
                   {"reason", ""},
                   {"since", format_rfc3339(state.since)}},
                  RoleSet::all(), id);
  spdlog::info("camera {}: moved from {} to {} by an administrator", id, c->onvif_url, onvif_url);
  return Added{*stored, streams, state};
}

onvif::ProfileWish Cameras::stored_wish(const std::string& id) {
  onvif::ProfileWish wish;
  if (auto streams = catalog_.list_streams(id))
    for (const auto& s : *streams)
      (s.kind == storage::StreamKind::main ? wish.main : wish.sub) = s.profile_token;
  return wish;
}

Result<onvif::OnboardInfo> Cameras::profiles(const std::string& id) {
  if (!running_) return make_error(ErrorKind::unavailable, "camera service is not running");
  auto c = catalog_.find_camera(id);
  if (!c) return c.error();
  auto password = box_.open(c->password_enc);
  if (!password) return password.error();
  return onboard(c->onvif_url, {c->username, *password}, stored_wish(id));
}

Result<Cameras::Added> Cameras::choose_streams(const std::string& id,
                                               const onvif::ProfileWish& wish) {
  if (!running_) return make_error(ErrorKind::unavailable, "camera service is not running");
  auto c = catalog_.find_camera(id);
  if (!c) return c.error();
  auto password = box_.open(c->password_enc);
  if (!password) return password.error();
  auto got = onboard(c->onvif_url, {c->username, *password}, wish);
  if (!got) return got.error();
  // A token the camera does not list was not taken (choose_profiles): say which.
  auto unlisted = [&](const std::string& token, const char* kind) {
    return make_error(ErrorKind::invalid_argument, "camera " + id + " has no profile '" + token +
                                                       "' (for the " + kind + " stream)");
  };
  if (got->main.token != wish.main) return unlisted(wish.main, "main");
  if (got->sub.token != wish.sub) return unlisted(wish.sub, "sub");
  auto streams = streams_of(id, *got);
  if (auto st = catalog_.set_streams(id, streams); !st) return st.error();
  committed(CameraChange::Kind::changed, id, std::nullopt);  // the recorder's and live view's URIs
  auto state = this->state(id);
  spdlog::info("camera {}: streams now main '{}' ({}x{}), sub '{}' ({}x{})", id, got->main.token,
               got->main.width, got->main.height, got->sub.token, got->sub.width, got->sub.height);
  return Added{*c, streams, state.value_or(CameraState{})};
}

Result<storage::Camera> Cameras::update(const storage::Camera& camera) {
  if (!running_) return make_error(ErrorKind::unavailable, "camera service is not running");
  auto stored = catalog_.update_camera(camera);
  if (!stored) return stored.error();
  committed(CameraChange::Kind::changed, stored->id, *stored);
  return stored;
}

Status Cameras::remove(const std::string& id) {
  if (!running_) return make_error(ErrorKind::unavailable, "camera service is not running");
  if (auto st = catalog_.delete_camera(id); !st) return st;
  committed(CameraChange::Kind::removed, id, std::nullopt);
  forget(id);
  return {};
}

std::optional<CameraState> Cameras::state(const std::string& id) {
  return on_registry([this, id]() -> std::optional<CameraState> {
    auto it = states_.find(id);
    if (it == states_.end()) return std::nullopt;
    return it->second;
  });
}

std::map<std::string, CameraState> Cameras::states() {
  return on_registry([this] { return states_; });
}

void Cameras::forget(const std::string& id) {
  bool found = on_registry([this, id] {
    auto it = supervisors_.find(id);
    bool had = states_.erase(id) > 0;
    if (it != supervisors_.end()) {
      it->second->stop();
      supervisors_.erase(it);
    }
    return had;
  });
  if (found && hub_)
    hub_->publish("camera",
                  {{"camera_id", id},
                   {"status", "removed"},
                   {"reason", ""},
                   {"since", format_rfc3339(clock_.realtime())}},
                  RoleSet::all(), id);
}

std::string check_network(const std::string& cidr) {
  if (parse_network(cidr)) return {};
  return "\"" + cidr.substr(0, 64) +
         "\" is not a network (an IP address with an optional /prefix: 10.1.0.0/16, fd00::/8)";
}

bool in_trusted_network(const std::string& host, const std::vector<std::string>& networks) {
  auto address = parse_ip_address(host);
  if (!address) return false;
  for (const auto& n : networks)
    if (auto net = parse_network(n); net && net->contains(*address)) return true;
  return false;
}

Result<std::unique_ptr<Cameras>> start_cameras(
    const config::Config& config, storage::Catalog& catalog, Hub* hub, Clock& clock,
    std::function<void(const Cameras::Moved&)> on_moved) {
  std::error_code ec;
  std::filesystem::create_directories(config.storage.path, ec);
  auto box = SecretBox::open_or_create(config.storage.secret_key_file());
  if (!box) return box.error();
  CamerasOptions o;
  o.discovery_interfaces = config.discovery.interfaces;
  o.discovery_timeout = config.discovery.default_timeout;
  o.health_interval = config.cameras.health_interval;
  o.retry_max = config.cameras.retry_max;
  o.retry_min = std::min(o.retry_min, o.retry_max);
  o.onvif_timeout = config.cameras.onvif_timeout;
  o.max_age_days = config.retention.max_age_days;
  o.trusted_networks = config.discovery.trusted_networks;
  auto cams = std::make_unique<Cameras>(catalog, std::move(*box), hub, clock, std::move(o));
  cams->set_on_moved(std::move(on_moved));
  if (auto st = cams->start(); !st) return st.error();
  return cams;
}

}  // namespace zaulek::server
