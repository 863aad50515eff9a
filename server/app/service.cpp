// The wiring of zaulekd: the catalogue, the camera registry, recording,
// events, rules and alarms, the hub and the HTTP transport, each started in
// dependency order on its executor; and the graceful stop on SIGTERM/SIGINT.
#include <utility>  // before Asio: Boost 1.74 misses it

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/clock.h"
#include "server/alarms/alarms.h"
#include "server/api/api.h"
#include "server/app/build_info.h"
#include "server/app/service.h"

#include "evidence/signing_key.h"
#include "server/cameras/cameras.h"
#include "server/events/events.h"
#include "server/events/notify.h"
#include "server/export/export.h"
#include "server/http/dispatch.h"
#include "server/http/metrics.h"
#include "server/http/routes.h"
#include "server/http/server.h"
#include "server/hub/hub.h"
#include "server/live/live.h"
#include "server/live/snapshots.h"
#include "server/playback/playback.h"
#include "server/recording/recording.h"
#include "server/run_contained.h"
#include "server/security/audit.h"
#include "server/security/auth.h"
#include "server/security/secretbox.h"
#include "storage/plans.h"

namespace zaulek::server {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

constexpr auto kShutdownGrace = std::chrono::seconds{4};

Status write_port_file(const std::filesystem::path& file, std::uint16_t port) {
  // Written then renamed, so a reader never sees a half-written number.
  auto tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
    if (!out) return make_error(ErrorKind::unavailable, "cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) return make_error(ErrorKind::unavailable, "cannot write " + file.string());
  return {};
}

// Where cameras reach our Notify consumer: events.notify_url, else the
// listen address and the bound port (nothing when that is a wildcard).
std::string notify_base_url(const config::Config& config, bool tls_on,
                            const net::ip::address& address, std::uint16_t port) {
  if (!config.events.notify_url.empty()) return config.events.notify_url;
  if (address.is_unspecified()) {
    spdlog::warn(
        "events: server.listen is a wildcard address and events.notify_url is not set: "
        "cameras without a PullPoint get no events");
    return {};
  }
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return std::string(tls_on ? "https://" : "http://") + host + ":" + std::to_string(port);
}

}  // namespace

int run_service(const config::Config& config, storage::Catalog& catalog,
                const ServiceOptions& options) {
  const config::Server& cfg = config.server;
  Clock& clock = system_clock();
  int threads = std::max(1, cfg.threads);
  net::io_context ioc{threads};
  // Registered before anything starts or is announced (the port file, the
  // recorders' first log lines): a SIGTERM that comes early is queued until
  // the handler below waits for it, instead of killing the process.
  net::signal_set signals(ioc, SIGINT, SIGTERM);

  boost::system::error_code ec;
  auto address = net::ip::make_address(cfg.host, ec);
  if (ec) {
    spdlog::error("server: listen address '{}' is not an IP address", cfg.host);
    return 1;
  }
  bool tls_on = cfg.tls_cert && cfg.tls_key;
  if (!tls_on && !is_loopback(address) && !cfg.allow_plain_http) {
    spdlog::error(
        "server: refusing plain HTTP on non-loopback address {}: set server.tls_cert and "
        "server.tls_key, or server.allow_plain_http = true",
        cfg.host);
    return 1;
  }

  std::optional<ssl::context> tls;
  if (tls_on) {
    tls.emplace(ssl::context::tls_server);
    // TLS 1.2 and newer only.
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::single_dh_use);
    tls->use_certificate_chain_file(cfg.tls_cert->string(), ec);
    if (ec) {
      spdlog::error("server: cannot load TLS certificate {}: {}", cfg.tls_cert->string(),
                    ec.message());
      return 1;
    }
    tls->use_private_key_file(cfg.tls_key->string(), ssl::context::pem, ec);
    if (ec) {
      spdlog::error("server: cannot load TLS key {}: {}", cfg.tls_key->string(), ec.message());
      return 1;
    }
  }

  Hub hub(ioc, clock);
  AuditLog audit(catalog, clock, &hub);
  Auth auth(catalog, audit, clock,
            std::chrono::duration_cast<std::chrono::seconds>(config.auth.session_ttl),
            config.auth.login_max_failures, config.auth.login_window,
            config.auth.password_hash_cost());
  Metrics metrics;
  ApiContext ctx;
  ctx.catalog = &catalog;
  ctx.audit = &audit;
  ctx.auth = &auth;
  ctx.hub = &hub;
  ctx.metrics = &metrics;
  ctx.clock = &clock;
  ctx.version = build_version();
  ctx.started = clock.monotonic();
  ctx.tls = tls_on;
  ctx.session_ttl = std::chrono::duration_cast<std::chrono::seconds>(config.auth.session_ttl);
  // A camera that a Hello revealed at a new address: no user did it.
  auto cameras = start_cameras(config, catalog, &hub, clock, [&audit](const Cameras::Moved& m) {
    audit.record(
        "system", m.followed ? "camera.moved" : "camera.sighted", "camera:" + m.id,
        nlohmann::json{{"from", m.from}, {"to", m.to}, {"endpoint", m.endpoint}, {"via", m.via}}
            .dump(),
        "");
  });
  if (!cameras) {
    spdlog::error("server: cameras: {}", cameras.error().message);
    return 1;
  }
  ctx.cameras = cameras->get();
  // The evidence signing key (evidence/signing_key.h), beside the secret box key.
  auto signing_key = evidence::SigningKey::open_or_create(config.storage.signing_key_file());
  if (!signing_key) {
    spdlog::error("server: {}", signing_key.error().message);
    return 1;
  }
  ctx.signing_key = &*signing_key;
  // Site plan images (storage/plans.h), in the storage folder.
  storage::PlanFiles plans(config.storage.path);
  ctx.plans = &plans;
  spdlog::info("server: evidence signing key {} (Ed25519)", signing_key->id());
  // Evidence exports (server/export/export.h): jobs on threads of their own.
  // The default folder's leading dot keeps it out of the camera directories
  // that reconciliation walks (no camera id starts with one).
  ExportOptions export_options;
  export_options.storage_root = config.storage.path;
  export_options.folder = config.export_.folder.value_or(config.storage.path / ".exports");
  export_options.keep = std::chrono::hours(24 * config.export_.keep_days);
  export_options.max_concurrent = config.export_.max_concurrent;
  export_options.max_queued = config.export_.max_queued;
  export_options.max_range = std::chrono::hours(config.export_.max_range_hours);
  ExportService exports(catalog, clock, &hub, audit, *signing_key, export_options);
  if (auto st = exports.start(); !st) {
    spdlog::error("server: {}", st.error().message);
    return 1;
  }
  ctx.exports = &exports;
  // Camera events (server/events/events.h): subscriptions run on camera_ioc (below).
  auto event_box = SecretBox::open_or_create(config.storage.secret_key_file());
  if (!event_box) {
    spdlog::error("server: events: {}", event_box.error().message);
    return 1;
  }
  // Recording (server/recording/recording.h): reconciliation, recorders, retention.
  auto recording_box = SecretBox::open_or_create(config.storage.secret_key_file());
  if (!recording_box) {
    spdlog::error("server: recording: {}", recording_box.error().message);
    return 1;
  }
  RecordingService recording(catalog, std::move(*recording_box), clock, recording_options(config));
  ctx.recording = &recording;
  // Live view (server/live/live.h): the recorders' feeds, one pull per stream.
  LiveService live(
      [&recording](const std::string& id, const std::string& stream) {
        auto h = recording.live(
            id, stream == "sub" ? storage::StreamKind::sub : storage::StreamKind::main);
        return LiveService::Hold{std::move(h.feed), std::move(h.stream), std::move(h.lease)};
      },
      [&recording] { return recording.live_feeds(); });
  ctx.live = &live;
  // Playback (server/playback/playback.h): closed segments from the
  // catalogue, then the one being written (the recorder says which).
  const std::filesystem::path footage_root = recording_options(config).root;
  PlaybackService playback(
      catalog, footage_root, clock,
      [&recording, footage_root](const std::string& id) -> std::optional<playback::OpenSegment> {
        auto st = recording.status(id);
        if (!st || st->open_start_ns == 0) return std::nullopt;
        const WallTime start{std::chrono::duration_cast<WallTime::duration>(
            std::chrono::nanoseconds(st->open_start_ns))};
        return playback::OpenSegment{st->open_start_ns,
                                     footage_root / id / (media::segment_stem(start) + ".ts.part")};
      });
  playback.start();
  ctx.playback = &playback;
  // Exports read the segment being written too (its path as it will be once closed).
  exports.set_open_segment([&recording](const std::string& id) -> std::optional<OpenSegmentFile> {
    auto st = recording.status(id);
    if (!st || st->open_start_ns == 0) return std::nullopt;
    const WallTime start{std::chrono::duration_cast<WallTime::duration>(
        std::chrono::nanoseconds(st->open_start_ns))};
    return OpenSegmentFile{st->open_start_ns, id + "/" + media::segment_stem(start) + ".ts"};
  });
  // Rules and alarms (server/alarms/alarms.h): fed by stored events and camera health.
  AlarmRouter alarms(ioc, catalog, &hub, &audit, clock, config.rules);
  // Events-mode recording: by every camera event, or by rules with record = true.
  alarms.set_recording(
      {[&recording](const std::vector<storage::Event>& e) { recording.on_events(e); },
       [&recording](const std::string& id, bool active) { recording.event(id, active); }});
  alarms.start();
  ctx.alarms = &alarms;
  ctx.cameras->set_status_listener(
      [&alarms](const std::string& id, CameraStatus s, const std::string& reason) {
        alarms.camera_status(id, std::string(to_string(s)), reason);
      });
  EventsOptions event_options;
  event_options.budget = {static_cast<std::uint32_t>(config.events.max_per_camera_per_second),
                          static_cast<std::uint32_t>(config.events.burst)};
  // Published events go to the rules, which hand them on to events-mode recorders.
  event_options.on_published = [&alarms](std::vector<storage::Event> e) {
    alarms.route(std::move(e));
  };
  event_options.on_subscription_health = [&alarms](const std::string& id, bool failing,
                                                   const std::string& reason) {
    alarms.health(id, failing, "zaulek:Health/EventSubscription", "events",
                  {{"status", failing ? "failed" : "active"}, {"reason", reason.substr(0, 1024)}});
  };
  // A recorder that cannot write (disk full, storage unwritable) raises a
  // health alarm; it clears when the recorder records again. A camera that
  // is merely unreachable is the camera registry's health event, not this.
  recording.set_state_listener(
      [&alarms](const std::string& id, const std::string& state, const std::string& detail) {
        if (is_storage_fault(state, detail))
          alarms.health(id, true, "zaulek:Health/Storage", "storage",
                        {{"status", "failed"}, {"reason", detail.substr(0, 1024)}});
        else if (state == "recording")
          alarms.health(id, false, "zaulek:Health/Storage", "storage", {{"status", "writing"}});
      });
  // Recorders follow the cameras the registry adds, edits, moves and
  // deletes (a full read of the catalogue once, when recorders may start).
  ctx.cameras->on_change([&recording](const CameraChange& c) { recording.camera_changed(c.id); });
  recording.start();
  // Basic Notification (server/events/notify.h): the consumer URL's base is set
  // once the port is known, before the io_context runs.
  NotifyConsumers notify;
  event_options.notify = &notify;
  ctx.notify = &notify;
  // Camera events (PullPoint long-polls, Renew, Subscribe: every reply read
  // by gSOAP) on an io_context of their own, never on the one serving
  // consoles: what a camera's replies cost is bounded (onvif/xml_prescan.h)
  // but it delays only other cameras' events, never /healthz or a console.
  net::io_context camera_ioc{threads};
  auto camera_work = net::make_work_guard(camera_ioc);
  EventService events(camera_ioc, catalog, &hub, std::move(*event_box), clock, event_options);
  ctx.events = &events;
  // Subscriptions follow camera changes too (after one full read at start).
  ctx.cameras->on_change([&events](const CameraChange& c) { events.camera_changed(c.id); });
  events.start();
  // Snapshots for the grid (server/live/snapshots.h): camera traffic, so on
  // camera_ioc too, never on the threads that serve consoles.
  auto snapshot_box = SecretBox::open_or_create(config.storage.secret_key_file());
  if (!snapshot_box) {
    spdlog::error("server: snapshots: {}", snapshot_box.error().message);
    return 1;
  }
  Snapshots snapshots(camera_ioc.get_executor(), std::move(*snapshot_box), clock,
                      {ctx.cameras->options().onvif_timeout});
  ctx.snapshots = &snapshots;
  // The registry's thread calls into recording and events (on_change): it
  // stops before they are destroyed, also on the early returns below.
  struct StopRegistry {
    Cameras* cameras;
    ~StopRegistry() { cameras->stop(); }
  } stop_registry{ctx.cameras};
  Router router;
  register_routes(router, ctx);
  Dispatcher dispatcher(router, auth);
  net::thread_pool work(2);
  // Blocking work that must not hold the two workers above (ONVIF
  // onboarding, scans, Argon2id): handlers of Speed::slow routes.
  SlowPool slow(cfg.slow_threads, cfg.max_slow_requests);
  metrics.slow_pool = &slow;

  HttpServer http(ioc, threads, cfg, router, dispatcher, metrics, hub, clock, work, slow,
                  options.web_root, tls ? &*tls : nullptr);
  if (auto st = http.open(tcp::endpoint(address, cfg.port)); !st) {
    spdlog::error("server: {}", st.error().message);
    return 1;
  }
  std::uint16_t port = http.port();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  spdlog::info("server: zaulekd {} listening on {}://{}:{} ({} threads)", build_version(),
               tls_on ? "https" : "http", host, port, threads);
  if (options.port_file) {
    if (auto st = write_port_file(*options.port_file, port); !st) {
      spdlog::error("server: {}", st.error().message);
      return 1;
    }
  }
  notify.set_base_url(notify_base_url(config, tls_on, address, port));
  http.start();

  // Expired sessions are swept once a minute.
  net::steady_timer sweep(ioc);
  std::function<void()> schedule_sweep = [&] {
    sweep.expires_after(std::chrono::seconds{60});
    sweep.async_wait([&](boost::system::error_code e) {
      if (e) return;
      if (auto st = catalog.delete_expired_sessions(); !st)
        spdlog::warn("auth: could not sweep expired sessions: {}", st.error().message);
      schedule_sweep();
    });
  };
  schedule_sweep();

  // Sessions ended by another process (zaulekd user passwd|disable while
  // this one runs) close their WebSockets within kSessionCheck: the hub
  // names the sessions it serves, the catalogue says which are gone.
  constexpr auto kSessionCheck = std::chrono::seconds{10};
  net::steady_timer session_check(ioc);
  std::atomic<bool> session_check_stopped{false};  // a check in flight does not re-arm
  std::function<void()> schedule_session_check = [&] {
    if (session_check_stopped) return;
    session_check.expires_after(kSessionCheck);
    session_check.async_wait([&](boost::system::error_code e) {
      if (e) return;
      hub.open_sessions([&](std::vector<std::int64_t> ids) {
        net::post(ioc, [&, ids = std::move(ids)] {
          for (auto id : ids)
            if (auto s = catalog.find_session_by_id(id);
                !s && s.error().kind == ErrorKind::not_found)
              hub.close_session(id, close_reason::kSessionEnded);
          schedule_session_check();
        });
      });
    });
  };
  schedule_session_check();

  // The audit chain's head goes to the log now, every 10 minutes when it
  // moved, and at shutdown (below), so that a removed tail shows.
  AuditHeadLogger audit_head(catalog);
  audit_head.log();
  net::steady_timer audit_head_timer(ioc);
  std::function<void()> schedule_audit_head = [&] {
    audit_head_timer.expires_after(std::chrono::minutes{10});
    audit_head_timer.async_wait([&](boost::system::error_code e) {
      if (e) return;
      audit_head.log();
      schedule_audit_head();
    });
  };
  schedule_audit_head();

  net::steady_timer watchdog(ioc);
  std::atomic<bool> forced{false};
  net::steady_timer drain(ioc);
  std::function<void()> schedule_drain = [&] {
    drain.expires_after(std::chrono::milliseconds{20});
    drain.async_wait([&](boost::system::error_code e) {
      if (e) return;
      if (metrics.connections_open.load() == 0) {
        watchdog.cancel();
        return;
      }
      schedule_drain();
    });
  };
  signals.async_wait([&](boost::system::error_code e, int sig) {
    if (e) return;
    spdlog::info("server: signal {} received; shutting down", sig);
    http.stop_accepting();
    events.stop();
    snapshots.stop();
    camera_work.reset();  // camera_ioc ends once the Unsubscribes are done
    alarms.stop();
    sweep.cancel();
    audit_head_timer.cancel();
    session_check_stopped = true;
    session_check.cancel();
    hub.shutdown();
    live.shutdown();
    playback.shutdown();
    http.close_idle();
    // Whatever has not finished by then is cut off; once every connection
    // has closed the watchdog is cancelled and run() returns.
    schedule_drain();
    watchdog.expires_after(kShutdownGrace);
    watchdog.async_wait([&](boost::system::error_code we) {
      if (we) return;
      spdlog::warn("server: {} connections still open after {}s; stopping anyway",
                   metrics.connections_open.load(), kShutdownGrace.count());
      forced = true;
      camera_ioc.stop();
      ioc.stop();
    });
  });

  std::vector<std::thread> pool, camera_pool;
  for (int i = 0; i < threads; ++i)
    camera_pool.emplace_back([&camera_ioc] { run_contained(camera_ioc, "camera events"); });
  for (int i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  for (auto& t : camera_pool) t.join();
  work.join();
  slow.join();         // a slow handler still running ends within its own timeouts
  exports.stop();      // a running job ends failed ("zaulekd stopped"), queued ones too
  (*cameras)->stop();  // joins its thread: no status listener call outlives `alarms`
  recording.stop();    // open segments closed and indexed
  audit_head.log();    // after the last audited call
  spdlog::info("server: stopped");
  if (forced) {
    // Handlers of the connections cut off still sit in the io_context and
    // refer to objects on this stack; unwinding would run them out of order.
    // The catalogue is WAL SQLite, safe without a clean close.
    spdlog::default_logger()->flush();
    std::fflush(nullptr);
    std::_Exit(0);
  }
  return 0;
}

}  // namespace zaulek::server
