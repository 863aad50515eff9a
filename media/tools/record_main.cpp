// zaulek-record: records RTSP URLs into per-camera directories with the same
// engine zaulekd uses, printing one JSON line per closed segment on stdout.
#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/text/text.h"
#include "media/recorder.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace zaulek;

namespace {

constexpr const char* kUsage = R"(usage: zaulek-record --out DIR [options] [ID=]URL...

Records each RTSP URL into DIR/ID/ (ID defaults to cam0, cam1, ...) as
keyframe-aligned MPEG-TS segments and prints one JSON line per closed segment:
  {"camera","path","start","end","start_ns","end_ns","bytes","codec","width",
   "height","keyframes","frames","recovered"}

options:
  --out DIR              recording root (required)
  --segment-seconds S    segment length, cut at the first keyframe after S (default 60)
  --transport tcp|udp    RTSP lower transport (default tcp)
  --ingest gstreamer|native
                         RTSP/RTP receiver over TCP: our own client (default)
                         or rtspsrc (UDP always uses rtspsrc; docs/recording.md)
  --user NAME            RTSP user; the password is read from $ZAULEK_RECORD_PASSWORD
  --allow-basic          native ingest: answer a Basic challenge (password in clear);
                         without it such a camera fails with a reason
  --latency-ms N         jitterbuffer latency (default 200)
  --stall-ms N           no data for this long rebuilds the pipeline (default 10000)
  --flush-ms N           buffered data reaches the kernel at least this often (default 200)
  --sync-ms N            fdatasync cadence, the power-cut loss bound (default 1000)
  --backoff-ms N         first retry delay, doubled up to --backoff-max-ms (default 1000)
  --backoff-max-ms N     (default 30000)
  --mode M               continuous (default), events or off
  --pre-ms N             events mode: footage kept before an event (default 5000)
  --post-ms N            events mode: footage kept after an event (default 5000)
                         events come as lines "event ID start|stop" on stdin
  --duration S           stop after S seconds (default: until SIGINT/SIGTERM)
  --threads N            io threads (default 1)
  --reconcile            first recover unfinished segments in each camera directory
  --reconcile-only       recover unfinished segments and exit
  --probe FILE           print the segment line of a closed segment file and exit
                         (repeatable; no URL needed)
  --stats                print per-camera counters as JSON lines on stderr at exit
  --log-level LEVEL      trace|debug|info|warn|error (default info)
  --help                 this text
)";

nlohmann::json to_json(const media::SegmentInfo& s) {
  return {{"camera", s.camera_id},
          {"path", s.path.string()},
          {"start", format_rfc3339(s.start)},
          {"end", format_rfc3339(s.end)},
          {"start_ns", to_unix_ns(s.start)},
          {"end_ns", to_unix_ns(s.end)},
          {"bytes", s.bytes},
          {"codec", std::string(media::to_string(s.codec))},
          {"width", s.width},
          {"height", s.height},
          {"keyframes", s.keyframes},
          {"frames", s.frames},
          {"recovered", s.recovered}};
}

int usage_error(const std::string& message) {
  std::cerr << "zaulek-record: " << message << "\n(see zaulek-record --help)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path out;
  std::vector<std::pair<std::string, std::string>> cameras;
  media::CameraConfig base;
  long long duration_s = 0;
  long long threads = 1;
  bool reconcile = false;
  bool reconcile_only = false;
  bool print_stats = false;
  std::vector<std::filesystem::path> probes;
  std::string level = "info";

  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& v) {
      if (i + 1 >= args.size()) return false;
      v = args[++i];
      return true;
    };
    auto number = [&](long long& n) {
      std::string v;
      return value(v) && parse_number(v, n) && n >= 0;
    };
    long long n = 0;
    std::string v;
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--out") {
      if (!value(v)) return usage_error("--out needs a directory");
      out = v;
    } else if (a == "--segment-seconds") {
      if (!number(n) || n < 1 || n > 3600) return usage_error("--segment-seconds: 1..3600");
      base.segment_duration = std::chrono::seconds(n);
    } else if (a == "--ingest") {
      if (!value(v) || (v != "gstreamer" && v != "native"))
        return usage_error("--ingest: gstreamer or native");
      base.ingest = v == "native" ? media::Ingest::native : media::Ingest::gstreamer;
    } else if (a == "--transport") {
      if (!value(v) || (v != "tcp" && v != "udp")) return usage_error("--transport: tcp or udp");
      base.transport = v == "tcp" ? media::Transport::tcp : media::Transport::udp;
    } else if (a == "--user") {
      if (!value(v)) return usage_error("--user needs a name");
      base.username = v;
      if (const char* pw = std::getenv("ZAULEK_RECORD_PASSWORD")) base.password = pw;
    } else if (a == "--allow-basic") {
      base.allow_basic_auth = true;
    } else if (a == "--latency-ms") {
      if (!number(n) || n > 10'000) return usage_error("--latency-ms: 0..10000");
      base.latency = std::chrono::milliseconds(n);
    } else if (a == "--stall-ms") {
      if (!number(n) || n < 500 || n > 600'000) return usage_error("--stall-ms: 500..600000");
      base.stall_timeout = std::chrono::milliseconds(n);
    } else if (a == "--flush-ms") {
      if (!number(n) || n > 10'000) return usage_error("--flush-ms: 0..10000");
      base.flush_interval = std::chrono::milliseconds(n);
    } else if (a == "--sync-ms") {
      if (!number(n) || n > 600'000) return usage_error("--sync-ms: 0..600000");
      base.sync_interval = std::chrono::milliseconds(n);
    } else if (a == "--backoff-ms") {
      if (!number(n) || n < 10 || n > 600'000) return usage_error("--backoff-ms: 10..600000");
      base.backoff_initial = std::chrono::milliseconds(n);
    } else if (a == "--backoff-max-ms") {
      if (!number(n) || n < 10 || n > 3'600'000)
        return usage_error("--backoff-max-ms: 10..3600000");
      base.backoff_max = std::chrono::milliseconds(n);
    } else if (a == "--mode") {
      if (!value(v) || (v != "continuous" && v != "events" && v != "off"))
        return usage_error("--mode: continuous, events or off");
      base.mode = v == "continuous" ? media::RecordingMode::continuous
                  : v == "events"   ? media::RecordingMode::events
                                    : media::RecordingMode::off;
    } else if (a == "--pre-ms") {
      if (!number(n) || n > 600'000) return usage_error("--pre-ms: 0..600000");
      base.pre_event = std::chrono::milliseconds(n);
    } else if (a == "--post-ms") {
      if (!number(n) || n > 3'600'000) return usage_error("--post-ms: 0..3600000");
      base.post_event = std::chrono::milliseconds(n);
    } else if (a == "--duration") {
      if (!number(n) || n > 86'400 * 365) return usage_error("--duration: seconds");
      duration_s = n;
    } else if (a == "--threads") {
      if (!number(n) || n < 1 || n > 64) return usage_error("--threads: 1..64");
      threads = n;
    } else if (a == "--reconcile") {
      reconcile = true;
    } else if (a == "--reconcile-only") {
      reconcile = reconcile_only = true;
    } else if (a == "--probe") {
      if (!value(v)) return usage_error("--probe needs a file");
      probes.emplace_back(v);
    } else if (a == "--stats") {
      print_stats = true;
    } else if (a == "--log-level") {
      if (!value(v) || !log::parse_level(v)) return usage_error("--log-level: trace..error");
      level = v;
    } else if (a.starts_with("--")) {
      return usage_error("unknown option " + a);
    } else {
      const auto eq = a.find('=');
      const auto scheme = a.find("://");
      std::string id = "cam" + std::to_string(cameras.size());
      std::string url = a;
      if (eq != std::string::npos && (scheme == std::string::npos || eq < scheme)) {
        id = a.substr(0, eq);
        url = a.substr(eq + 1);
      }
      if (!valid_camera_id(id))
        return usage_error("bad camera id '" + id +
                           "': 1 to 64 of A-Z a-z 0-9 . _ - (not leading .)");
      if (!url.starts_with("rtsp://") && !url.starts_with("rtsps://"))
        return usage_error("not an RTSP URL: argument " + std::to_string(cameras.size() + 1));
      cameras.emplace_back(id, url);
    }
  }
  if (!probes.empty()) {
    int rc = 0;
    for (const auto& p : probes) {
      auto info = media::probe_segment(p, p.parent_path().filename().string());
      if (!info) {
        std::cerr << "zaulek-record: " << info.error().message << "\n";
        rc = 1;
        continue;
      }
      std::cout << to_json(*info).dump() << "\n";
    }
    return rc;
  }
  if (out.empty()) return usage_error("--out is required");
  if (cameras.empty()) return usage_error("no RTSP URL given");
  if (cameras.size() > 1000) return usage_error("at most 1000 cameras");
  log::init(*log::parse_level(level));

  asio::io_context io;
  auto print = asio::make_strand(io);
  auto emit = [print](const media::SegmentInfo& s) {
    std::string line = to_json(s).dump();
    asio::post(print, [line = std::move(line)] {
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
    });
  };

  if (reconcile) {
    for (const auto& [id, url] : cameras) {
      auto recovered = media::reconcile_camera_dir(out / id, id);
      if (!recovered) {
        spdlog::error("camera {}: reconciliation failed: {}", id, recovered.error().message);
        return 1;
      }
      for (const auto& s : *recovered) {
        const std::string line = to_json(s).dump();
        std::printf("%s\n", line.c_str());
      }
    }
    std::fflush(stdout);
    if (reconcile_only) return 0;
  }

  std::vector<std::shared_ptr<media::Recorder>> recorders;
  for (const auto& [id, url] : cameras) {
    media::CameraConfig cfg = base;
    cfg.id = id;
    cfg.url = url;
    cfg.dir = out / id;
    recorders.push_back(media::make_recorder(io, system_clock(), cfg, emit));
  }
  for (auto& r : recorders) r->start();

  if (base.mode == media::RecordingMode::events) {
    // Events from stdin, one per line: "event ID start|stop". A plain thread
    // reads (stdin may be a file or a pipe) and posts to the io_context.
    std::map<std::string, std::shared_ptr<media::Recorder>> by_id;
    for (std::size_t i = 0; i < cameras.size(); ++i) by_id[cameras[i].first] = recorders[i];
    std::thread([&io, by_id] {
      std::string line;
      while (std::getline(std::cin, line)) {
        if (line.size() > 200) {
          spdlog::warn("stdin: line too long, ignored");
          continue;
        }
        std::istringstream words(line);
        std::string verb, id, state;
        words >> verb >> id >> state;
        const auto it = by_id.find(id);
        if (verb != "event" || it == by_id.end() || (state != "start" && state != "stop")) {
          spdlog::warn("stdin: expected \"event ID start|stop\" with a known ID");
          continue;
        }
        asio::post(io, [r = it->second, on = state == "start"] { r->event(on); });
      }
    }).detach();
  }

  auto stop_all = [&] {
    auto left = std::make_shared<std::atomic<std::size_t>>(recorders.size());
    for (auto& r : recorders) {
      if (print_stats) {
        r->stats([](const media::CameraStats& s) {
          nlohmann::json j = {{"frames", s.frames},
                              {"bytes", s.bytes},
                              {"segments", s.segments},
                              {"restarts", s.restarts},
                              {"no_pts_fixed", s.no_pts_fixed},
                              {"timestamp_jumps", s.timestamp_jumps},
                              {"dropped_overflow", s.dropped_overflow},
                              {"waiting_keyframe", s.waiting_keyframe},
                              {"ntp_frames", s.ntp_frames},
                              {"malformed", s.malformed},
                              {"not_recorded", s.not_recorded},
                              {"ntp_offset_ms", s.ntp_offset_ms},
                              {"state", s.state}};
          std::cerr << j.dump() << "\n";
        });
      }
      r->stop([left, &io] {
        if (--*left == 0) io.stop();
      });
    }
  };
  std::atomic<bool> stopping{false};  // the signal and the deadline may fire on two io threads
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec || stopping.exchange(true)) return;
    stop_all();
  });
  asio::steady_timer deadline(io);
  if (duration_s > 0) {
    deadline.expires_after(std::chrono::seconds(duration_s));
    deadline.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stopping.exchange(true)) return;
      stop_all();
    });
  }
  std::vector<std::thread> pool;
  for (long long i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  // Segment lines posted just before stop may still be queued.
  io.restart();
  io.poll();
  std::fflush(stdout);
  // The stdin reader (events mode) may still be blocked in a read and must
  // not outlive io: leave without running destructors under it.
  if (base.mode == media::RecordingMode::events) std::_Exit(0);
  return 0;
}
