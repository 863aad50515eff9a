// zaulek-sim: a fleet of simulated ONVIF/RTSP cameras in one process, with a
// control API for events and faults. See docs/simulator.md.
#include "core/log.h"
#include "core/text/text.h"
#include "sim/clip.h"
#include "sim/control.h"
#include "sim/events.h"
#include "sim/fleet.h"
#include "sim/rtsp_camera.h"
#include "sim/udp_faults.h"

#include <gst/gst.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace zaulek;
using namespace zaulek::sim;
namespace asio = boost::asio;
using json = nlohmann::json;

constexpr int kMaxCameras = 1000;

const char* kUsage = R"(usage: zaulek-sim --cameras N [options]
  --cameras N            number of cameras (1..1000)
  --bind ADDR            address to listen on (default 127.0.0.1)
  --base-port P          camera i: ONVIF on P+2i, RTSP on P+2i+1, control API on P-1;
                         0 (default): free ports picked by the system
  --control-port P       control API port (default: P-1 with --base-port, else free)
  --udp-ports LO-HI      RTSP over UDP: RTP/RTCP sockets on ADDR, ports LO..HI
                         (default 50000-53999; LO even); 0: TCP only
  --user U --password-file F
                         RTSP digest / ONVIF credentials (password: first line of F)
  --h265                 main stream in H.265 (sub stays H.264)
  --bframes LIST         these cameras' encoders use B-frames (x264/x265 b-pyramid):
                         camera indices, comma-separated, or 'all'
  --script FILE          scripted events: '<seconds> <camera|*> <kind> <start|stop>'
  --seed S               random motion events, reproducible from S
  --event-rate R         random events per camera per minute (default 2)
  --cache-dir DIR        where the encoded clips are cached
                         (default $XDG_CACHE_HOME/zaulek-sim)
  --send-times           every frame carries an SEI with its number and wall-clock
                         send time (benchmarks; see docs/simulator.md)
  --json                 print the fleet as one JSON document on stdout
  --log-level L          trace, debug, info (default), warn, error
  --help                 this text
)";

struct Options {
  int cameras = 0;
  std::string bind = "127.0.0.1";
  int base_port = 0;
  std::optional<int> control_port;
  int udp_lo = 50000, udp_hi = 53999;  // 0, 0: TCP only
  std::string user;
  std::string password_file;
  bool h265 = false;
  bool send_times = false;
  std::string bframes;  // --bframes as given; checked against --cameras
  std::string script;
  std::optional<std::uint64_t> seed;
  double event_rate = 2.0;
  std::string cache_dir;
  bool json = false;
  std::string log_level = "info";
};

// Which cameras encode with B-frames (--bframes), or nullopt when malformed.
std::optional<std::vector<bool>> bframes_cameras(const Options& o) {
  std::vector<bool> on(static_cast<std::size_t>(std::max(o.cameras, 0)), o.bframes == "all");
  if (o.bframes.empty() || o.bframes == "all") return on;
  std::size_t at = 0;
  while (at <= o.bframes.size()) {
    const std::size_t comma = std::min(o.bframes.find(',', at), o.bframes.size());
    int i = -1;
    if (!parse_number(o.bframes.substr(at, comma - at), i) || i < 0 || i >= o.cameras)
      return std::nullopt;
    on[static_cast<std::size_t>(i)] = true;
    at = comma + 1;
  }
  return on;
}

// Returns an error text, or empty on success.
std::string parse_args(int argc, char** argv, Options& o, bool& help) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string& out) -> bool {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      help = true;
    } else if (a == "--h265") {
      o.h265 = true;
    } else if (a == "--send-times") {
      o.send_times = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--cameras" || a == "--base-port" || a == "--control-port") {
      int n = 0;
      if (!value(v) || !parse_number(v, n)) return a + ": expected an integer";
      if (a == "--cameras") {
        if (n < 1 || n > kMaxCameras) return "--cameras: 1 to 1000";
        o.cameras = n;
      } else if (n < 0 || n > 65535) {
        return a + ": 0 to 65535";
      } else if (a == "--base-port") {
        o.base_port = n;
      } else {
        o.control_port = n;
      }
    } else if (a == "--udp-ports") {
      if (!value(v)) return "--udp-ports: expected LO-HI or 0";
      const auto dash = v.find('-');
      if (v == "0") {
        o.udp_lo = o.udp_hi = 0;
      } else if (dash == std::string::npos || !parse_number(v.substr(0, dash), o.udp_lo) ||
                 !parse_number(v.substr(dash + 1), o.udp_hi) || o.udp_lo < 1024 ||
                 o.udp_lo % 2 != 0 || o.udp_hi > 65535 || o.udp_hi < o.udp_lo + 3) {
        return "--udp-ports: LO-HI with LO even, 1024 <= LO, LO+3 <= HI <= 65535, or 0";
      }
    } else if (a == "--seed") {
      std::uint64_t s = 0;
      if (!value(v) || !parse_number(v, s)) return "--seed: expected a non-negative integer";
      o.seed = s;
    } else if (a == "--event-rate") {
      double r = 0;
      if (!value(v) || !parse_number(v, r) || !(r >= 0 && r <= 600)) {
        return "--event-rate: events per camera per minute, 0 to 600";
      }
      o.event_rate = r;
    } else if (a == "--bind" || a == "--user" || a == "--password-file" || a == "--script" ||
               a == "--cache-dir" || a == "--log-level" || a == "--bframes") {
      if (!value(v)) return a + ": expected a value";
      if (a == "--bind") o.bind = v;
      if (a == "--user") o.user = v;
      if (a == "--password-file") o.password_file = v;
      if (a == "--script") o.script = v;
      if (a == "--cache-dir") o.cache_dir = v;
      if (a == "--log-level") o.log_level = v;
      if (a == "--bframes") o.bframes = v;
    } else {
      return "unknown option " + a;
    }
  }
  if (help) return {};
  if (o.cameras == 0) return "--cameras N is required";
  if (o.user.empty() != o.password_file.empty()) return "--user and --password-file go together";
  if (!bframes_cameras(o)) return "--bframes: camera indices below --cameras, or 'all'";
  if (o.base_port != 0) {
    if (o.base_port < 2 || o.base_port + 2 * o.cameras - 1 > 65535) {
      return "--base-port: P-1 .. P+2N-1 must be valid ports";
    }
  }
  boost::system::error_code ec;
  asio::ip::make_address(o.bind, ec);
  if (ec) return "--bind: not an IP address: " + o.bind;
  return {};
}

Result<std::string> read_password(const std::string& file) {
  std::ifstream f(file, std::ios::binary);
  if (!f) return make_error(ErrorKind::invalid_argument, file + ": cannot open");
  std::string text(4097, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(f.gcount()));
  if (text.size() > 4096) return make_error(ErrorKind::invalid_argument, file + ": too large");
  if (auto nl = text.find_first_of("\r\n"); nl != std::string::npos) text.resize(nl);
  if (text.empty()) return make_error(ErrorKind::invalid_argument, file + ": empty password");
  return text;
}

#ifndef ZAULEK_SIM_HAVE_ONVIF
// Without the ONVIF half, the planned ONVIF port for base-port 0 is a port
// that was free a moment ago (printed so the output keeps its shape).
std::uint16_t probe_free_port(const std::string& host) {
  asio::io_context io;
  asio::ip::tcp::acceptor acc(io);
  boost::system::error_code ec;
  asio::ip::tcp::endpoint ep(asio::ip::make_address(host, ec), 0);
  acc.open(ep.protocol(), ec);
  if (!ec) acc.bind(ep, ec);
  return ec ? 0 : acc.local_endpoint(ec).port();
}
#endif

char hex_digit(unsigned v) {
  return "0123456789abcdef"[v & 0xf];
}

std::string endpoint_uuid(unsigned long long tag, int index) {
  // Stable for a fixed --base-port (tag = port), else unique per process (pid).
  std::string hex;
  for (int shift = 44; shift >= 0; shift -= 4) {
    const unsigned long long v = shift >= 24 ? (tag >> (shift - 24)) : (unsigned(index) >> shift);
    hex += hex_digit(static_cast<unsigned>(v));
  }
  return "urn:uuid:7a61756c-656b-4000-8000-" + hex;
}

int run(const Options& o) {
  auto level = zaulek::log::parse_level(o.log_level);
  if (!level) {
    std::fprintf(stderr, "zaulek-sim: --log-level: unknown level %s\n", o.log_level.c_str());
    return 2;
  }
  zaulek::log::init(*level);

  std::string password;
  if (!o.password_file.empty()) {
    auto p = read_password(o.password_file);
    if (!p) {
      std::fprintf(stderr, "zaulek-sim: %s\n", p.error().message.c_str());
      return 1;
    }
    password = *p;
  }
  std::vector<ScriptEvent> script;
  if (!o.script.empty()) {
    auto s = load_script(o.script, o.cameras);
    if (!s) {
      std::fprintf(stderr, "zaulek-sim: %s\n", s.error().message.c_str());
      return 1;
    }
    script = std::move(*s);
  }

  const std::filesystem::path cache =
      o.cache_dir.empty() ? default_cache_dir() : std::filesystem::path(o.cache_dir);
  ClipSpec main_spec;
  main_spec.codec = o.h265 ? Codec::h265 : Codec::h264;
  ClipSpec sub_spec;
  sub_spec.width = 640;
  sub_spec.height = 360;
  sub_spec.bitrate_kbps = 512;
  auto main_clip = load_or_encode_clip(main_spec, cache);
  if (!main_clip) {
    spdlog::critical("main clip: {}", main_clip.error().message);
    return 1;
  }
  auto sub_clip = load_or_encode_clip(sub_spec, cache);
  if (!sub_clip) {
    spdlog::critical("sub clip: {}", sub_clip.error().message);
    return 1;
  }
  // Cameras with B-frames get their own clips (both streams), made only if used.
  const std::vector<bool> bframes = *bframes_cameras(o);
  std::shared_ptr<const Clip> main_b, sub_b;
  if (std::find(bframes.begin(), bframes.end(), true) != bframes.end()) {
    ClipSpec mb = main_spec, sb = sub_spec;
    mb.bframes = sb.bframes = true;
    auto m = load_or_encode_clip(mb, cache);
    auto b = m ? load_or_encode_clip(sb, cache) : Result<std::shared_ptr<const Clip>>(m.error());
    if (!b) {
      spdlog::critical("B-frame clip: {}", b.error().message);
      return 1;
    }
    main_b = *m;
    sub_b = *b;
  }
  spdlog::info("clips in memory: main {} KiB, sub {} KiB", (*main_clip)->bytes() / 1024,
               (*sub_clip)->bytes() / 1024);

  asio::io_context io;
  // Installed before anything is printed: a signal that comes early is queued
  // for the handler below instead of killing the process.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  RtspLoop loop;
  Fleet fleet;
  fleet.loop = &loop;
  // One pool for the fleet: each pulled stream takes an RTP/RTCP pair.
  std::shared_ptr<_GstRTSPAddressPool> udp_pool;
  if (o.udp_lo != 0)
    udp_pool = make_udp_pool(o.bind, static_cast<std::uint16_t>(o.udp_lo),
                             static_cast<std::uint16_t>(o.udp_hi));
  std::random_device entropy;
  const std::uint64_t fault_seed = o.seed ? *o.seed : (std::uint64_t{entropy()} << 32) ^ entropy();
  const unsigned long long tag =
      o.base_port != 0 ? static_cast<unsigned long long>(o.base_port) : ::getpid();
  for (int i = 0; i < o.cameras; ++i) {
    auto cam = std::make_unique<FleetCamera>();
    cam->index = i;
    char name[32];
    std::snprintf(name, sizeof name, "sim-cam-%03d", i);
    cam->name = name;
    RtspCameraConfig rc;
    rc.index = i;
    rc.bind_host = o.bind;
    rc.port = o.base_port != 0 ? static_cast<std::uint16_t>(o.base_port + 2 * i + 1) : 0;
    rc.username = o.user;
    rc.password = password;
    rc.main_clip = bframes[static_cast<std::size_t>(i)] ? main_b : *main_clip;
    rc.sub_clip = bframes[static_cast<std::size_t>(i)] ? sub_b : *sub_clip;
    rc.send_times = o.send_times;
    rc.udp_pool = udp_pool;
    rc.fault_seed = fault_seed + static_cast<std::uint64_t>(i);
    auto rtsp = RtspCamera::create(loop, rc);
    if (!rtsp) {
      spdlog::critical("{}", rtsp.error().message);
      return 1;
    }
    cam->rtsp = std::move(*rtsp);

    CameraIdentity id;
    id.index = i;
    id.name = cam->name;
    char serial[32];
    std::snprintf(serial, sizeof serial, "ZSIM%06d", i);
    id.serial = serial;
    id.hardware_id = id.model;
    id.location = "alley-" + std::to_string(i);
    id.endpoint_uuid = endpoint_uuid(tag, i);
    id.bind_host = o.bind;
    id.onvif_port = o.base_port != 0 ? static_cast<std::uint16_t>(o.base_port + 2 * i) : 0;
    id.rtsp_main_url = cam->rtsp->main_url();
    id.rtsp_sub_url = cam->rtsp->sub_url();
    id.username = o.user;
    id.password = password;
    id.h265 = o.h265;
#ifdef ZAULEK_SIM_HAVE_ONVIF
    cam->onvif = OnvifDevice::create(io, id);
    try {
      cam->onvif->start();
    } catch (const std::exception& e) {  // the ONVIF half reports bind errors by throwing
      spdlog::critical("camera {}: ONVIF service on {}:{}: {}", i, o.bind, id.onvif_port, e.what());
      return 1;
    }
    cam->onvif_url = cam->onvif->device_service_url();
    cam->snapshot_url = cam->onvif->snapshot_url();
#else
    if (id.onvif_port == 0) id.onvif_port = probe_free_port(o.bind);
    cam->onvif_url = "http://" + url_host(o.bind) + ":" + std::to_string(id.onvif_port) +
                     "/onvif/device_service";
#endif
    fleet.cameras.push_back(std::move(cam));
  }

#ifdef ZAULEK_SIM_HAVE_ONVIF
  std::vector<OnvifDevice*> devices;
  for (auto& c : fleet.cameras) devices.push_back(c->onvif.get());
  auto discovery = DiscoveryResponder::create(io, o.bind, devices);
  try {
    discovery->start();
  } catch (const std::exception& e) {
    // The cameras stay usable by URL; only discovery scans will miss them.
    spdlog::error("WS-Discovery not available on {}: {}", o.bind, e.what());
  }
#endif

  const int control_port =
      o.control_port ? *o.control_port : (o.base_port != 0 ? o.base_port - 1 : 0);
  auto control = ControlServer::create(io, fleet, o.bind, static_cast<std::uint16_t>(control_port));
  if (!control) {
    spdlog::critical("{}", control.error().message);
    return 1;
  }

  EventScheduler scheduler(io, fleet);
  std::optional<RandomEvents> random;
  if (o.seed) random = RandomEvents{*o.seed, o.event_rate};
  scheduler.start(std::move(script), random);

  if (o.json) {
    json cams = json::array();
    for (const auto& c : fleet.cameras) {
      cams.push_back(
          json{{"index", c->index},
               {"name", c->name},
               {"onvif_url", c->onvif_url},
               {"rtsp_main", c->rtsp->main_url()},
               {"rtsp_sub", c->rtsp->sub_url()},
               {"bframes", bframes[static_cast<std::size_t>(c->index)]},
               {"snapshot_url", c->snapshot_url.empty() ? json(nullptr) : json(c->snapshot_url)}});
    }
    json doc{{"cameras", cams},
             {"control_url", (*control)->url()},
             {"onvif", fleet.cameras.front()->onvif != nullptr},
             {"main_codec", o.h265 ? "h265" : "h264"},
             {"send_times", o.send_times},
             {"auth", !o.user.empty()},
             {"pid", ::getpid()}};
    std::cout << doc.dump() << std::endl;  // one line, flushed: readers wait for it
  } else {
    for (const auto& c : fleet.cameras) {
      std::cout << c->name << "\n  onvif: " << c->onvif_url
                << "\n  rtsp main: " << c->rtsp->main_url()
                << "\n  rtsp sub:  " << c->rtsp->sub_url() << "\n";
    }
    std::cout << "control API: " << (*control)->url() << std::endl;
  }
  spdlog::info("{} cameras up; control API {}", o.cameras, (*control)->url());

  signals.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("signal {}: stopping", sig);
    scheduler.stop();
    (*control)->stop();
    for (auto& c : fleet.cameras) {
      if (c->reboot_timer) c->reboot_timer->cancel();
    }
    io.stop();
  });
  io.run();
  // The ONVIF half's stop() waits for its strand unless the io_context is
  // stopped; called from a handler on our only io thread it would wait out its
  // timeout per camera. With io stopped it closes at once.
  for (auto& c : fleet.cameras) {
    if (c->onvif) c->onvif->stop();
  }
#ifdef ZAULEK_SIM_HAVE_ONVIF
  discovery->stop();
#endif
  fleet.cameras.clear();  // RTSP servers close before the loop they run on
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool help = false;
  if (auto err = parse_args(argc, argv, o, help); !err.empty()) {
    std::fprintf(stderr, "zaulek-sim: %s\n%s", err.c_str(), kUsage);
    return 2;
  }
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::signal(SIGPIPE, SIG_IGN);
  gst_init(nullptr, nullptr);
  return run(o);
}
